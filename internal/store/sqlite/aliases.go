package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"mailport/internal/store"
)

// maxAliasTargets bounds one alias's expansion (a mailing-list sized alias
// is fine; an unbounded one is a way to make one message into millions).
const maxAliasTargets = 10000

// aliasDomain returns the domain part of an alias address ("" if none).
func aliasDomain(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return ""
}

// aliasTargets drops duplicate targets, keeping the first of each, and
// checks the count.
func aliasTargets(address string, targets []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sqlite: alias %q: no targets", address)
	}
	if len(out) > maxAliasTargets {
		return nil, fmt.Errorf("sqlite: alias %q: more than %d targets", address, maxAliasTargets)
	}
	return out, nil
}

// insertTargets writes an alias's targets in order.
func insertTargets(ctx context.Context, tx *sql.Tx, aliasID int64, targets []string) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO alias_targets (alias_id, position, target) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, t := range targets {
		if _, err := stmt.ExecContext(ctx, aliasID, i, t); err != nil {
			return err
		}
	}
	return nil
}

// CreateAlias stores an alias with its targets in the given order
// (duplicates dropped). An address with "@" must belong to a hosted domain
// (ErrNotFound otherwise), which ties the alias's lifetime to the domain's.
func (db *DB) CreateAlias(ctx context.Context, a store.Alias) (store.Alias, error) {
	targets, err := aliasTargets(a.Address, a.Targets)
	if err != nil {
		return store.Alias{}, err
	}
	a.Targets = targets
	err = db.write(ctx, func(tx *sql.Tx) error {
		var domain any
		if d := aliasDomain(a.Address); d != "" {
			id, err := domainID(ctx, tx, d)
			if err != nil {
				return fmt.Errorf("domain %q: %w", d, err)
			}
			domain = id
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO aliases (address, domain_id) VALUES (?, ?)`, a.Address, domain)
		if err != nil {
			return err
		}
		if a.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertTargets(ctx, tx, a.ID, targets)
	})
	if err != nil {
		return store.Alias{}, wrap(err, "create alias %q", a.Address)
	}
	return a, nil
}

// SetAliasTargets replaces the targets of the alias for address.
func (db *DB) SetAliasTargets(ctx context.Context, address string, targets []string) (store.Alias, error) {
	targets, err := aliasTargets(address, targets)
	if err != nil {
		return store.Alias{}, err
	}
	a := store.Alias{Address: address, Targets: targets}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM aliases WHERE address = ?`, address).Scan(&a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alias_targets WHERE alias_id = ?`, a.ID); err != nil {
			return err
		}
		return insertTargets(ctx, tx, a.ID, targets)
	})
	if err != nil {
		return store.Alias{}, wrap(err, "set targets of alias %q", address)
	}
	return a, nil
}

// GetAlias returns the alias for address with its targets.
func (db *DB) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	var out []store.Alias
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAliases(ctx, tx, `WHERE a.address = ?`, address)
		return err
	})
	if err == nil && len(out) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Alias{}, wrap(err, "get alias %q", address)
	}
	return out[0], nil
}

// ListAliases lists the aliases of a hosted domain ordered by address, or
// all aliases when domain is "". An unknown domain is ErrNotFound.
func (db *DB) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	var out []store.Alias
	err := db.read(ctx, func(tx *sql.Tx) error {
		if domain == "" {
			var err error
			out, err = queryAliases(ctx, tx, ``)
			return err
		}
		id, err := domainID(ctx, tx, domain)
		if err != nil {
			return err
		}
		out, err = queryAliases(ctx, tx, `WHERE a.domain_id = ?`, id)
		return err
	})
	if err != nil {
		return nil, wrap(err, "list aliases of %q", domain)
	}
	return out, nil
}

// queryAliases reads the aliases matching where with their targets, in
// address order.
func queryAliases(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]store.Alias, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.address, t.target FROM aliases a
		JOIN alias_targets t ON t.alias_id = a.id `+where+`
		ORDER BY a.address, t.position`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var id int64
		var address, target string
		if err := rows.Scan(&id, &address, &target); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, store.Alias{ID: id, Address: address})
		}
		last := &out[len(out)-1]
		last.Targets = append(last.Targets, target)
	}
	return out, rows.Err()
}

// DeleteAlias removes the alias for address and its targets.
func (db *DB) DeleteAlias(ctx context.Context, address string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM aliases WHERE address = ?`, address)
	})
	return wrap(err, "delete alias %q", address)
}

// AddSenderAddress lets an account send as another address. The pair must
// be new (ErrExists) and the account must exist (ErrNotFound).
func (db *DB) AddSenderAddress(ctx context.Context, s store.SenderAddress) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sender_addresses (account_id, address) VALUES (?, ?)`,
			s.AccountID, s.Address)
		return err
	})
	return wrap(err, "add sender address %q to account %d", s.Address, s.AccountID)
}

// ListSenderAddresses returns the account's extra sender addresses ordered
// by address.
func (db *DB) ListSenderAddresses(ctx context.Context, accountID int64) ([]store.SenderAddress, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT account_id, address FROM sender_addresses WHERE account_id = ? ORDER BY address`, accountID)
	if err != nil {
		return nil, wrap(err, "list sender addresses of account %d", accountID)
	}
	defer rows.Close()
	var out []store.SenderAddress
	for rows.Next() {
		var s store.SenderAddress
		if err := rows.Scan(&s.AccountID, &s.Address); err != nil {
			return nil, wrap(err, "list sender addresses of account %d", accountID)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list sender addresses of account %d", accountID)
	}
	return out, nil
}

// RemoveSenderAddress takes a sender address away from an account.
func (db *DB) RemoveSenderAddress(ctx context.Context, s store.SenderAddress) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM sender_addresses WHERE account_id = ? AND address = ?`,
			s.AccountID, s.Address)
	})
	return wrap(err, "remove sender address %q from account %d", s.Address, s.AccountID)
}

// AddForward adds a forward; the same target twice for one account is
// ErrExists, an unknown account ErrNotFound.
func (db *DB) AddForward(ctx context.Context, f store.Forward) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO forwards (account_id, target, keep_copy) VALUES (?, ?, ?)`,
			f.AccountID, f.Target, boolInt(f.KeepCopy))
		return err
	})
	return wrap(err, "add forward to %q for account %d", f.Target, f.AccountID)
}

// ListForwards returns the account's forwards ordered by target.
func (db *DB) ListForwards(ctx context.Context, accountID int64) ([]store.Forward, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT account_id, target, keep_copy FROM forwards WHERE account_id = ? ORDER BY target`, accountID)
	if err != nil {
		return nil, wrap(err, "list forwards of account %d", accountID)
	}
	defer rows.Close()
	var out []store.Forward
	for rows.Next() {
		var f store.Forward
		if err := rows.Scan(&f.AccountID, &f.Target, &f.KeepCopy); err != nil {
			return nil, wrap(err, "list forwards of account %d", accountID)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list forwards of account %d", accountID)
	}
	return out, nil
}

// RemoveForward removes the account's forward to target.
func (db *DB) RemoveForward(ctx context.Context, accountID int64, target string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM forwards WHERE account_id = ? AND target = ?`, accountID, target)
	})
	return wrap(err, "remove forward to %q for account %d", target, accountID)
}
