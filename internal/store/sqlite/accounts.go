package sqlite

import (
	"context"
	"database/sql"

	"mailport/internal/store"
)

const accountColumns = `id, address, COALESCE(domain_id, 0), display_name, password_hash,
	quota_bytes, used_bytes, enabled, role, created_at, scram_sha256`

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var role string
	var created int64
	err := row.Scan(&a.ID, &a.Address, &a.DomainID, &a.DisplayName, &a.PasswordHash,
		&a.QuotaBytes, &a.UsedBytes, &a.Enabled, &role, &created, &a.SCRAMSHA256)
	a.Role = store.Role(role)
	a.CreatedAt = fromNanos(created)
	return a, err
}

// CreateAccount inserts the account and its folders in one transaction.
// UsedBytes starts at 0 whatever is given; an empty Role means RoleUser; a
// zero CreatedAt means now. DomainID 0 is an account without a domain; a
// DomainID that does not exist is ErrNotFound.
func (db *DB) CreateAccount(ctx context.Context, a store.Account, folders []store.MailboxSpec) (store.Account, error) {
	if a.Role == "" {
		a.Role = store.RoleUser
	}
	a.UsedBytes = 0
	created := toNanos(a.CreatedAt)
	a.CreatedAt = fromNanos(created)
	var domainID any
	if a.DomainID != 0 {
		domainID = a.DomainID
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts
			(address, domain_id, display_name, password_hash, quota_bytes, used_bytes, enabled, role, created_at, scram_sha256)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			a.Address, domainID, a.DisplayName, a.PasswordHash, a.QuotaBytes,
			boolInt(a.Enabled), string(a.Role), created, a.SCRAMSHA256)
		if err != nil {
			return err
		}
		if a.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, f := range folders {
			if _, err := createMailbox(ctx, tx, a.ID, f, true); err != nil {
				return wrap(err, "create folder %q", f.Name)
			}
		}
		return nil
	})
	if err != nil {
		return store.Account{}, wrap(err, "create account %q", a.Address)
	}
	return a, nil
}

// GetAccount returns the account with id.
func (db *DB) GetAccount(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return store.Account{}, wrap(err, "get account %d", id)
	}
	return a, nil
}

// GetAccountByAddress returns the account whose login is address.
func (db *DB) GetAccountByAddress(ctx context.Context, address string) (store.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE address = ?`, address))
	if err != nil {
		return store.Account{}, wrap(err, "get account %q", address)
	}
	return a, nil
}

// ListAccounts lists the accounts of domain ordered by address, or all
// accounts when domain is "". An unknown domain is ErrNotFound.
func (db *DB) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	var out []store.Account
	err := db.read(ctx, func(tx *sql.Tx) error {
		query := `SELECT ` + accountColumns + ` FROM accounts ORDER BY address`
		var args []any
		if domain != "" {
			id, err := domainID(ctx, tx, domain)
			if err != nil {
				return err
			}
			query = `SELECT ` + accountColumns + ` FROM accounts WHERE domain_id = ? ORDER BY address`
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(err, "list accounts of %q", domain)
	}
	return out, nil
}

func domainID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM domains WHERE name = ?`, name).Scan(&id); err != nil {
		return 0, mapErr(err)
	}
	return id, nil
}

// UpdateAccount writes DisplayName, PasswordHash, SCRAMSHA256, QuotaBytes,
// Enabled and Role of the account a.ID. Address, domain and usage are not
// changed. A new PasswordHash that comes with the stored SCRAMSHA256 (a
// caller that set the hash alone) clears the SCRAM credential: it belongs
// to the old password, which must stop working over SCRAM too.
func (db *DB) UpdateAccount(ctx context.Context, a store.Account) error {
	if a.Role == "" {
		a.Role = store.RoleUser
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		// SQLite evaluates every SET expression against the old row.
		return execOne(ctx, tx, `UPDATE accounts SET display_name = ?1, password_hash = ?2,
			scram_sha256 = CASE WHEN scram_sha256 <> ?3 OR password_hash = ?2 THEN ?3 ELSE '' END,
			quota_bytes = ?4, enabled = ?5, role = ?6 WHERE id = ?7`,
			a.DisplayName, a.PasswordHash, a.SCRAMSHA256, a.QuotaBytes, boolInt(a.Enabled), string(a.Role), a.ID)
	})
	return wrap(err, "update account %d", a.ID)
}

// DeleteAccount removes the account with its mailboxes, messages, forwards
// and sender addresses, and returns the blobs of its messages.
func (db *DB) DeleteAccount(ctx context.Context, id int64) ([]string, error) {
	var blobs []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		blobs, err = deleteWithBlobs(ctx, tx,
			`SELECT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?`,
			`DELETE FROM accounts WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, wrap(err, "delete account %d", id)
	}
	return blobs, nil
}
