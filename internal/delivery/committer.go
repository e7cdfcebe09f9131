package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"mailport/internal/blob"
	"mailport/internal/groupcommit"
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

// Committer is the group commit of DESIGN.md section 3 (the loop of
// internal/groupcommit, which the queue uses for its own writes): each
// submitter makes its own blobs durable (blob.Sync) before it queues them,
// and one goroutine collects messages submitted concurrently and, per
// round, stores them with one AppendMessages (one SQLite transaction, so
// one WAL fsync), publishes the new messages on the change bus, and then
// wakes every waiter with its results.
type Committer struct {
	st    store.Store
	blobs *blob.Store
	bus   *notify.Bus
	log   *slog.Logger
	loop  *groupcommit.Loop[*commitRequest]
}

// commitRequest is one Submit; results and err are its outcome, written
// by commit.
type commitRequest struct {
	items   []Append
	results []store.AppendResult
	err     error
}

// NewCommitter starts a committer; Close stops it. bus may be nil (no
// notifications), log may be nil (discarded).
func NewCommitter(st store.Store, blobs *blob.Store, bus *notify.Bus, log *slog.Logger) *Committer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Committer{st: st, blobs: blobs, bus: bus, log: log}
	// Whole requests only, so one Submit is one outcome; the loop takes
	// at least one even if it alone exceeds the bound.
	c.loop = groupcommit.New(c.commit, groupcommit.Options[*commitRequest]{
		MaxWeight: maxRoundMessages,
		Weight:    func(r *commitRequest) int { return len(r.items) },
		ErrClosed: ErrClosed,
	})
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
	// The blob files are fsynced by Put; their directory entries (rename,
	// link) become durable here, in the submitter's goroutine and before
	// the round: concurrent submitters' directory fsyncs run side by side
	// (the file system joins them into shared journal commits) instead of
	// one after another inside the round, where under load they took half
	// of every round while the next round's messages waited. A row is
	// still never committed before its blob is durable.
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Message.BlobID
	}
	if err := c.blobs.Sync(ids...); err != nil {
		return nil, fmt.Errorf("delivery: sync %d blobs: %w", len(ids), err)
	}
	req := &commitRequest{items: items}
	if err := c.loop.Do(ctx, req); err != nil {
		return nil, err
	}
	return req.results, req.err
}

// Close stops accepting submissions, commits what is queued, and returns
// when the loop has exited. It is safe to call more than once.
func (c *Committer) Close() error {
	c.loop.Close()
	return nil
}

// commit runs one round, writing each request's outcome into it; the loop
// wakes the waiters once it returns. Its context is not any waiter's: a
// client that hangs up must not abort the transaction of the others.
func (c *Committer) commit(round []*commitRequest) {
	ctx := context.Background()
	count := 0
	for _, r := range round {
		count += len(r.items)
	}
	msgs := make([]store.NewMessage, 0, count)
	for _, r := range round {
		for _, it := range r.items {
			msgs = append(msgs, it.Message)
		}
	}
	fail := func(err error) {
		c.log.Error("group commit failed", "messages", count, "err", err)
		for _, r := range round {
			r.err = err
		}
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
}
