package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"mailport/internal/store"
)

// maxRelayRecipients bounds one relay domain's recipient list; a longer
// list belongs in the destination server, which refuses unknown users
// itself.
const maxRelayRecipients = 100000

func ensureNoRelayDomain(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM relay_domains WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %q is a relay domain", store.ErrExists, name)
	}
	return nil
}

// CreateRelayDomain adds a relay domain with its recipient list
// (duplicates dropped). The name may be neither a hosted domain nor a
// domain alias (ErrExists).
func (db *DB) CreateRelayDomain(ctx context.Context, r store.RelayDomain) error {
	if len(r.Recipients) > maxRelayRecipients {
		return fmt.Errorf("sqlite: create relay domain %q: more than %d recipients", r.Name, maxRelayRecipients)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := ensureNoHostedDomain(ctx, tx, r.Name); err != nil {
			return err
		}
		if err := ensureNoDomainAlias(ctx, tx, r.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO relay_domains (name, host, port, created_at) VALUES (?, ?, ?, ?)`,
			r.Name, r.Host, r.Port, nowNanos()); err != nil {
			return err
		}
		return insertRelayRecipients(ctx, tx, r)
	})
	return wrap(err, "create relay domain %q", r.Name)
}

// insertRelayRecipients writes r's recipient list (duplicates dropped).
func insertRelayRecipients(ctx context.Context, tx *sql.Tx, r store.RelayDomain) error {
	if len(r.Recipients) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO relay_recipients (relay, address) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, a := range r.Recipients {
		if _, err := stmt.ExecContext(ctx, r.Name, a); err != nil {
			return err
		}
	}
	return nil
}

// UpdateRelayDomain replaces a relay domain's destination and recipient
// list.
func (db *DB) UpdateRelayDomain(ctx context.Context, r store.RelayDomain) error {
	if len(r.Recipients) > maxRelayRecipients {
		return fmt.Errorf("sqlite: update relay domain %q: more than %d recipients", r.Name, maxRelayRecipients)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, `UPDATE relay_domains SET host = ?, port = ? WHERE name = ?`, r.Host, r.Port, r.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM relay_recipients WHERE relay = ?`, r.Name); err != nil {
			return err
		}
		return insertRelayRecipients(ctx, tx, r)
	})
	return wrap(err, "update relay domain %q", r.Name)
}

// GetRelayDomain returns the relay domain called name with its recipients
// in address order.
func (db *DB) GetRelayDomain(ctx context.Context, name string) (store.RelayDomain, error) {
	var r store.RelayDomain
	err := db.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT name, host, port FROM relay_domains WHERE name = ?`, name).
			Scan(&r.Name, &r.Host, &r.Port); err != nil {
			return err
		}
		var err error
		r.Recipients, err = relayRecipients(ctx, tx, name)
		return err
	})
	if err != nil {
		return store.RelayDomain{}, wrap(err, "get relay domain %q", name)
	}
	return r, nil
}

func relayRecipients(ctx context.Context, tx *sql.Tx, name string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT address FROM relay_recipients WHERE relay = ? ORDER BY address`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ListRelayDomains returns every relay domain ordered by name.
func (db *DB) ListRelayDomains(ctx context.Context) ([]store.RelayDomain, error) {
	var out []store.RelayDomain
	err := db.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name, host, port FROM relay_domains ORDER BY name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r store.RelayDomain
			if err := rows.Scan(&r.Name, &r.Host, &r.Port); err != nil {
				rows.Close()
				return err
			}
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for i := range out {
			if out[i].Recipients, err = relayRecipients(ctx, tx, out[i].Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list relay domains")
	}
	return out, nil
}

// DeleteRelayDomain removes a relay domain and its recipient list.
func (db *DB) DeleteRelayDomain(ctx context.Context, name string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM relay_domains WHERE name = ?`, name)
	})
	return wrap(err, "delete relay domain %q", name)
}

// RelayRoute returns the relay domain name (without recipients) and
// whether it accepts address.
func (db *DB) RelayRoute(ctx context.Context, name, address string) (store.RelayDomain, bool, error) {
	var r store.RelayDomain
	var allowed bool
	err := db.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT name, host, port FROM relay_domains WHERE name = ?`, name).
			Scan(&r.Name, &r.Host, &r.Port); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx,
			`SELECT NOT EXISTS (SELECT 1 FROM relay_recipients WHERE relay = ?1)
			     OR EXISTS (SELECT 1 FROM relay_recipients WHERE relay = ?1 AND address = ?2)`,
			name, address).Scan(&allowed)
	})
	if err != nil {
		return store.RelayDomain{}, false, wrap(err, "relay route %q", name)
	}
	return r, allowed, nil
}

