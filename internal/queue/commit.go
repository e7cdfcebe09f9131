package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"mailport/internal/blob"
)

// maxRoundOps bounds one group-commit transaction, so a burst does not
// build one huge write that delays every waiter behind it; the rest waits
// one round.
const maxRoundOps = 512

// committer is the queue's group commit (the pattern of DESIGN.md section
// 3 that internal/delivery uses for mailbox appends): one goroutine takes
// every change submitted meanwhile (new entries, delivery results,
// removals) and, per round, makes the new entries' blob links durable with
// one blob.Sync and applies all changes in one SQLite transaction, so one
// WAL fsync. Each change runs inside its own savepoint, so one failing
// change (an entry removed by `mailport queue remove` meanwhile) is rolled
// back alone and the others still commit. Changes submitted while a round
// runs wait for the next one: batches grow with load without any timer.
type committer struct {
	db    *sql.DB
	blobs *blob.Store
	log   *slog.Logger

	mu     sync.Mutex
	queue  []*change
	closed bool
	wake   chan struct{} // capacity 1: "the queue may be non-empty"
	done   chan struct{} // closed when the loop has drained and exited
	rounds int           // transactions so far (under mu; for tests)
}

// change is one unit of a round: blobs to make durable first (their
// files are fsynced already; their directory entries are not), then fn
// inside the round's transaction.
type change struct {
	blobs []string
	fn    func(ctx context.Context, tx *sql.Tx) error
	err   error
	done  chan struct{}
}

func newCommitter(db *sql.DB, blobs *blob.Store, log *slog.Logger) *committer {
	c := &committer{db: db, blobs: blobs, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// submit applies fn (after syncing blobs) in the next round and returns
// its own outcome: nil once the round's transaction is committed. Once a
// round has taken the change, submit waits for its outcome even if ctx
// ends, because the caller must not delete blobs the round may be
// committing.
func (c *committer) submit(ctx context.Context, blobs []string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ch := &change{blobs: blobs, fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.queue = append(c.queue, ch)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case <-ch.done:
		return ch.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	for i, q := range c.queue {
		if q == ch {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			c.mu.Unlock()
			return ctx.Err()
		}
	}
	c.mu.Unlock()
	<-ch.done
	return ch.err
}

// close stops accepting changes, commits what is queued and returns when
// the loop has exited. It is safe to call more than once.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

func (c *committer) run() {
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
		n := min(len(c.queue), maxRoundOps)
		round := make([]*change, n)
		copy(round, c.queue[:n])
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.rounds++
		c.mu.Unlock()
		c.commit(round)
	}
}

// commit runs one round. Its context is no waiter's: a client that hangs
// up must not abort the transaction of the others.
func (c *committer) commit(round []*change) {
	ctx := context.Background()
	var ids []string
	for _, ch := range round {
		ids = append(ids, ch.blobs...)
	}
	// Durable directory entries before the rows that name them: a crash
	// between the two leaves an unreferenced file, never a row without
	// its message.
	if len(ids) > 0 {
		if err := syncBlobDirs(c.blobs, ids); err != nil {
			err = fmt.Errorf("queue: sync %d message files: %w", len(ids), err)
			kept := round[:0]
			for _, ch := range round {
				if len(ch.blobs) > 0 {
					ch.err = err
					close(ch.done)
				} else {
					kept = append(kept, ch)
				}
			}
			round = kept
			if len(round) == 0 {
				return
			}
		}
	}
	fail := func(err error) {
		c.log.Error("queue group commit failed", "changes", len(round), "error", err)
		for _, ch := range round {
			ch.err = err
			close(ch.done)
		}
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("queue: begin: %w", err))
		return
	}
	for _, ch := range round {
		ch.err = applyChange(ctx, tx, ch.fn)
		if ch.err != nil && errors.Is(ch.err, errTxBroken) {
			tx.Rollback()
			fail(ch.err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("queue: commit: %w", err))
		return
	}
	for _, ch := range round {
		close(ch.done)
	}
}

// errTxBroken marks a failure of the savepoint bookkeeping itself, after
// which the transaction cannot be trusted.
var errTxBroken = errors.New("queue: transaction broken")

// applyChange runs fn in a savepoint (SQLite's nested transaction), undoing
// only its own writes when it fails.
func applyChange(ctx context.Context, tx *sql.Tx, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT change`); err != nil {
		return fmt.Errorf("%w: savepoint: %w", errTxBroken, err)
	}
	if ferr := fn(ctx, tx); ferr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO change`); err != nil {
			return fmt.Errorf("%w: rollback to savepoint: %w", errTxBroken, err)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE change`); err != nil {
			return fmt.Errorf("%w: release savepoint: %w", errTxBroken, err)
		}
		return ferr
	}
	if _, err := tx.ExecContext(ctx, `RELEASE change`); err != nil {
		return fmt.Errorf("%w: release savepoint: %w", errTxBroken, err)
	}
	return nil
}

// maxParallelSyncs bounds the directory fsyncs one round runs at once.
const maxParallelSyncs = 32

// syncBlobDirs makes the directory entries of ids durable, syncing their
// fan-out directories in parallel rather than one after another: the file
// system then folds concurrent fsyncs into few journal commits (ext4
// does), so a round costs about one commit however many directories its
// links landed in. blob.Store.Sync syncs the store's root as well, so
// each call covers a fan-out directory the link may have created.
func syncBlobDirs(blobs *blob.Store, ids []string) error {
	perDir := map[string]string{}
	for _, id := range ids {
		key := id
		if len(id) >= 2 {
			key = id[:2] // blob.Store's fan-out directory
		}
		perDir[key] = id
	}
	if len(perDir) == 1 {
		return blobs.Sync(ids...)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, maxParallelSyncs)
	)
	for _, id := range perDir {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := blobs.Sync(id); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
