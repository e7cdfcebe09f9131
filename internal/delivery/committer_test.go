package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"mailport/internal/blob"
	"mailport/internal/store"
)

// gatedStore wraps a store: it records the size of every AppendMessages
// batch and, while gate is set, holds the first call until gate is closed.
type gatedStore struct {
	store.Store
	mu      sync.Mutex
	batches []int
	gate    chan struct{}
	entered chan struct{}
	fail    error
}

func (g *gatedStore) AppendMessages(ctx context.Context, msgs []store.NewMessage) ([]store.AppendResult, error) {
	g.mu.Lock()
	g.batches = append(g.batches, len(msgs))
	gate, first := g.gate, len(g.batches) == 1
	fail := g.fail
	g.mu.Unlock()
	if first && gate != nil {
		close(g.entered)
		<-gate
	}
	if fail != nil {
		return nil, fail
	}
	return g.Store.AppendMessages(ctx, msgs)
}

func putBlob(t *testing.T, blobs *blob.Store, body string) string {
	t.Helper()
	id, _, err := blobs.Put(context.Background(), bytes.NewReader([]byte(body)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func inboxAppend(t *testing.T, e *env, a store.Account, blobID string) Append {
	t.Helper()
	mb, err := e.st.GetMailbox(context.Background(), a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return Append{AccountID: a.ID, Message: store.NewMessage{MailboxID: mb.ID, Size: 5, BlobID: blobID, InternalDate: time.Now()}}
}

// waitQueued waits until n requests are queued behind the running round.
func waitQueued(c *Committer, n int) {
	for c.loop.Queued() < n {
		time.Sleep(time.Millisecond)
	}
}

func TestCommitterBatchesWhileARoundRuns(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	g := &gatedStore{Store: e.st, gate: make(chan struct{}), entered: make(chan struct{})}
	c := NewCommitter(g, e.blobs, e.bus, nil)
	defer c.Close()

	first := make(chan error, 1)
	go func() {
		_, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "first"))})
		first <- err
	}()
	<-g.entered
	const waiters = 10
	var wg sync.WaitGroup
	uids := make([]uint32, waiters)
	for i := range waiters {
		it := inboxAppend(t, e, alice, putBlob(t, e.blobs, fmt.Sprint("msg", i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Submit(context.Background(), []Append{it})
			if err != nil || len(res) != 1 || res[0].Err != nil {
				t.Errorf("submit %d: %v %v", i, err, res)
				return
			}
			uids[i] = res[0].Message.UID
		}()
	}
	waitQueued(c, waiters)
	close(g.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.batches) != 2 || g.batches[0] != 1 || g.batches[1] != waiters {
		t.Errorf("batches %v, want [1 %d]: submissions during a round share the next one", g.batches, waiters)
	}
	seen := map[uint32]bool{}
	for _, u := range uids {
		if u == 0 || seen[u] {
			t.Errorf("uids %v not distinct", uids)
		}
		seen[u] = true
	}
}

func TestCommitterConcurrentSubmitters(t *testing.T) {
	e := newEnv(t)
	var accts []store.Account
	for i := range 3 {
		accts = append(accts, e.user(t, fmt.Sprintf("u%d@example.test", i), 0))
	}
	sub := e.bus.Subscribe(accts[1].ID)
	defer sub.Close()
	const goroutines, per = 40, 3
	var wg sync.WaitGroup
	for g := range goroutines {
		items := make([]Append, per)
		for j := range per {
			items[j] = inboxAppend(t, e, accts[(g+j)%3], putBlob(t, e.blobs, fmt.Sprint(g, "/", j)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.com.Submit(context.Background(), items)
			if err != nil || len(res) != per {
				t.Errorf("submit: %v, %d results", err, len(res))
				return
			}
			for j, r := range res {
				if r.Err != nil || r.Message.BlobID != items[j].Message.BlobID || r.Message.MailboxID != items[j].Message.MailboxID {
					t.Errorf("result %d does not match its item: %+v", j, r)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, a := range accts {
		msgs := e.inbox(t, a.Address)
		seen := map[uint32]bool{}
		for _, m := range msgs {
			if seen[m.UID] {
				t.Errorf("%s: duplicate UID %d", a.Address, m.UID)
			}
			seen[m.UID] = true
		}
		total += len(msgs)
	}
	if total != goroutines*per {
		t.Errorf("stored %d messages, want %d", total, goroutines*per)
	}
	select {
	case ev := <-sub.C:
		if ev.AccountID != accts[1].ID {
			t.Errorf("event for account %d", ev.AccountID)
		}
	default:
		t.Error("no event for u1")
	}
}

func TestCommitterFailureAndClose(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	boom := errors.New("disk on fire")
	g := &gatedStore{Store: e.st, fail: boom}
	c := NewCommitter(g, e.blobs, nil, nil)
	_, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "x"))})
	if !errors.Is(err, boom) {
		t.Errorf("store failure: got %v", err)
	}
	// A bad blob id fails its submission at Sync, before any round.
	_, err = c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, "../../etc/passwd")})
	if err == nil {
		t.Error("bad blob id committed")
	}
	if res, err := c.Submit(context.Background(), nil); res != nil || err != nil {
		t.Errorf("empty submit: %v %v", res, err)
	}
	c.Close()
	c.Close()
	if _, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "y"))}); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after close: %v", err)
	}
}

