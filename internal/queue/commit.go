package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"mailport/internal/blob"
	"mailport/internal/groupcommit"
)

// maxRoundOps bounds one group-commit transaction, so a burst does not
// build one huge write that delays every waiter behind it; the rest waits
// one round.
const maxRoundOps = 512

// committer is the queue's group commit (the loop of DESIGN.md section 3,
// internal/groupcommit, that internal/delivery uses for mailbox appends):
// one goroutine takes every change submitted meanwhile (new entries,
// delivery results, removals) and, per round, makes the new entries' blob
// links durable with one blob.Sync and applies all changes in one SQLite
// transaction, so one WAL fsync. Each change runs inside its own
// savepoint, so one failing change (an entry removed by `mailport queue
// remove` meanwhile) is rolled back alone and the others still commit.
type committer struct {
	db    *sql.DB
	blobs *blob.Store
	log   *slog.Logger
	loop  *groupcommit.Loop[*change]
}

// change is one unit of a round: blobs to make durable first (their
// files are fsynced already; their directory entries are not), then fn
// inside the round's transaction. err is its outcome, written by commit.
type change struct {
	blobs []string
	fn    func(ctx context.Context, tx *sql.Tx) error
	err   error
}

func newCommitter(db *sql.DB, blobs *blob.Store, log *slog.Logger) *committer {
	c := &committer{db: db, blobs: blobs, log: log}
	c.loop = groupcommit.New(c.commit, groupcommit.Options[*change]{MaxWeight: maxRoundOps, ErrClosed: ErrClosed})
	return c
}

// submit applies fn (after syncing blobs) in the next round and returns
// its own outcome: nil once the round's transaction is committed. Once a
// round has taken the change, submit waits for its outcome even if ctx
// ends, because the caller must not delete blobs the round may be
// committing.
func (c *committer) submit(ctx context.Context, blobs []string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ch := &change{blobs: blobs, fn: fn}
	if err := c.loop.Do(ctx, ch); err != nil {
		return err
	}
	return ch.err
}

// close stops accepting changes, commits what is queued and returns when
// the loop has exited. It is safe to call more than once.
func (c *committer) close() {
	c.loop.Close()
}

// commit runs one round, writing each change's outcome into its err; the
// loop wakes the waiters once it returns. Its context is no waiter's: a
// client that hangs up must not abort the transaction of the others.
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
			// The changes that link no blob (delivery results,
			// removals) do not depend on the failed sync and still
			// commit.
			err = fmt.Errorf("queue: sync %d message files: %w", len(ids), err)
			kept := round[:0]
			for _, ch := range round {
				if len(ch.blobs) > 0 {
					ch.err = err
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