// AddDKIMKey stores a key of a hosted domain (ErrNotFound without the
// domain, ErrExists for a selector in use). An active key replaces the
// domain's active key in the same transaction.
func (db *DB) AddDKIMKey(ctx context.Context, k store.DKIMKey) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, k.Domain)
		if err != nil {
			return fmt.Errorf("domain %q: %w", k.Domain, err)
		}
		if k.Active {
			if _, err := tx.ExecContext(ctx, `UPDATE dkim_keys SET active = 0 WHERE domain_id = ? AND active = 1`, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, active, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, k.Selector, k.Algorithm, k.PrivateKeyPEM, boolInt(k.Active), toNanos(k.CreatedAt))
		return err
	})
	return wrap(err, "add dkim key %q of %q", k.Selector, k.Domain)
}

// ListDKIMKeys returns the keys of a hosted domain, oldest first
// (ErrNotFound without the domain).
func (db *DB) ListDKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	var out []store.DKIMKey
	err := db.read(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, domain)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT selector, algorithm, private_key, active, created_at FROM dkim_keys
			 WHERE domain_id = ? ORDER BY created_at, selector`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k := store.DKIMKey{Domain: domain}
			var created int64
			if err := rows.Scan(&k.Selector, &k.Algorithm, &k.PrivateKeyPEM, &k.Active, &created); err != nil {
				return err
			}
			k.CreatedAt = fromNanos(created)
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(err, "list dkim keys of %q", domain)
	}
	return out, nil
}

// SetActiveDKIMKey makes the key the domain's only active one.
func (db *DB) SetActiveDKIMKey(ctx context.Context, domain, selector string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, domain)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dkim_keys WHERE domain_id = ? AND selector = ?`, id, selector).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dkim_keys SET active = 0 WHERE domain_id = ? AND active = 1`, id); err != nil {
			return err
		}
		return execOne(ctx, tx, `UPDATE dkim_keys SET active = 1 WHERE domain_id = ? AND selector = ?`, id, selector)
	})
	return wrap(err, "activate dkim key %q of %q", selector, domain)
}

// DeleteDKIMKey removes a key; when it was active the newest remaining key
// takes over.
func (db *DB) DeleteDKIMKey(ctx context.Context, domain, selector string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		id, err := domainID(ctx, tx, domain)
		if err != nil {
			return err
		}
		var active bool
		if err := tx.QueryRowContext(ctx, `SELECT active FROM dkim_keys WHERE domain_id = ? AND selector = ?`, id, selector).Scan(&active); err != nil {
			return err
		}
		if err := execOne(ctx, tx, `DELETE FROM dkim_keys WHERE domain_id = ? AND selector = ?`, id, selector); err != nil {
			return err
		}
		if !active {
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE dkim_keys SET active = 1 WHERE domain_id = ?1 AND selector =
			   (SELECT selector FROM dkim_keys WHERE domain_id = ?1 ORDER BY created_at DESC, selector DESC LIMIT 1)`, id)
		return err
	})
	return wrap(err, "delete dkim key %q of %q", selector, domain)
}