func TestCommitterCancelWhileQueued(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	g := &gatedStore{Store: e.st, gate: make(chan struct{}), entered: make(chan struct{})}
	c := NewCommitter(g, e.blobs, nil, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "first"))})
	}()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Submit(ctx, []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "withdrawn"))})
		errc <- err
	}()
	waitQueued(c, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled submit: %v", err)
	}
	close(g.gate)
	<-done
	c.Close()
	if n := len(e.inbox(t, "alice@example.test")); n != 1 {
		t.Errorf("%d messages stored, want 1 (the withdrawn one must not be)", n)
	}
}

func TestCommitterCloseDrainsQueue(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	g := &gatedStore{Store: e.st, gate: make(chan struct{}), entered: make(chan struct{})}
	c := NewCommitter(g, e.blobs, nil, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		it := inboxAppend(t, e, alice, putBlob(t, e.blobs, fmt.Sprint(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Submit(context.Background(), []Append{it})
			errs <- err
		}()
		if i == 0 {
			<-g.entered
		}
	}
	waitQueued(c, 3)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	close(g.gate)
	<-closed
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued submission failed at close: %v", err)
		}
	}
	if n := len(e.inbox(t, "alice@example.test")); n != 4 {
		t.Errorf("%d stored, want 4", n)
	}
}

// A submission whose blob cannot be made durable fails alone, before it
// is queued, and so cannot fail the others of the round it would have
// joined.
func TestCommitterBadBlobFailsOnlyItsSubmission(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	g := &gatedStore{Store: e.st, gate: make(chan struct{}), entered: make(chan struct{})}
	c := NewCommitter(g, e.blobs, nil, nil)
	defer c.Close()
	first := make(chan error, 1)
	go func() {
		_, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "first"))})
		first <- err
	}()
	<-g.entered
	good := make(chan error, 1)
	go func() {
		_, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, putBlob(t, e.blobs, "good"))})
		good <- err
	}()
	waitQueued(c, 1)
	if _, err := c.Submit(context.Background(), []Append{inboxAppend(t, e, alice, "../../etc/passwd")}); err == nil {
		t.Error("bad blob id committed")
	}
	if n := c.loop.Queued(); n != 1 {
		t.Errorf("%d submissions queued, want 1: the bad one must not be", n)
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-good; err != nil {
		t.Errorf("good submission failed beside a bad one: %v", err)
	}
	if n := len(e.inbox(t, "alice@example.test")); n != 2 {
		t.Errorf("%d stored, want 2", n)
	}
}
