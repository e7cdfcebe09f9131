package queue

import (
	"slices"
	"sync"
)

// attemptWatchers are the callers waiting for the end of a delivery
// attempt at an entry (WatchAttempt). The zero value is ready to use.
type attemptWatchers struct {
	mu   sync.Mutex
	byID map[string][]chan Entry
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
		w.byID = map[string][]chan Entry{}
	}
	w.byID[id] = append(w.byID[id], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if left := slices.DeleteFunc(w.byID[id], func(c chan Entry) bool { return c == ch }); len(left) > 0 {
			w.byID[id] = left
		} else {
			delete(w.byID, id)
		}
	}
}

// attempted tells the watchers of e that an attempt at it ended. Each
// watcher is told once and then forgotten, so its buffered channel never
// blocks the delivery worker.
func (q *Queue) attempted(e *Entry) {
	w := &q.watchers
	w.mu.Lock()
	chs := w.byID[e.ID]
	delete(w.byID, e.ID)
	w.mu.Unlock()
	for _, ch := range chs {
		c := *e
		c.Recipients = slices.Clone(e.Recipients)
		ch <- c
	}
}
