package queue

import (
	"context"
	"strings"
	"testing"
	"time"
)

// WatchAttempt reports the attempt a Retry asks for, with the entry as it
// left it: first deferred again, then delivered.
func TestWatchAttempt(t *testing.T) {
	_, e, q, id, other := deferredPair(t)
	ctx := context.Background()

	next := func(ch <-chan Entry) Entry {
		t.Helper()
		select {
		case got := <-ch:
			return got
		case <-time.After(30 * time.Second):
			t.Fatal("no attempt reported")
			return Entry{}
		}
	}
	// A watcher of another entry is not told; one that stopped is gone.
	otherCh, stopOther := q.WatchAttempt(other)
	_, stopEarly := q.WatchAttempt(id)
	stopEarly()

	ch, stop := q.WatchAttempt(id)
	if err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	got := next(ch)
	r := got.Recipients[0]
	if got.ID != id || got.Attempts != 2 || r.State != Pending || !strings.Contains(r.LastError, "SERVFAIL") {
		t.Errorf("after a failed retry: %+v", got)
	}
	stop()

	e.dns.setFail("mx.remote.test", false)
	ch, stop = q.WatchAttempt(id)
	defer stop()
	if err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	got = next(ch)
	if r := got.Recipients[0]; got.Attempts != 3 || r.State != Delivered || r.RemoteMTA == "" {
		t.Errorf("after a delivered retry: %+v", got)
	}
	if _, err := q.Get(ctx, id); err == nil {
		t.Error("a delivered entry is still queued")
	}

	select {
	case e := <-otherCh:
		t.Errorf("the other entry's watcher was told of %+v", e)
	default:
	}
	stopOther()
	q.watchers.mu.Lock()
	defer q.watchers.mu.Unlock()
	if len(q.watchers.byID) != 0 {
		t.Errorf("watchers left: %v", q.watchers.byID)
	}
}
