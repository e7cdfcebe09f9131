package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"mailport/internal/store"
)

// maxImportObjects bounds one batch, so one call holds one write
// transaction for a bounded time (the directory layer's own row limit is
// below it).
const maxImportObjects = 1000000

// Import creates the whole batch in one write transaction; see
// store.ImportStore. The statements are those of the single-object
// methods, run inside the batch's transaction so that a failure anywhere
// leaves nothing behind.
func (db *DB) Import(ctx context.Context, b store.ImportBatch) error {
	n := len(b.Domains) + len(b.DomainAliases) + len(b.RelayDomains) + len(b.Accounts) +
		len(b.Aliases) + len(b.SenderAddresses) + len(b.Forwards)
	if n > maxImportObjects {
		return fmt.Errorf("sqlite: import: %d objects, at most %d per batch", n, maxImportObjects)
	}
	for _, r := range b.RelayDomains {
		if len(r.Recipients) > maxRelayRecipients {
			return fmt.Errorf("sqlite: import: relay domain %q: more than %d recipients", r.Name, maxRelayRecipients)
		}
	}
	for _, a := range b.Aliases {
		if len(a.Targets) == 0 || len(a.Targets) > maxAliasTargets {
			return fmt.Errorf("sqlite: import: alias %q: between 1 and %d targets", a.Address, maxAliasTargets)
		}
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		now := nowNanos()
		for _, d := range b.Domains {
			if err := importDomain(ctx, tx, d, now, b.AssignTo); err != nil {
				return fmt.Errorf("domain %q: %w", d.Name, err)
			}
		}
		for _, da := range b.DomainAliases {
			if err := importDomainAlias(ctx, tx, da); err != nil {
				return fmt.Errorf("domain alias %q: %w", da.Alias, err)
			}
		}
		for _, r := range b.RelayDomains {
			if err := importRelayDomain(ctx, tx, r, now); err != nil {
				return fmt.Errorf("relay domain %q: %w", r.Name, err)
			}
		}
		for _, a := range b.Accounts {
			if err := importAccount(ctx, tx, a, b.Folders, now); err != nil {
				return fmt.Errorf("account %q: %w", a.Address, err)
			}
		}
		for _, a := range b.Aliases {
			if err := importAlias(ctx, tx, a); err != nil {
				return fmt.Errorf("alias %q: %w", a.Address, err)
			}
		}
		for _, s := range b.SenderAddresses {
			id, err := accountID(ctx, tx, s.Mailbox)
			if err != nil {
				return fmt.Errorf("sender address %q of %q: %w", s.Address, s.Mailbox, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sender_addresses (account_id, address) VALUES (?, ?)`, id, s.Address); err != nil {
				return fmt.Errorf("sender address %q of %q: %w", s.Address, s.Mailbox, mapErr(err))
			}
		}
		for _, f := range b.Forwards {
			id, err := accountID(ctx, tx, f.Mailbox)
			if err != nil {
				return fmt.Errorf("forward %q of %q: %w", f.Target, f.Mailbox, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO forwards (account_id, target, keep_copy) VALUES (?, ?, ?)`,
				id, f.Target, boolInt(f.KeepCopy)); err != nil {
				return fmt.Errorf("forward %q of %q: %w", f.Target, f.Mailbox, mapErr(err))
			}
		}
		return nil
	})
	return wrap(err, "import")
}

func accountID(ctx context.Context, tx *sql.Tx, address string) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE address = ?`, address).Scan(&id); err != nil {
		return 0, mapErr(err)
	}
	return id, nil
}

func importDomain(ctx context.Context, tx *sql.Tx, d store.Domain, now, assignTo int64) error {
	if err := ensureNoDomainAlias(ctx, tx, d.Name); err != nil {
		return err
	}
	if err := ensureNoRelayDomain(ctx, tx, d.Name); err != nil {
		return err
	}
	port := d.SDRPort
	if d.SDRHost == "" {
		port = 0
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO domains (name, created_at, sdr_host, sdr_port) VALUES (?, ?, ?, ?)`,
		d.Name, now, d.SDRHost, port); err != nil {
		return mapErr(err)
	}
	if assignTo != 0 {
		if err := addAdminDomain(ctx, tx, assignTo, d.Name); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func importDomainAlias(ctx context.Context, tx *sql.Tx, da store.DomainAlias) error {
	if err := ensureNoHostedDomain(ctx, tx, da.Alias); err != nil {
		return err
	}
	if err := ensureNoRelayDomain(ctx, tx, da.Alias); err != nil {
		return err
	}
	id, err := domainID(ctx, tx, da.Domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", da.Domain, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO domain_aliases (alias, domain_id) VALUES (?, ?)`, da.Alias, id)
	return mapErr(err)
}

func importRelayDomain(ctx context.Context, tx *sql.Tx, r store.RelayDomain, now int64) error {
	if err := ensureNoHostedDomain(ctx, tx, r.Name); err != nil {
		return err
	}
	if err := ensureNoDomainAlias(ctx, tx, r.Name); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO relay_domains (name, host, port, created_at) VALUES (?, ?, ?, ?)`,
		r.Name, r.Host, r.Port, now); err != nil {
		return mapErr(err)
	}
	for _, a := range r.Recipients {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO relay_recipients (relay, address) VALUES (?, ?)`, r.Name, a); err != nil {
			return err
		}
	}
	return nil
}

func importAccount(ctx context.Context, tx *sql.Tx, a store.Account, folders []store.MailboxSpec, now int64) error {
	d := aliasDomain(a.Address)
	if d == "" {
		return fmt.Errorf("%w: a mailbox address needs a domain", store.ErrNotFound)
	}
	did, err := domainID(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("domain %q: %w", d, err)
	}
	if a.Role == "" {
		a.Role = store.RoleUser
	}
	created := now
	if !a.CreatedAt.IsZero() {
		created = a.CreatedAt.UnixNano()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts
		(address, domain_id, display_name, password_hash, quota_bytes, used_bytes, enabled, role, created_at, scram_sha256)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
		a.Address, did, a.DisplayName, a.PasswordHash, a.QuotaBytes, boolInt(a.Enabled), string(a.Role), created, a.SCRAMSHA256)
	if err != nil {
		return mapErr(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, f := range folders {
		if _, err := createMailbox(ctx, tx, id, f, true); err != nil {
			return fmt.Errorf("folder %q: %w", f.Name, mapErr(err))
		}
	}
	return nil
}

func importAlias(ctx context.Context, tx *sql.Tx, a store.Alias) error {
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
		return mapErr(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(a.Targets))
	pos := 0
	for _, t := range a.Targets {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO alias_targets (alias_id, position, target) VALUES (?, ?, ?)`, id, pos, t); err != nil {
			return err
		}
		pos++
	}
	return nil
}

// ReplaceCredentials swaps the hash and the SCRAM credential only while
// the hash is still oldHash.
func (db *DB) ReplaceCredentials(ctx context.Context, id int64, oldHash, newHash, newSCRAM string) (bool, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, scram_sha256 = ? WHERE id = ? AND password_hash = ?`,
			newHash, newSCRAM, id, oldHash)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, wrap(err, "replace credentials of account %d", id)
	}
	return n == 1, nil
}

// InstanceSecret returns the random key migration 8 made for name.
func (db *DB) InstanceSecret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.r.QueryRowContext(ctx, `SELECT value FROM instance_secrets WHERE name = ?`, name).Scan(&v)
	if err != nil {
		return nil, wrap(err, "instance secret %q", name)
	}
	return v, nil
}
