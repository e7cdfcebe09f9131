package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"mailport/internal/blob"
	"mailport/internal/queue/dsn"
)

// The queue keeps its entries in its own SQLite file, DIR/queue.db, rather
// than in the mail store: the store's interface has no queue tables and
// belongs to another package, and a separate file keeps queue churn out of
// the mailbox database. SQLite was chosen over one JSON file per entry
// because a delivery round changes several recipients of an entry at once
// and `mailport queue retry/remove` runs in a second process while `serve`
// delivers: WAL gives both processes atomic, isolated updates without a
// lock protocol of our own, and "which entries are due" is an indexed query
// instead of a directory scan.

// busyTimeout bounds how long one process waits for the other's write lock.
const busyTimeout = 10 * time.Second

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	id           TEXT PRIMARY KEY,
	sender       TEXT NOT NULL,
	blob_id      TEXT NOT NULL,
	size         INTEGER NOT NULL,
	eight_bit    INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	dsn_sent     INTEGER NOT NULL DEFAULT 0,
	dkim_signed  INTEGER NOT NULL DEFAULT 0,
	route_host   TEXT NOT NULL DEFAULT '',
	route_port   INTEGER NOT NULL DEFAULT 0,
	body_offset  INTEGER NOT NULL DEFAULT 0,
	delay_notified INTEGER NOT NULL DEFAULT 0,
	ret          TEXT NOT NULL DEFAULT '',
	envid        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entries_next_attempt ON entries(next_attempt);
CREATE TABLE IF NOT EXISTS recipients (
	entry_id   TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	address    TEXT NOT NULL,
	state      TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL DEFAULT '',
	remote_mta TEXT NOT NULL DEFAULT '',
	updated    INTEGER NOT NULL DEFAULT 0,
	reported   INTEGER NOT NULL DEFAULT 0,
	notify     TEXT NOT NULL DEFAULT '',
	orcpt      TEXT NOT NULL DEFAULT '',
	success    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (entry_id, seq)
);
`

type db struct {
	sql *sql.DB
	// commits applies every write of the queue's own process (group
	// commit, see committer).
	commits *committer
}

func openDB(ctx context.Context, path string, blobs *blob.Store, log *slog.Logger) (*db, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("queue: unusable database path %q", path)
	}
	// synchronous=FULL: a committed Enqueue survives power loss, which is
	// what lets the SMTP layer answer 250 after it (DESIGN.md section 3).
	dsn := path + fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	s, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	// One connection: the queue writes little, and a single writer never
	// waits on itself for SQLite's lock.
	s.SetMaxOpenConns(1)
	s.SetConnMaxLifetime(0)
	s.SetConnMaxIdleTime(0)
	if _, err := s.ExecContext(ctx, schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("queue: create schema in %s: %w", path, err)
	}
	if err := addRouteColumns(ctx, s); err != nil {
		s.Close()
		return nil, fmt.Errorf("queue: upgrade schema in %s: %w", path, err)
	}
	for _, c := range []struct{ table, name, stmt string }{
		{"entries", "body_offset", `ALTER TABLE entries ADD COLUMN body_offset INTEGER NOT NULL DEFAULT 0`},
		{"entries", "delay_notified", `ALTER TABLE entries ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0`},
		{"recipients", "notify", `ALTER TABLE recipients ADD COLUMN notify TEXT NOT NULL DEFAULT ''`},
		{"entries", "ret", `ALTER TABLE entries ADD COLUMN ret TEXT NOT NULL DEFAULT ''`},
		{"entries", "envid", `ALTER TABLE entries ADD COLUMN envid TEXT NOT NULL DEFAULT ''`},
		{"recipients", "orcpt", `ALTER TABLE recipients ADD COLUMN orcpt TEXT NOT NULL DEFAULT ''`},
		{"recipients", "success", `ALTER TABLE recipients ADD COLUMN success TEXT NOT NULL DEFAULT ''`},
	} {
		if err := addColumn(ctx, s, c.table, c.name, c.stmt); err != nil {
			s.Close()
			return nil, fmt.Errorf("queue: upgrade schema in %s: %w", path, err)
		}
	}
	return &db{sql: s, commits: newCommitter(s, blobs, log)}, nil
}

// addColumn adds a column to table in a queue file created before it
// existed.
func addColumn(ctx context.Context, s *sql.DB, table, name, stmt string) error {
	var n int
	if err := s.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := s.ExecContext(ctx, stmt)
	return err
}

// addRouteColumns adds the per-entry route (Via) to a queue file created
// before it existed.
func addRouteColumns(ctx context.Context, s *sql.DB) error {
	var n int
	if err := s.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'route_host'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range []string{
		`ALTER TABLE entries ADD COLUMN route_host TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE entries ADD COLUMN route_port INTEGER NOT NULL DEFAULT 0`,
	} {
		if _, err := s.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

func (d *db) close() error {
	d.commits.close()
	return d.sql.Close()
}

// txFunc is one change inside a group-commit transaction.
type txFunc = func(ctx context.Context, tx *sql.Tx) error

// tx applies fn through the group commit: it returns once fn's writes are
// committed (and durable, synchronous=FULL), or with fn's error, its
// writes undone.
func (d *db) tx(ctx context.Context, fn txFunc) error {
	return d.commits.submit(ctx, nil, fn)
}

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// insert stores a new entry; its blob's directory entry is made durable
// in the same round, before the row. also, when set, runs in the same
// transaction: the entry is stored only if also succeeds.
func (d *db) insert(ctx context.Context, e *Entry, also txFunc) error {
	return d.commits.submit(ctx, []string{e.BlobID}, func(ctx context.Context, tx *sql.Tx) error {
		host, port := "", 0
		if e.Route != nil {
			host, port = e.Route.Host, e.Route.Port
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO entries (id, sender, blob_id, size, eight_bit, created, next_attempt, dkim_signed, route_host, route_port, body_offset, ret, envid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.From, e.BlobID, e.Size, e.EightBit, unixNano(e.Created), unixNano(e.NextAttempt), e.DKIMSigned, host, port, e.Offset,
			string(e.Return), e.EnvelopeID)
		if err != nil {
			return fmt.Errorf("queue: insert entry: %w", err)
		}
		for i, r := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recipients (entry_id, seq, address, state, notify, orcpt) VALUES (?, ?, ?, ?, ?, ?)`,
				e.ID, i, r.Address, string(r.State), notifyText(r.Notify), orcptText(r)); err != nil {
				return fmt.Errorf("queue: insert recipient: %w", err)
			}
		}
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
}

