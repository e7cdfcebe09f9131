// Package groupcommit is the group-commit loop of DESIGN.md section 3,
// shared by the queue (its own writes) and delivery (mailbox appends):
// one goroutine takes every item submitted meanwhile and commits them as
// one round, so concurrent writers share one transaction and one round of
// fsyncs. Items submitted while a round runs wait for the next one, so
// rounds grow with load without any timer.
package groupcommit

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrClosed is what Do returns after Close when Options.ErrClosed is not
// set.
var ErrClosed = errors.New("groupcommit: closed")

// Options shape a Loop. The zero value takes every queued item into one
// round and reports ErrClosed after Close.
type Options[T any] struct {
	// MaxWeight bounds one round, so a burst does not build one huge
	// write that delays every waiter behind it; 0 means no bound. A round
	// always takes at least one item, even one heavier than the bound,
	// so an item is never split and never starves.
	MaxWeight int
	// Weight is an item's share of MaxWeight; nil counts 1 per item.
	Weight func(T) int
	// ErrClosed is what Do returns after Close, so each caller keeps the
	// error its own callers compare against.
	ErrClosed error
}

// Loop runs rounds of commit over the items passed to Do.
type Loop[T any] struct {
	commit func(round []T)
	opts   Options[T]

	mu     sync.Mutex
	queue  []*waiter[T]
	closed bool
	rounds int
	wake   chan struct{} // capacity 1: "the queue may be non-empty, or closed"
	done   chan struct{} // closed when the loop has drained and exited
}

// waiter is one Do: its item and the signal that a round has committed
// it. The loop, not commit, closes done, and only after commit returns,
// so commit functions write outcomes into their items and nothing else.
type waiter[T any] struct {
	item T
	done chan struct{}
}

// New starts a loop that calls commit once per round with the round's
// items in submission order; Close stops it. commit runs on the loop's
// goroutine, one round at a time, and reports each item's outcome through
// the item itself (T is usually a pointer). The round slice is commit's
// to reorder or filter for the duration of the call.
func New[T any](commit func(round []T), opts Options[T]) *Loop[T] {
	if opts.ErrClosed == nil {
		opts.ErrClosed = ErrClosed
	}
	l := &Loop[T]{
		commit: commit,
		opts:   opts,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go l.run()
	return l
}

// Do queues item for the next round and waits until a round has run
// commit with it; it then returns nil and the outcome is whatever commit
// wrote into item. If ctx ends while item is still queued, Do withdraws
// it (commit never sees it) and returns ctx.Err(). Once a round has taken
// item, Do waits for that round even if ctx ends, because the caller must
// not undo what the round may be committing (delete a blob it links, for
// one). After Close, Do returns Options.ErrClosed.
func (l *Loop[T]) Do(ctx context.Context, item T) error {
	w := &waiter[T]{item: item, done: make(chan struct{})}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.opts.ErrClosed
	}
	l.queue = append(l.queue, w)
	l.mu.Unlock()
	l.signal()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	if i := slices.Index(l.queue, w); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
		l.mu.Unlock()
		return ctx.Err()
	}
	l.mu.Unlock()
	<-w.done
	return nil
}

// Close stops accepting items, commits what is queued and returns when
// the loop has exited. It is safe to call more than once.
func (l *Loop[T]) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
	<-l.done
}

// Rounds is the number of rounds taken so far, so tests can tell how
// submissions were grouped.
func (l *Loop[T]) Rounds() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rounds
}

// Queued is the number of items waiting for a round, so tests can line
// submissions up behind a running round.
func (l *Loop[T]) Queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// signal wakes the loop without blocking: one pending wake-up is enough,
// since the loop looks at the whole queue when it wakes.
func (l *Loop[T]) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Loop[T]) run() {
	defer close(l.done)
	for {
		round := l.next()
		if round == nil {
			return
		}
		items := make([]T, len(round))
		for i, w := range round {
			items[i] = w.item
		}
		l.commit(items)
		for _, w := range round {
			close(w.done)
		}
	}
}

// next waits for queued items and takes the next round off the queue; nil
// once the loop is closed and drained.
func (l *Loop[T]) next() []*waiter[T] {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 && !l.closed {
		l.mu.Unlock()
		<-l.wake
		l.mu.Lock()
	}
	if len(l.queue) == 0 {
		return nil
	}
	n := l.cut()
	round := slices.Clone(l.queue[:n])
	l.queue = slices.Delete(l.queue, 0, n)
	l.rounds++
	return round
}

// cut is how many queued items (from the front, in order) the next round
// takes: as many as fit in MaxWeight, and at least one.
func (l *Loop[T]) cut() int {
	n, total := 0, 0
	for n < len(l.queue) {
		w := 1
		if l.opts.Weight != nil {
			w = l.opts.Weight(l.queue[n].item)
		}
		if n > 0 && l.opts.MaxWeight > 0 && total+w > l.opts.MaxWeight {
			break
		}
		total += w
		n++
	}
	return n
}
