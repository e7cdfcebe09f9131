package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"mailport/internal/store"
)

// CreateDomain adds a hosted domain. A name already used by a domain alias
// or a relay domain is refused with ErrExists too: one name cannot be both.
func (db *DB) CreateDomain(ctx context.Context, name string) (store.Domain, error) {
	d := store.Domain{Name: name}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := ensureNoDomainAlias(ctx, tx, name); err != nil {
			return err
		}
		if err := ensureNoRelayDomain(ctx, tx, name); err != nil {
			return err
		}
		now := nowNanos()
		res, err := tx.ExecContext(ctx, `INSERT INTO domains (name, created_at) VALUES (?, ?)`, name, now)
		if err != nil {
			return err
		}
		d.ID, err = res.LastInsertId()
		d.CreatedAt = fromNanos(now)
		return err
	})
	if err != nil {
		return store.Domain{}, wrap(err, "create domain %q", name)
	}
	return d, nil
}

func ensureNoDomainAlias(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM domain_aliases WHERE alias = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %q is a domain alias", store.ErrExists, name)
	}
	return nil
}

// domainColumns are the columns scanDomain reads, in its order.
const domainColumns = `id, name, created_at, sdr_host, sdr_port`

func scanDomain(row interface{ Scan(...any) error }) (store.Domain, error) {
	var d store.Domain
	var created int64
	if err := row.Scan(&d.ID, &d.Name, &created, &d.SDRHost, &d.SDRPort); err != nil {
		return store.Domain{}, err
	}
	d.CreatedAt = fromNanos(created)
	return d, nil
}

// GetDomain returns the domain called name.
func (db *DB) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	d, err := scanDomain(db.r.QueryRowContext(ctx, `SELECT `+domainColumns+` FROM domains WHERE name = ?`, name))
	if err != nil {
		return store.Domain{}, wrap(err, "get domain %q", name)
	}
	return d, nil
}

// ListDomains returns all domains ordered by name.
func (db *DB) ListDomains(ctx context.Context) ([]store.Domain, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+domainColumns+` FROM domains ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "list domains")
	}
	defer rows.Close()
	var out []store.Domain
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, wrap(err, "list domains")
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list domains")
	}
	return out, nil
}

// DeleteDomain removes the domain; foreign keys cascade to its accounts
// (and their mailboxes, messages, forwards, sender addresses), aliases and
// domain aliases. The blobs of the removed messages are returned.
func (db *DB) DeleteDomain(ctx context.Context, name string) ([]string, error) {
	var blobs []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM domains WHERE name = ?`, name).Scan(&id); err != nil {
			return err
		}
		var err error
		blobs, err = deleteWithBlobs(ctx, tx,
			`SELECT m.blob_id FROM messages m
			 JOIN mailboxes b ON b.id = m.mailbox_id
			 JOIN accounts a ON a.id = b.account_id
			 WHERE a.domain_id = ?`,
			`DELETE FROM domains WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, wrap(err, "delete domain %q", name)
	}
	return blobs, nil
}

// deleteWithBlobs collects the blob ids selected by blobQuery, runs
// deleteStmt (both with args) and returns those blob ids that no remaining
// message refers to.
func deleteWithBlobs(ctx context.Context, tx *sql.Tx, blobQuery, deleteStmt string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, blobQuery, args...)
	if err != nil {
		return nil, err
	}
	var candidates []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return nil, err
		}
		candidates = append(candidates, b)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, deleteStmt, args...)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, store.ErrNotFound
	}
	return unreferenced(ctx, tx, candidates)
}

// unreferenced returns the distinct blob ids of candidates that no message
// row refers to any more, in the order first seen.
func unreferenced(ctx context.Context, tx *sql.Tx, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	stmt, err := tx.PrepareContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE blob_id = ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	seen := make(map[string]bool, len(candidates))
	out := make([]string, 0, len(candidates))
	for _, b := range candidates {
		if seen[b] {
			continue
		}
		seen[b] = true
		var used bool
		if err := stmt.QueryRowContext(ctx, b).Scan(&used); err != nil {
			return nil, err
		}
		if !used {
			out = append(out, b)
		}
	}
	return out, nil
}

// CreateDomainAlias makes alias another name for the hosted domain. The
// alias may be neither a hosted domain, a relay domain nor an existing
// alias (ErrExists); the domain must exist (ErrNotFound).
func (db *DB) CreateDomainAlias(ctx context.Context, alias, domain string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := ensureNoHostedDomain(ctx, tx, alias); err != nil {
			return err
		}
		if err := ensureNoRelayDomain(ctx, tx, alias); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM domains WHERE name = ?`, domain).Scan(&id); err != nil {
			return fmt.Errorf("domain %q: %w", domain, mapErr(err))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO domain_aliases (alias, domain_id) VALUES (?, ?)`, alias, id)
		return err
	})
	return wrap(err, "create domain alias %q for %q", alias, domain)
}

func ensureNoHostedDomain(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM domains WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %q is a hosted domain", store.ErrExists, name)
	}
	return nil
}

// SetDomainSDR sets or (host "") clears the split domain routing
// destination of a hosted domain.
func (db *DB) SetDomainSDR(ctx context.Context, domain, host string, port int) error {
	if host == "" {
		port = 0
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE domains SET sdr_host = ?, sdr_port = ? WHERE name = ?`, host, port, domain)
	})
	return wrap(err, "set split domain routing of %q", domain)
}

// GetDomainAlias returns the domain alias called alias.
func (db *DB) GetDomainAlias(ctx context.Context, alias string) (store.DomainAlias, error) {
	var da store.DomainAlias
	err := db.r.QueryRowContext(ctx,
		`SELECT a.alias, d.name FROM domain_aliases a JOIN domains d ON d.id = a.domain_id WHERE a.alias = ?`, alias).
		Scan(&da.Alias, &da.Domain)
	if err != nil {
		return store.DomainAlias{}, wrap(err, "get domain alias %q", alias)
	}
	return da, nil
}

// ListDomainAliases returns all domain aliases ordered by alias.
func (db *DB) ListDomainAliases(ctx context.Context) ([]store.DomainAlias, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT a.alias, d.name FROM domain_aliases a JOIN domains d ON d.id = a.domain_id ORDER BY a.alias`)
	if err != nil {
		return nil, wrap(err, "list domain aliases")
	}
	defer rows.Close()
	var out []store.DomainAlias
	for rows.Next() {
		var da store.DomainAlias
		if err := rows.Scan(&da.Alias, &da.Domain); err != nil {
			return nil, wrap(err, "list domain aliases")
		}
		out = append(out, da)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list domain aliases")
	}
	return out, nil
}

// DeleteDomainAlias removes a domain alias.
func (db *DB) DeleteDomainAlias(ctx context.Context, alias string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM domain_aliases WHERE alias = ?`, alias)
	})
	return wrap(err, "delete domain alias %q", alias)
}

// execOne runs a statement that must affect a row; ErrNotFound otherwise.
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
