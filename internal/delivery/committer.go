package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"mailport/internal/blob"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("delivery: committer closed")

// maxRoundMessages bounds one transaction so a burst does not build one
// huge write that delays every waiter behind it; the rest waits one round.
const maxRoundMessages = 2000

// Append is one message for the Committer: the store's NewMessage plus the
// account that owns its mailbox, so the change bus can be told whom to
// wake without a lookup.
type Append struct {
	AccountID int64
	Message   store.NewMessage
}

// Committer is the group commit of DESIGN.md section 3: one goroutine
// collects messages submitted concurrently and, per round, makes all their
// blobs durable with one blob.Sync, stores them with one AppendMessages
// (one SQLite transaction, so one WAL fsync), publishes the new messages on
// the change bus, and then wakes every waiter with its results. Messages
// submitted while a round runs wait for the next one, so batches grow with
// load without any timer.
type Committer struct {
	st    store.Store
	blobs *blob.Store
	bus   *notify.Bus
	log   *slog.Logger

	mu     sync.Mutex
	queue  []*commitRequest
	closed bool
	wake   chan struct{} // capacity 1: "the queue may be non-empty"
	done   chan struct{} // closed when the loop has drained and exited
}

type commitRequest struct {
	items   []Append
	results []store.AppendResult
	err     error
	done    chan struct{}
}

// NewCommitter starts a committer; Close stops it. bus may be nil (no
// notifications), log may be nil (discarded).
func NewCommitter(st store.Store, blobs *blob.Store, bus *notify.Bus, log *slog.Logger) *Committer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Committer{
		st: st, blobs: blobs, bus: bus, log: log,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go c.run()
	return c
}

// Submit commits items in the next round and returns one result per item,
// in order: either the stored message or that item's own error
// (store.ErrOverQuota, store.ErrNotFound). The error return is for the
// whole submission (storage failure, ErrClosed, ctx ended while still
// queued): then none of the items was stored. Once a round has taken the
// items, Submit waits for its outcome even if ctx ends, because the caller
// must not delete blobs that the round may be committing.
func (c *Committer) Submit(ctx context.Context, items []Append) ([]store.AppendResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	req := &commitRequest{items: items, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.queue = append(c.queue, req)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}

	select {
	case <-req.done:
		return req.results, req.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	for i, q := range c.queue {
		if q == req {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			c.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	c.mu.Unlock()
	<-req.done
	return req.results, req.err
}

// Close stops accepting submissions, commits what is queued, and returns
// when the loop has exited. It is safe to call more than once.
func (c *Committer) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
	return nil
}

func (c *Committer) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.mu.Unlock()
			<-c.wake
			c.mu.Lock()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		// Whole requests only, so one Submit is one outcome; at least
		// one request even if it alone exceeds the bound.
		n, count := 0, 0
		for n < len(c.queue) && (n == 0 || count+len(c.queue[n].items) <= maxRoundMessages) {
			count += len(c.queue[n].items)
			n++
		}
		round := make([]*commitRequest, n)
		copy(round, c.queue[:n])
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		c.commit(round, count)
	}
}

// commit runs one round. Its context is not any waiter's: a client that
// hangs up must not abort the transaction of the others.
func (c *Committer) commit(round []*commitRequest, count int) {
	ctx := context.Background()
	ids := make([]string, 0, count)
	msgs := make([]store.NewMessage, 0, count)
	for _, r := range round {
		for _, it := range r.items {
			ids = append(ids, it.Message.BlobID)
			msgs = append(msgs, it.Message)
		}
	}
	fail := func(err error) {
		c.log.Error("group commit failed", "messages", count, "err", err)
		for _, r := range round {
			r.err = err
			close(r.done)
		}
	}
	// The blob files are fsynced by Put; their directory entries (rename,
	// link) become durable here, once per fan-out directory for the round.
	if err := c.blobs.Sync(ids...); err != nil {
		fail(fmt.Errorf("delivery: sync %d blobs: %w", len(ids), err))
		return
	}
	results, err := c.st.AppendMessages(ctx, msgs)
	if err != nil {
		fail(fmt.Errorf("delivery: store %d messages: %w", len(msgs), err))
		return
	}
	if len(results) != len(msgs) {
		fail(fmt.Errorf("delivery: store returned %d results for %d messages", len(results), len(msgs)))
		return
	}
	i := 0
	for _, r := range round {
		r.results = results[i : i+len(r.items) : i+len(r.items)]
		for j, res := range r.results {
			if res.Err == nil && c.bus != nil {
				c.bus.Publish(notify.Event{
					AccountID: r.items[j].AccountID,
					MailboxID: res.Message.MailboxID,
					Kind:      notify.MessageAdded,
					ModSeq:    res.Message.ModSeq,
				})
			}
		}
		i += len(r.items)
	}
	c.log.Debug("group commit", "messages", count, "requests", len(round))
	for _, r := range round {
		close(r.done)
	}
}
