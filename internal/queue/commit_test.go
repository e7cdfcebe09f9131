package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// insertEntry is a change that adds a bare entry row named id.
func insertEntry(id string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO entries (id, sender, blob_id, size, created, next_attempt) VALUES (?, '', '', 0, 1, 1)`, id)
		return err
	}
}

// entryIDs lists the committed entry rows by id.
func entryIDs(t *testing.T, q *Queue) []string {
	t.Helper()
	rows, err := q.db.sql.QueryContext(context.Background(), `SELECT id FROM entries ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// holdRound submits a change whose round stays open until the returned
// release is called, so later changes queue behind it; release returns
// that change's outcome, fn's.
func holdRound(c *committer, fn func(ctx context.Context, tx *sql.Tx) error) (release func() error) {
	started, gate := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.submit(context.Background(), nil, func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-gate
			return fn(ctx, tx)
		})
	}()
	<-started
	return func() error {
		close(gate)
		return <-first
	}
}

// Changes submitted while a round runs are committed together in the next
// round (one transaction), and a change that fails is undone alone: the
// others of its round stay.
func TestCommitterGroupsAndIsolates(t *testing.T) {
	e := newEnv(t, 25)
	q := e.open()
	t.Cleanup(func() { q.Close() })
	c := q.db.commits
	ctx := context.Background()

	// The first round is held open until the others are queued behind it.
	release := holdRound(c, insertEntry("first"))
	const n = 20
	errBoom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("e%02d", i)
			if i == 7 {
				// Writes, then fails: its row must not survive.
				errs[i] = c.submit(ctx, nil, func(ctx context.Context, tx *sql.Tx) error {
					if err := insertEntry(id)(ctx, tx); err != nil {
						return err
					}
					return errBoom
				})
				return
			}
			errs[i] = c.submit(ctx, nil, insertEntry(id))
		}()
	}
	waitFor(t, "changes queued", func() bool { return c.loop.Queued() == n })
	before := c.loop.Rounds()
	if err := release(); err != nil {
		t.Fatalf("first change: %v", err)
	}
	wg.Wait()
	after := c.loop.Rounds()
	if after-before != 1 {
		t.Errorf("%d queued changes took %d rounds, want 1", n, after-before)
	}
	for i, err := range errs {
		if i == 7 {
			if !errors.Is(err, errBoom) {
				t.Errorf("failing change returned %v, want its own error", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
	ids := entryIDs(t, q)
	got := strings.Join(ids, ",")
	if len(ids) != n || strings.Contains(got, "e07") || !strings.Contains(got, "first") {
		t.Errorf("committed rows %s: want first and every change but e07", got)
	}
}

// A change whose message file cannot be made durable fails with the sync
// error and its row is never written, while a change of the same round
// that links no file still commits.
func TestCommitterBlobSyncFailureIsolated(t *testing.T) {
	e := newEnv(t, 25)
	q := e.open()
	t.Cleanup(func() { q.Close() })
	c := q.db.commits
	ctx := context.Background()

	// Hold a round open so both changes are queued behind it and share
	// the next one.
	release := holdRound(c, func(context.Context, *sql.Tx) error { return nil })
	linked, plain := make(chan error, 1), make(chan error, 1)
	go func() { linked <- c.submit(ctx, []string{"../outside"}, insertEntry("linked")) }()
	waitFor(t, "linked change queued", func() bool { return c.loop.Queued() == 1 })
	go func() { plain <- c.submit(ctx, nil, insertEntry("plain")) }()
	waitFor(t, "plain change queued", func() bool { return c.loop.Queued() == 2 })
	before := c.loop.Rounds()
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := <-linked; err == nil || !strings.Contains(err.Error(), "sync") {
		t.Errorf("change with an unsyncable file: %v, want the sync error", err)
	}
	if err := <-plain; err != nil {
		t.Errorf("change without files in the same round: %v", err)
	}
	if n := c.loop.Rounds() - before; n != 1 {
		t.Errorf("the two changes took %d rounds, want 1", n)
	}
	if got := strings.Join(entryIDs(t, q), ","); got != "plain" {
		t.Errorf("committed rows %q, want only plain", got)
	}
}

// Concurrent Enqueues all return durable entries: after a restart each
// one is there with its message.
func TestConcurrentEnqueueDurable(t *testing.T) {
	e := newEnv(t, 25)
	q := e.open()
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage))
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	q.Close()
	q = e.open()
	defer q.Close()
	for _, id := range ids {
		ent, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("entry %s after restart: %v", id, err)
		}
		if !e.blobs.Exists(ent.BlobID) {
			t.Errorf("entry %s: message file missing", id)
		}
	}
}

// Enqueue after Close fails with ErrClosed rather than blocking.
func TestEnqueueAfterClose(t *testing.T) {
	e := newEnv(t, 25)
	q := e.open()
	q.Close()
	if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage)); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v, want ErrClosed", err)
	}
}
