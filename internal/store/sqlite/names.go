package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailport/internal/domainname"
)

// nameColumn is a column that holds domain names (or host names, which
// are domain names or IP addresses) or addresses.
type nameColumn struct {
	table, column string
	// address: the values are addresses, whose domain part is rewritten.
	address bool
	// key: the column names the row (a domain, a mailbox): two rows whose
	// values become one are two things that cannot be merged. In the
	// other columns such rows say one thing twice (a forward to the same
	// address in both forms), and the second is dropped.
	key bool
}

// nameColumns are every column holding names, parents before the
// children that refer to them by name (relay_recipients.relay).
var nameColumns = []nameColumn{
	{table: "domains", column: "name", key: true},
	{table: "domains", column: "sdr_host"},
	{table: "domain_aliases", column: "alias", key: true},
	{table: "relay_domains", column: "name", key: true},
	{table: "relay_domains", column: "host"},
	{table: "relay_recipients", column: "relay"},
	{table: "relay_recipients", column: "address", address: true},
	{table: "accounts", column: "address", address: true, key: true},
	{table: "aliases", column: "address", address: true, key: true},
	{table: "alias_targets", column: "target", address: true},
	{table: "sender_addresses", column: "address", address: true},
	{table: "forwards", column: "target", address: true},
	// The DomainAdmin's view of the audit log selects by this column.
	{table: "audit_log", column: "domain"},
}

// canonicalNames is the Go step of schema version 7: it rewrites every
// stored domain name, and the domain of every stored address, into
// domainname.Normalize's form, so that the names earlier versions kept as
// written are found by lookups that now use that form. A value that does
// not normalize (an IP address as a host, an admin login without "@") is
// kept. Two hosted domains, domain aliases, relay domains, mailboxes or
// aliases that turn out to be one name (bücher.example and
// xn--bcher-kva.example both added) are refused with an error naming
// them, since merging them would mean choosing whose mail and settings
// win; the transaction is then rolled back and the file stays at the
// previous version, for the previous mailport to remove one of them.
func canonicalNames(ctx context.Context, tx *sql.Tx) error {
	// The rename of a relay domain reaches relay_recipients.relay a
	// statement later; the foreign key is checked at commit (SQLite
	// resets this pragma when the transaction ends).
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return fmt.Errorf("defer foreign keys: %w", err)
	}
	for _, c := range nameColumns {
		if err := canonicalColumn(ctx, tx, c); err != nil {
			return err
		}
	}
	return sameNameTwice(ctx, tx)
}

// canonicalColumn rewrites the values of one column.
func canonicalColumn(ctx context.Context, tx *sql.Tx, c nameColumn) error {
	changes, err := columnChanges(ctx, tx, c)
	if err != nil {
		return err
	}
	for old, canon := range changes {
		if c.key {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table+` WHERE `+c.column+` = ?`, canon).Scan(&n); err != nil {
				return fmt.Errorf("%s.%s: %w", c.table, c.column, err)
			}
			if n > 0 {
				return fmt.Errorf("%s.%s: %q and %q are one name (IDNA, RFC 5891); remove one of them with the previous mailport version", c.table, c.column, old, canon)
			}
		}
		// OR IGNORE leaves the rows that would duplicate a row already
		// holding canon (the same target twice); they go next.
		if _, err := tx.ExecContext(ctx, `UPDATE OR IGNORE `+c.table+` SET `+c.column+` = ? WHERE `+c.column+` = ?`, canon, old); err != nil {
			return fmt.Errorf("%s.%s: %q to %q: %w", c.table, c.column, old, canon, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+c.table+` WHERE `+c.column+` = ?`, old); err != nil {
			return fmt.Errorf("%s.%s: drop duplicates of %q: %w", c.table, c.column, canon, err)
		}
	}
	return nil
}

// columnChanges maps each value of a column that is not in canonical form
// to its canonical form.
func columnChanges(ctx context.Context, tx *sql.Tx, c nameColumn) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT `+c.column+` FROM `+c.table)
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
	}
	defer rows.Close()
	changes := map[string]string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
		}
		canon := v
		if c.address {
			canon = domainname.InAddress(v)
		} else if d, err := domainname.Normalize(v); err == nil {
			canon = d
		}
		if canon != v {
			changes[v] = canon
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
	}
	return changes, nil
}

// sameNameTwice refuses a name that became both a hosted domain and a
// domain alias or relay domain, or an address both a mailbox and an
// alias: the directory keeps each name in one of them.
func sameNameTwice(ctx context.Context, tx *sql.Tx) error {
	var name string
	err := tx.QueryRowContext(ctx, `
		SELECT name FROM domains WHERE name IN (SELECT alias FROM domain_aliases UNION ALL SELECT name FROM relay_domains)
		UNION ALL SELECT alias FROM domain_aliases WHERE alias IN (SELECT name FROM relay_domains)
		UNION ALL SELECT address FROM accounts WHERE address IN (SELECT address FROM aliases)
		LIMIT 1`).Scan(&name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("names used twice: %w", err)
	}
	return fmt.Errorf("%q names two things once written in A-labels (IDNA, RFC 5891); remove one of them with the previous mailport version", name)
}
