package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"mailport/internal/store"
)

const mailboxColumns = `id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq,
	subscribed, messages, unseen, size`

func scanMailbox(row interface{ Scan(...any) error }) (store.Mailbox, error) {
	var m store.Mailbox
	var uidvalidity, uidnext, modseq, messages, unseen int64
	err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &uidvalidity, &uidnext, &modseq,
		&m.Subscribed, &messages, &unseen, &m.Size)
	m.UIDValidity = uint32(uidvalidity)
	m.UIDNext = uint32(uidnext)
	m.HighestModSeq = uint64(modseq)
	m.Messages = uint32(messages)
	m.Unseen = uint32(unseen)
	return m, err
}

// nextUIDValidity hands out a UIDVALIDITY that no mailbox has had before:
// the larger of the current Unix time and one more than the last value
// handed out. The time part keeps values increasing even if the database
// is recreated; the counter keeps them unique when many mailboxes are
// created in one second or the clock steps back (RFC 9051 section 2.3.1.1
// forbids reusing a UIDVALIDITY for a mailbox name with different UIDs).
func nextUIDValidity(ctx context.Context, tx *sql.Tx) (uint32, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'uidvalidity'`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read uidvalidity counter: %w", err)
	}
	v := max(last+1, time.Now().Unix())
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("uidvalidity counter exhausted")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'uidvalidity'`, v); err != nil {
		return 0, fmt.Errorf("write uidvalidity counter: %w", err)
	}
	return uint32(v), nil
}

// createMailbox inserts a mailbox inside tx. Folders made with an account
// are subscribed so that clients showing only subscribed folders see them.
func createMailbox(ctx context.Context, tx *sql.Tx, accountID int64, spec store.MailboxSpec, subscribed bool) (store.Mailbox, error) {
	if spec.Name == "" {
		return store.Mailbox{}, fmt.Errorf("empty mailbox name")
	}
	uidvalidity, err := nextUIDValidity(ctx, tx)
	if err != nil {
		return store.Mailbox{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, subscribed)
		VALUES (?, ?, ?, ?, ?)`, accountID, spec.Name, spec.SpecialUse, int64(uidvalidity), boolInt(subscribed))
	if err != nil {
		return store.Mailbox{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return store.Mailbox{}, err
	}
	return store.Mailbox{
		ID:            id,
		AccountID:     accountID,
		Name:          spec.Name,
		SpecialUse:    spec.SpecialUse,
		UIDValidity:   uidvalidity,
		UIDNext:       1,
		HighestModSeq: 1,
		Subscribed:    subscribed,
	}, nil
}

// CreateMailbox creates a folder (not subscribed; RFC 9051 section 6.3.4
// leaves subscribing to the client). It does not create parents.
func (db *DB) CreateMailbox(ctx context.Context, accountID int64, spec store.MailboxSpec) (store.Mailbox, error) {
	var m store.Mailbox
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = createMailbox(ctx, tx, accountID, spec, false)
		return err
	})
	if err != nil {
		return store.Mailbox{}, wrap(err, "create mailbox %q for account %d", spec.Name, accountID)
	}
	return m, nil
}

// GetMailbox returns the account's folder called name.
func (db *DB) GetMailbox(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	st, err := db.reads.prepared(getMailboxSQL)
	if err != nil {
		return store.Mailbox{}, wrap(err, "get mailbox %q of account %d", name, accountID)
	}
	m, err := scanMailbox(st.QueryRowContext(ctx, accountID, name))
	if err != nil {
		return store.Mailbox{}, wrap(err, "get mailbox %q of account %d", name, accountID)
	}
	return m, nil
}

// GetMailboxByID returns the folder with id.
func (db *DB) GetMailboxByID(ctx context.Context, id int64) (store.Mailbox, error) {
	m, err := scanMailbox(db.r.QueryRowContext(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id = ?`, id))
	if err != nil {
		return store.Mailbox{}, wrap(err, "get mailbox %d", id)
	}
	return m, nil
}

// ListMailboxes returns the account's folders ordered by name. An account
// without folders (or an unknown account) gives an empty list.
func (db *DB) ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+mailboxColumns+` FROM mailboxes WHERE account_id = ? ORDER BY name`, accountID)
	if err != nil {
		return nil, wrap(err, "list mailboxes of account %d", accountID)
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, wrap(err, "list mailboxes of account %d", accountID)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list mailboxes of account %d", accountID)
	}
	return out, nil
}

// RenameMailbox renames oldName to newName and every oldName/... to
// newName/..., keeping ids and so UIDVALIDITY and messages (RFC 9051
// section 6.3.6). ErrNotFound if oldName does not exist, ErrExists if any
// resulting name is taken.
func (db *DB) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if newName == "" {
			return fmt.Errorf("empty mailbox name")
		}
		// RFC 9051 section 6.3.6: renaming to an existing name is an
		// error, even when that mailbox would itself move ("a" to "a/b").
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = ? AND name = ?)`,
			accountID, newName).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: %q", store.ErrExists, newName)
		}
		// Every name below oldName/ sorts in [oldName+"/", oldName+"0")
		// because '0' follows '/' in byte order; the range uses the
		// (account_id, name) index.
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM mailboxes WHERE account_id = ?
			AND (name = ? OR (name >= ? AND name < ?))`, accountID, oldName, oldName+"/", oldName+"0")
		if err != nil {
			return err
		}
		type rename struct {
			id   int64
			name string
		}
		var todo []rename
		found := false
		for rows.Next() {
			var r rename
			if err := rows.Scan(&r.id, &r.name); err != nil {
				rows.Close()
				return err
			}
			found = found || r.name == oldName
			r.name = newName + r.name[len(oldName):]
			todo = append(todo, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		// Two passes: first move every renamed row to a name no real
		// mailbox can have, then to its final name. Renaming "a" to
		// "a/b" would otherwise collide midway with rows that are
		// themselves about to move; what collides in the second pass is
		// a real conflict with a mailbox outside the renamed set.
		stmt, err := tx.PrepareContext(ctx, `UPDATE mailboxes SET name = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range todo {
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("\x00rename\x00%d", r.id), r.id); err != nil {
				return err
			}
		}
		for _, r := range todo {
			if _, err := stmt.ExecContext(ctx, r.name, r.id); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "rename mailbox %q to %q for account %d", oldName, newName, accountID)
}

// DeleteMailbox removes the folder and its messages and tombstones, lowers
// the account's usage and returns the blobs no message refers to any more.
// Child folders are left alone; IMAP decides what to do with them.
func (db *DB) DeleteMailbox(ctx context.Context, id int64) ([]string, error) {
	var blobs []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		var accountID, size int64
		if err := tx.QueryRowContext(ctx, `SELECT account_id, size FROM mailboxes WHERE id = ?`, id).
			Scan(&accountID, &size); err != nil {
			return err
		}
		var err error
		blobs, err = deleteWithBlobs(ctx, tx, `SELECT blob_id FROM messages WHERE mailbox_id = ?`,
			`DELETE FROM mailboxes WHERE id = ?`, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?`, size, accountID)
		return err
	})
	if err != nil {
		return nil, wrap(err, "delete mailbox %d", id)
	}
	return blobs, nil
}

// SetSubscribed sets the folder's subscription (RFC 9051 sections 6.3.7,
// 6.3.8).
func (db *DB) SetSubscribed(ctx context.Context, id int64, subscribed bool) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE mailboxes SET subscribed = ? WHERE id = ?`, boolInt(subscribed), id)
	})
	return wrap(err, "set subscribed of mailbox %d", id)
}
