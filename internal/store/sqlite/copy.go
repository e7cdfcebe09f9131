package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"mailport/internal/store"
)

// CopyMessages copies the messages of src with the given UIDs into dst, a
// mailbox of the same account (src itself included), in one transaction.
// UIDs not in src are skipped, as IMAP COPY of a UID set with gaps needs
// (RFC 9051 section 6.4.7). The copies get consecutive new UIDs of dst in
// source UID order, each with its own new MODSEQ, and keep the flags,
// internal date, size, blob, envelope, structure and search text of their
// source (RFC 9051 section 6.4.7: flags and internal date SHOULD be
// preserved). Blobs are shared, so the copy takes no disk space for the
// message itself, but it counts against the quota like any message: if the
// whole copy does not fit, ErrOverQuota and nothing is copied. A dst of
// another account is ErrNotFound: for the account copying, it does not
// exist. The pairs are for COPYUID (RFC 4315 section 3).
func (db *DB) CopyMessages(ctx context.Context, src int64, uids []uint32, dst int64) ([]store.UIDPair, error) {
	uids = uniqueUIDs(uids)
	var pairs []store.UIDPair
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		pairs, _, err = copyTx(ctx, tx, src, uids, dst, true)
		return err
	})
	if err != nil {
		return nil, wrap(err, "copy %d messages from mailbox %d to %d", len(uids), src, dst)
	}
	return pairs, nil
}

// MoveMessages copies like CopyMessages and expunges the sources in the
// same transaction, so no client can see both or neither (RFC 6851
// section 3.3). The sources leave tombstones in src with new MODSEQs for
// QRESYNC, as Expunge does. Usage does not change overall, so there is no
// quota check: a move must be possible even when the account is full (it
// is how a user makes room, into Trash). The blobs stay used by the
// copies.
func (db *DB) MoveMessages(ctx context.Context, src int64, uids []uint32, dst int64) ([]store.UIDPair, error) {
	uids = uniqueUIDs(uids)
	var pairs []store.UIDPair
	err := db.write(ctx, func(tx *sql.Tx) error {
		var moved []uint32
		var err error
		pairs, moved, err = copyTx(ctx, tx, src, uids, dst, false)
		if err != nil || len(moved) == 0 {
			return err
		}
		candidates, err := expungeTx(ctx, tx, src, moved)
		if err != nil {
			return err
		}
		if len(candidates) != len(moved) {
			// Nothing else writes inside this transaction, so the
			// messages just copied must all still be there.
			return fmt.Errorf("expunged %d of %d moved messages", len(candidates), len(moved))
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "move %d messages from mailbox %d to %d", len(uids), src, dst)
	}
	return pairs, nil
}

// copySource is a message about to be copied.
type copySource struct {
	id, size, bits int64
	uid            uint32
}

// copyTx copies the messages of src with the given UIDs (sorted without
// duplicates) to dst inside tx, checking the quota if asked, and returns
// the UID pairs and the source UIDs that were found.
func copyTx(ctx context.Context, tx *sql.Tx, src int64, uids []uint32, dst int64, checkQuota bool) ([]store.UIDPair, []uint32, error) {
	var srcAccount int64
	if err := tx.QueryRowContext(ctx, `SELECT account_id FROM mailboxes WHERE id = ?`, src).Scan(&srcAccount); err != nil {
		return nil, nil, fmt.Errorf("source mailbox: %w", mapErr(err))
	}
	var accountID, uidnext, modseq, messages, unseen, size int64
	if err := tx.QueryRowContext(ctx, `SELECT account_id, uidnext, highestmodseq, messages, unseen, size
		FROM mailboxes WHERE id = ?`, dst).Scan(&accountID, &uidnext, &modseq, &messages, &unseen, &size); err != nil {
		return nil, nil, fmt.Errorf("destination mailbox: %w", mapErr(err))
	}
	if accountID != srcAccount {
		return nil, nil, fmt.Errorf("%w: destination mailbox %d belongs to another account", store.ErrNotFound, dst)
	}

	// First find the sources, so that the quota and UID space are checked
	// before anything is written, and so that copies into src itself are
	// not copied again.
	get, err := tx.PrepareContext(ctx, `SELECT id, size, flags FROM messages WHERE mailbox_id = ? AND uid = ?`)
	if err != nil {
		return nil, nil, err
	}
	defer get.Close()
	var sources []copySource
	var total, addUnseen int64
	for _, uid := range uids {
		s := copySource{uid: uid}
		err := get.QueryRowContext(ctx, src, int64(uid)).Scan(&s.id, &s.size, &s.bits)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		sources = append(sources, s)
		total += s.size
		if s.bits&bitSeen == 0 {
			addUnseen++
		}
	}
	if len(sources) == 0 {
		return nil, nil, nil
	}
	// RFC 9051 section 2.3.1.1: UIDs are 32-bit and UIDNEXT must still
	// fit after the last one (see appender.append).
	if uidnext+int64(len(sources)) > math.MaxUint32 {
		return nil, nil, fmt.Errorf("destination mailbox has %d UIDs left, copy needs %d",
			max(math.MaxUint32-uidnext, 0), len(sources))
	}
	if checkQuota {
		var quota, used int64
		if err := tx.QueryRowContext(ctx, `SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?`, accountID).
			Scan(&quota, &used); err != nil {
			return nil, nil, fmt.Errorf("account %d: %w", accountID, err)
		}
		if quota > 0 && used+total > quota {
			return nil, nil, fmt.Errorf("%w: %d of %d bytes used, copy is %d", store.ErrOverQuota, used, quota, total)
		}
	}

	// INSERT ... SELECT copies the large columns (envelope, structure,
	// text) inside SQLite instead of through Go memory.
	insert, err := tx.PrepareContext(ctx, `INSERT INTO messages
		(mailbox_id, uid, modseq, flags, keywords, internaldate, internaldate_tz, size, blob_id, envelope, structure,
		 header_size, has_text)
		SELECT ?, ?, ?, flags, keywords, internaldate, internaldate_tz, size, blob_id, envelope, structure,
		 header_size, has_text
		FROM messages WHERE id = ?`)
	if err != nil {
		return nil, nil, err
	}
	defer insert.Close()
	insertText, err := tx.PrepareContext(ctx, `INSERT INTO message_text (message_id, header, body, field_lines)
		SELECT ?, header, body, field_lines FROM message_text WHERE message_id = ?`)
	if err != nil {
		return nil, nil, err
	}
	defer insertText.Close()
	pairs := make([]store.UIDPair, 0, len(sources))
	found := make([]uint32, 0, len(sources))
	for _, s := range sources {
		modseq++
		res, err := insert.ExecContext(ctx, dst, uidnext, modseq, s.id)
		if err != nil {
			return nil, nil, err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, nil, err
		}
		if _, err := insertText.ExecContext(ctx, id, s.id); err != nil {
			return nil, nil, err
		}
		pairs = append(pairs, store.UIDPair{Src: s.uid, Dst: uint32(uidnext)})
		found = append(found, s.uid)
		uidnext++
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ?,
		messages = ?, unseen = ?, size = ? WHERE id = ?`,
		uidnext, modseq, messages+int64(len(sources)), unseen+addUnseen, size+total, dst); err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?`,
		total, accountID); err != nil {
		return nil, nil, err
	}
	return pairs, found, nil
}