// notifyText is the stored form of a NOTIFY parameter: its keywords
// joined by commas as on the RCPT line, "" for none given.
func notifyText(n []smtp.DSNNotify) string {
	s := make([]string, len(n))
	for i, k := range n {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// parseNotify is the inverse of notifyText.
func parseNotify(s string) []smtp.DSNNotify {
	if s == "" {
		return nil
	}
	var n []smtp.DSNNotify
	for _, k := range strings.Split(s, ",") {
		n = append(n, smtp.DSNNotify(k))
	}
	return n
}

// orcptText is the stored form of an ORCPT parameter: "type;address" as
// on the RCPT line but decoded, "" for none given. The type never holds a
// ";", so the first one separates.
func orcptText(r Recipient) string {
	if r.OriginalRecipient == "" {
		return ""
	}
	return string(r.OriginalRecipientType) + ";" + r.OriginalRecipient
}

// parseORCPT is the inverse of orcptText.
func parseORCPT(s string, r *Recipient) {
	if typ, addr, ok := strings.Cut(s, ";"); ok {
		r.OriginalRecipientType, r.OriginalRecipient = smtp.DSNAddressType(typ), addr
	}
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const entryColumns = `id, sender, blob_id, size, eight_bit, created, next_attempt, attempts, last_error, dsn_sent, dkim_signed, route_host, route_port, body_offset, delay_notified, ret, envid`

// entries loads the entries selected by where (with args), with their
// recipients, ordered by next attempt.
func (d *db) entries(ctx context.Context, q queryer, where string, args ...any) ([]*Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+` FROM entries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("queue: list entries: %w", err)
	}
	var list []*Entry
	byID := map[string]*Entry{}
	for rows.Next() {
		e := &Entry{}
		var created, next int64
		var routeHost, ret string
		var routePort int
		if err := rows.Scan(&e.ID, &e.From, &e.BlobID, &e.Size, &e.EightBit, &created, &next, &e.Attempts, &e.LastError, &e.DSNSent, &e.DKIMSigned, &routeHost, &routePort, &e.Offset, &e.DelayNotified, &ret, &e.EnvelopeID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("queue: scan entry: %w", err)
		}
		if routeHost != "" {
			e.Route = &Destination{Host: routeHost, Port: routePort}
		}
		e.Created, e.NextAttempt, e.Return = fromNano(created), fromNano(next), smtp.DSNReturn(ret)
		list = append(list, e)
		byID[e.ID] = e
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("queue: list entries: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue: list entries: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	// Recipients of the selected entries, in one query per batch of ids
	// (SQLite limits the number of parameters).
	const batch = 500
	for start := 0; start < len(list); start += batch {
		end := min(start+batch, len(list))
		ids := make([]any, 0, end-start)
		for _, e := range list[start:end] {
			ids = append(ids, e.ID)
		}
		rrows, err := q.QueryContext(ctx, `SELECT entry_id, address, state, attempts, last_error, status, remote_mta, updated, reported, notify, orcpt, success
			FROM recipients WHERE entry_id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY entry_id, seq`, ids...)
		if err != nil {
			return nil, fmt.Errorf("queue: list recipients: %w", err)
		}
		for rrows.Next() {
			var id, state, notify, orcpt, success string
			var updated int64
			var r Recipient
			if err := rrows.Scan(&id, &r.Address, &state, &r.Attempts, &r.LastError, &r.Status, &r.RemoteMTA, &updated, &r.Reported, &notify, &orcpt, &success); err != nil {
				rrows.Close()
				return nil, fmt.Errorf("queue: scan recipient: %w", err)
			}
			r.State, r.Updated, r.Notify, r.Success = State(state), fromNano(updated), parseNotify(notify), dsn.Action(success)
			parseORCPT(orcpt, &r)
			if e := byID[id]; e != nil {
				e.Recipients = append(e.Recipients, r)
			}
		}
		if err := rrows.Close(); err != nil {
			return nil, fmt.Errorf("queue: list recipients: %w", err)
		}
		if err := rrows.Err(); err != nil {
			return nil, fmt.Errorf("queue: list recipients: %w", err)
		}
	}
	return list, nil
}

func (d *db) get(ctx context.Context, id string) (*Entry, error) {
	list, err := d.entries(ctx, d.sql, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("queue: entry %q: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// due returns up to limit entries whose next attempt is at or before now,
// oldest first, skipping the ids in skip (already being delivered).
func (d *db) due(ctx context.Context, now time.Time, limit int, skip map[string]bool) ([]*Entry, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id FROM entries WHERE next_attempt <= ? ORDER BY next_attempt LIMIT ?`,
		unixNano(now), limit+len(skip))
	if err != nil {
		return nil, fmt.Errorf("queue: due entries: %w", err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("queue: due entries: %w", err)
		}
		if !skip[id] && len(ids) < limit {
			ids = append(ids, id)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("queue: due entries: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return d.entries(ctx, d.sql, `WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY next_attempt`, ids...)
}

// nextDue returns the earliest next attempt among entries not in skip, or
// the zero time when there is none.
func (d *db) nextDue(ctx context.Context, skip map[string]bool) (time.Time, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, next_attempt FROM entries ORDER BY next_attempt LIMIT ?`, len(skip)+1)
	if err != nil {
		return time.Time{}, fmt.Errorf("queue: next due: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return time.Time{}, fmt.Errorf("queue: next due: %w", err)
		}
		if !skip[id] {
			return fromNano(n), nil
		}
	}
	return time.Time{}, rows.Err()
}

// saveAttempt records the outcome of one delivery round: the recipients'
// new states and the entry's counters. It fails with ErrNotFound when the
// entry was removed meanwhile (`mailport queue remove` from another
// process), so the caller does not resurrect it.
func (d *db) saveAttempt(ctx context.Context, e *Entry) error {
	return d.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE entries SET next_attempt = ?, attempts = ?, last_error = ?, dsn_sent = ? WHERE id = ?`,
			unixNano(e.NextAttempt), e.Attempts, e.LastError, e.DSNSent, e.ID)
		if err != nil {
			return fmt.Errorf("queue: update entry: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("queue: entry %s: %w", e.ID, ErrNotFound)
		}
		for i, r := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `UPDATE recipients SET state = ?, attempts = ?, last_error = ?, status = ?, remote_mta = ?, updated = ?, reported = ?, success = ?
				WHERE entry_id = ? AND seq = ?`,
				string(r.State), r.Attempts, r.LastError, r.Status, r.RemoteMTA, unixNano(r.Updated), r.Reported, string(r.Success), e.ID, i); err != nil {
				return fmt.Errorf("queue: update recipient: %w", err)
			}
		}
		return nil
	})
}

// setNextAttempt moves an entry's next attempt (Retry).
func (d *db) setNextAttempt(ctx context.Context, id string, t time.Time) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE entries SET next_attempt = ? WHERE id = ?`, unixNano(t), id)
	if err != nil {
		return fmt.Errorf("queue: retry %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("queue: entry %q: %w", id, ErrNotFound)
	}
	return nil
}

// delete removes an entry and returns its blob id.
func (d *db) delete(ctx context.Context, id string) (string, error) {
	var blobID string
	err := d.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT blob_id FROM entries WHERE id = ?`, id).Scan(&blobID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue: entry %q: %w", id, ErrNotFound)
			}
			return fmt.Errorf("queue: remove %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE id = ?`, id); err != nil {
			return fmt.Errorf("queue: remove %s: %w", id, err)
		}
		return nil
	})
	return blobID, err
}
