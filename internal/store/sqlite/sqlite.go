// Package sqlite is mailport's embedded storage backend: one SQLite file in
// WAL mode, written through a single connection (SQLite has one writer at a
// time anyway, and queueing in Go is cheaper than spinning on SQLITE_BUSY)
// and read through a small pool of connections that WAL lets run alongside
// the writer.
//
// Durability: the writer runs with synchronous=FULL, so a transaction is in
// the fsynced WAL when Commit returns. AppendMessages writes a whole batch in
// one transaction, which is what makes group commit cost one fsync.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mailport/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readConns is the size of the read pool. Reads are short (one mailbox or
// one message list), so a few connections serve many IMAP sessions; the
// machine this targets has two cores.
const readConns = 4

// busyTimeoutMS bounds how long a connection waits for a lock held by
// another process (a CLI command run while the server is up).
const busyTimeoutMS = 10000

// DB is a mailport store in one SQLite database file. It implements
// store.Store and is safe for concurrent use.
type DB struct {
	w      *sql.DB // single writer connection; every write transaction
	r      *sql.DB // read-only pool
	reads  stmtCache
	writes stmtCache
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		// The driver takes everything after "?" as parameters.
		return nil, fmt.Errorf("sqlite: open: unusable database path %q", path)
	}
	common := "_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")"
	// _txlock=immediate takes the write lock at BEGIN, so a write
	// transaction never fails halfway when upgrading from a read lock.
	wdsn := path + "?" + common +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// query_only makes an accidental write through the read pool fail
	// instead of competing with the writer for the lock. mmap_size lets
	// readers use the database file's pages in place instead of a pread
	// per page missing from their small page cache: IMAP SEARCH reads the
	// stored text of many messages, where the preads were a third of the
	// time. The pages are the kernel's page cache, shared by the pool.
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)&_pragma=mmap_size(268435456)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reads, err := prepareAll(ctx, r, readQueries)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writes, err := prepareAll(ctx, w, writeQueries)
	if err != nil {
		reads.close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{w: w, r: r, reads: reads, writes: writes}, nil
}

// goSteps are the parts of migrations that SQL cannot express, by
// version; each runs after the SQL file of its version, in the same
// transaction.
var goSteps = map[int]func(context.Context, *sql.Tx) error{
	7: canonicalNames,
}

