package queue

import (
	"slices"
	"sync"
	"sync/atomic"
)

// attemptWatchers are the callers waiting for the end of a delivery
// attempt at an entry (WatchAttempt). The zero value is ready to use.
type attemptWatchers struct {
	// started numbers the attempts in the order they start; a watcher is
	// told only of an attempt numbered after its registration, so an
	// attempt already under way when it registered (whose outcome
	// predates the caller's Retry) is not taken for the one it waits for.
	started atomic.Uint64
	mu      sync.Mutex
	byID    map[string][]watcher
}

type watcher struct {
	ch    chan Entry
	after uint64 // the attempts started before registration
}

// WatchAttempt reports the end of the next delivery attempt this
// process's Run makes at entry id: the channel receives the entry as the
// attempt left it (a copy). When no recipient is left pending and every
// failure is reported, the entry has left the queue. An attempt cut short
// by shutdown, or whose results could not be stored, is not reported.
// Watch before Retry, so the attempt cannot end unseen, and call stop
// when done waiting.
func (q *Queue) WatchAttempt(id string) (attempted <-chan Entry, stop func()) {
	w := &q.watchers
	ch := make(chan Entry, 1)
	w.mu.Lock()
	if w.byID == nil {
		w.byID = map[string][]watcher{}
	}
	w.byID[id] = append(w.byID[id], watcher{ch: ch, after: w.started.Load()})
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if left := slices.DeleteFunc(w.byID[id], func(x watcher) bool { return x.ch == ch }); len(left) > 0 {
			w.byID[id] = left
		} else {
			delete(w.byID, id)
		}
	}
}

// attemptStarts numbers an attempt as it starts, for attempted.
func (q *Queue) attemptStarts() uint64 { return q.watchers.started.Add(1) }

// attempted tells the watchers of e that attempt number n at it ended,
// those registered before it started. Each watcher is told once and then
// forgotten, so its buffered channel never blocks the delivery worker.
func (q *Queue) attempted(e *Entry, n uint64) {
	w := &q.watchers
	w.mu.Lock()
	var tell []chan Entry
	left := slices.DeleteFunc(w.byID[e.ID], func(x watcher) bool {
		if x.after < n {
			tell = append(tell, x.ch)
			return true
		}
		return false
	})
	if len(left) > 0 {
		w.byID[e.ID] = left
	} else {
		delete(w.byID, e.ID)
	}
	w.mu.Unlock()
	for _, ch := range tell {
		c := *e
		c.Recipients = slices.Clone(e.Recipients)
		ch <- c
	}
}