// migrate applies the embedded migrations/NNNN_*.sql files whose number is
// above the recorded schema version, each in its own transaction with its
// Go step (goSteps).
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		ms = append(ms, migration{v, name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return fmt.Errorf("migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if current > latest {
		// A newer mailport wrote this file; running older code on it
		// could corrupt data it does not know about.
		return fmt.Errorf("schema version %d is newer than this program's %d", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		text, err := migrationFiles.ReadFile(m.name)
		if err != nil {
			return fmt.Errorf("read %s: %w", m.name, err)
		}
		err = withTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(text)); err != nil {
				return err
			}
			if step := goSteps[m.version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
	}
	return nil
}

// withTx runs fn in a transaction on db and commits it, or rolls back if fn
// fails.
func withTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// write runs fn in a write transaction.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return withTx(ctx, db.w, fn)
}

// read runs fn in a read transaction, so that several queries see one
// snapshot of the database.
func (db *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// mapErr turns SQLite constraint errors into the store's errors: a unique
// violation means the row exists, a foreign key violation means the row it
// refers to does not.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		// The driver's text (constraint and table names) is left out:
		// these errors reach people through the API and the CLI, and the
		// operation wrap names says what existed or was missing.
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return store.ErrExists
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrNotFound
		}
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// row is what the scan functions read: a *sql.Row or the current row of
// *sql.Rows.
type row = interface{ Scan(...any) error }

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// pageOrder is the SQL sort direction and the row limit of a page: a
// limit of 0 or less, or above maxRows, asks for maxRows.
func pageOrder(desc bool, limit, maxRows int) (dir string, rows int) {
	dir = "ASC"
	if desc {
		dir = "DESC"
	}
	if limit <= 0 || limit > maxRows {
		limit = maxRows
	}
	return dir, limit
}

// wrap adds the operation to err after mapping it to the store's errors.
// A store error (exists, not found) reads as the operation and the
// outcome, for people; other errors keep the "sqlite:" prefix that tells
// an administrator where they came from.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}

func nowNanos() int64 { return time.Now().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return nowNanos()
	}
	return t.UnixNano()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Check runs SQLite's integrity and foreign key checks and verifies the
// counters the store maintains (mailbox counts, account usage, UIDNEXT and
// HIGHESTMODSEQ) against the message rows, and that the search index has
// an entry for each stored search text.
func (db *DB) Check(ctx context.Context) error {
	var problems []string
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `PRAGMA integrity_check`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			if s != "ok" {
				problems = append(problems, "integrity: "+s)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}

		rows, err = tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var table, parent string
			var rowid sql.NullInt64
			var fkid int64
			if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
				rows.Close()
				return err
			}
			problems = append(problems, fmt.Sprintf("foreign key: %s row %d refers to missing %s", table, rowid.Int64, parent))
		}
		if err := rows.Close(); err != nil {
			return err
		}

		checks := []struct{ what, query string }{
			{"mailbox counters", `
				SELECT b.id || ' ' || b.name FROM mailboxes b
				LEFT JOIN (SELECT mailbox_id, COUNT(*) AS n, SUM((flags & 1) = 0) AS unseen,
				           SUM(size) AS size, MAX(uid) AS maxuid, MAX(modseq) AS maxmodseq
				           FROM messages GROUP BY mailbox_id) m ON m.mailbox_id = b.id
				WHERE b.messages != COALESCE(m.n, 0) OR b.unseen != COALESCE(m.unseen, 0)
				   OR b.size != COALESCE(m.size, 0) OR b.uidnext <= COALESCE(m.maxuid, 0)
				   OR b.highestmodseq < COALESCE(m.maxmodseq, 0)`},
			{"mailbox tombstones", `
				SELECT b.id || ' ' || b.name FROM mailboxes b
				JOIN (SELECT mailbox_id, MAX(uid) AS maxuid, MAX(modseq) AS maxmodseq
				      FROM tombstones GROUP BY mailbox_id) t ON t.mailbox_id = b.id
				WHERE b.uidnext <= t.maxuid OR b.highestmodseq < t.maxmodseq`},
			{"account used bytes", `
				SELECT a.address FROM accounts a
				LEFT JOIN (SELECT account_id, SUM(size) AS size FROM mailboxes GROUP BY account_id) s
				       ON s.account_id = a.id
				WHERE a.used_bytes != COALESCE(s.size, 0)`},
			// The triggers keep one index row per message_text row; a
			// difference means SEARCH misses messages or scans stale
			// entries.
			// messages.has_text is what UnindexedUIDs answers from.
			{"message has_text", `
				SELECT m.id FROM messages m
				WHERE m.has_text != EXISTS (SELECT 1 FROM message_text t WHERE t.message_id = m.id)`},
			{"search index", `
				SELECT (SELECT COUNT(*) FROM message_text) || ' texts, ' ||
				       (SELECT COUNT(*) FROM message_fts) || ' indexed'
				WHERE (SELECT COUNT(*) FROM message_text) != (SELECT COUNT(*) FROM message_fts)`},
		}
		for _, c := range checks {
			rows, err := tx.QueryContext(ctx, c.query)
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					rows.Close()
					return err
				}
				problems = append(problems, c.what+" wrong for "+s)
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap(err, "check")
	}
	if len(problems) > 0 {
		const max = 20
		more := ""
		if len(problems) > max {
			more = fmt.Sprintf("; and %d more", len(problems)-max)
			problems = problems[:max]
		}
		return fmt.Errorf("sqlite: check: %s%s", strings.Join(problems, "; "), more)
	}
	return nil
}

// Close closes all connections. A WAL checkpoint happens as SQLite closes
// the last connection.
func (db *DB) Close() error {
	serr := errors.Join(db.reads.close(), db.writes.close())
	rerr := db.r.Close()
	werr := db.w.Close()
	if err := errors.Join(serr, rerr, werr); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
