package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"mailport/internal/store"
)

// zones caches one *time.Location per UTC offset so that decoding 100,000
// internal dates does not allocate 100,000 zones.
var zones sync.Map // int -> *time.Location

func zoneFor(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if z, ok := zones.Load(offset); ok {
		return z.(*time.Location)
	}
	z, _ := zones.LoadOrStore(offset, time.FixedZone("", offset))
	return z.(*time.Location)
}

// The internal date keeps its UTC offset because IMAP shows it with the
// zone it was given in (RFC 9051 section 2.3.3, APPEND date-time).
func decodeDate(nanos, offset int64) time.Time {
	return time.Unix(0, nanos).In(zoneFor(int(offset)))
}

// AppendMessages stores the batch in one write transaction, so the whole
// batch costs one WAL fsync (group commit). Each message takes the next UID
// and the next MODSEQ of its mailbox. A message that cannot be stored
// (unknown mailbox, over quota, bad flags) gets its own Err; the others are
// stored. The returned error is for failures of the whole batch, in which
// case nothing was stored. The search text of each message is stored and
// indexed in the same transaction (see search.go).
func (db *DB) AppendMessages(ctx context.Context, msgs []store.NewMessage) ([]store.AppendResult, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	results := make([]store.AppendResult, len(msgs))
	err := db.write(ctx, func(tx *sql.Tx) error {
		a, err := newAppender(ctx, tx)
		if err != nil {
			return err
		}
		defer a.close()
		for i, nm := range msgs {
			m, err := a.append(ctx, nm)
			if err != nil {
				var itemErr *itemError
				if !errors.As(err, &itemErr) {
					return err
				}
				results[i].Err = fmt.Errorf("sqlite: append to mailbox %d: %w", nm.MailboxID, itemErr.err)
				continue
			}
			results[i].Message = m
		}
		return a.flush(ctx)
	})
	if err != nil {
		return nil, wrap(err, "append %d messages", len(msgs))
	}
	return results, nil
}

// itemError marks an error that fails one message of a batch only.
type itemError struct{ err error }

func (e *itemError) Error() string { return e.err.Error() }

type mailboxState struct {
	accountID int64
	uidnext   int64
	modseq    int64
	messages  int64
	unseen    int64
	size      int64
}

type accountState struct {
	quota, used int64
}

// appender holds the prepared statements and the mailbox and account
// counters of one AppendMessages transaction; counters are written back
// once per mailbox and account in flush rather than once per message.
type appender struct {
	tx                                         *sql.Tx
	getMailbox, getAccount, insert, insertText *sql.Stmt
	mailboxes                                  map[int64]*mailboxState // nil value: mailbox does not exist
	accounts                                   map[int64]*accountState
	order                                      []int64 // mailbox ids in first-use order, for a stable write order
}

func newAppender(ctx context.Context, tx *sql.Tx) (*appender, error) {
	a := &appender{tx: tx, mailboxes: map[int64]*mailboxState{}, accounts: map[int64]*accountState{}}
	var err error
	if a.getMailbox, err = tx.PrepareContext(ctx,
		`SELECT account_id, uidnext, highestmodseq, messages, unseen, size FROM mailboxes WHERE id = ?`); err != nil {
		return nil, err
	}
	if a.getAccount, err = tx.PrepareContext(ctx, `SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?`); err != nil {
		a.close()
		return nil, err
	}
	if a.insert, err = tx.PrepareContext(ctx, `INSERT INTO messages
		(mailbox_id, uid, modseq, flags, keywords, internaldate, internaldate_tz, size, blob_id, envelope, structure,
		 has_text, header_size)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, `+headerSizeSQL("?11", "?8")+`)
		RETURNING id, header_size`); err != nil {
		a.close()
		return nil, err
	}
	if a.insertText, err = tx.PrepareContext(ctx, insertTextSQL); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *appender) close() {
	for _, s := range []*sql.Stmt{a.getMailbox, a.getAccount, a.insert, a.insertText} {
		if s != nil {
			s.Close()
		}
	}
}

func (a *appender) mailbox(ctx context.Context, id int64) (*mailboxState, error) {
	if mb, ok := a.mailboxes[id]; ok {
		return mb, nil
	}
	mb := &mailboxState{}
	err := a.getMailbox.QueryRowContext(ctx, id).Scan(&mb.accountID, &mb.uidnext, &mb.modseq, &mb.messages, &mb.unseen, &mb.size)
	if errors.Is(err, sql.ErrNoRows) {
		a.mailboxes[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a.mailboxes[id] = mb
	a.order = append(a.order, id)
	if _, ok := a.accounts[mb.accountID]; !ok {
		acct := &accountState{}
		if err := a.getAccount.QueryRowContext(ctx, mb.accountID).Scan(&acct.quota, &acct.used); err != nil {
			return nil, fmt.Errorf("account %d of mailbox %d: %w", mb.accountID, id, err)
		}
		a.accounts[mb.accountID] = acct
	}
	return mb, nil
}

func (a *appender) append(ctx context.Context, nm store.NewMessage) (store.Message, error) {
	mb, err := a.mailbox(ctx, nm.MailboxID)
	if err != nil {
		return store.Message{}, err
	}
	if mb == nil {
		return store.Message{}, &itemError{store.ErrNotFound}
	}
	fs, err := parseFlags(nm.Flags)
	if err != nil {
		return store.Message{}, &itemError{err}
	}
	if nm.Size < 0 {
		return store.Message{}, &itemError{fmt.Errorf("negative size %d", nm.Size)}
	}
	if nm.BlobID == "" {
		return store.Message{}, &itemError{fmt.Errorf("empty blob id")}
	}
	if mb.uidnext >= math.MaxUint32 {
		// RFC 9051 section 2.3.1.1: UIDs and UIDNEXT are 32-bit, so the
		// last UID handed out is 2^32-2 and UIDNEXT stops at 2^32-1. A
		// mailbox that ran out needs a new UIDVALIDITY, which is a
		// rename-and-copy job above the store.
		return store.Message{}, &itemError{fmt.Errorf("mailbox has used all UIDs")}
	}
	acct := a.accounts[mb.accountID]
	if !nm.IgnoreQuota && acct.quota > 0 && acct.used+nm.Size > acct.quota {
		return store.Message{}, &itemError{fmt.Errorf("%w: %d of %d bytes used, message is %d",
			store.ErrOverQuota, acct.used, acct.quota, nm.Size)}
	}
	date := nm.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	_, offset := date.Zone()
	keywords := encodeKeywords(fs.keywords)
	uid, modseq := mb.uidnext, mb.modseq+1
	var id, headerSize int64
	hasText := nm.HeaderText != "" || nm.BodyText != ""
	if err := a.insert.QueryRowContext(ctx, nm.MailboxID, uid, modseq, fs.bits, keywords,
		date.UnixNano(), offset, nm.Size, nm.BlobID, nm.Envelope, nm.Structure, hasText).Scan(&id, &headerSize); err != nil {
		return store.Message{}, err
	}
	// The search text goes in with the message, in the same transaction,
	// so SEARCH never sees a message it cannot search.
	if hasText {
		header := foldText(nm.HeaderText)
		if _, err := a.insertText.ExecContext(ctx, id, header, foldText(nm.BodyText),
			fieldLines(nm.HeaderText, header)); err != nil {
			return store.Message{}, err
		}
	}
	mb.uidnext++
	mb.modseq = modseq
	mb.messages++
	mb.size += nm.Size
	if fs.bits&bitSeen == 0 {
		mb.unseen++
	}
	acct.used += nm.Size
	return store.Message{
		ID:           id,
		MailboxID:    nm.MailboxID,
		UID:          uint32(uid),
		ModSeq:       uint64(modseq),
		Flags:        flagList(fs.bits, keywords),
		InternalDate: decodeDate(date.UnixNano(), int64(offset)),
		Size:         nm.Size,
		BlobID:       nm.BlobID,
		HeaderSize:   headerSize,
		Envelope:     nm.Envelope,
		Structure:    nm.Structure,
	}, nil
}

// flush writes the counters of every mailbox and account the batch used.
func (a *appender) flush(ctx context.Context) error {
	for _, id := range a.order {
		mb := a.mailboxes[id]
		if _, err := a.tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, highestmodseq = ?,
			messages = ?, unseen = ?, size = ? WHERE id = ?`,
			mb.uidnext, mb.modseq, mb.messages, mb.unseen, mb.size, id); err != nil {
			return err
		}
	}
	ids := make([]int64, 0, len(a.accounts))
	for id := range a.accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, err := a.tx.ExecContext(ctx, `UPDATE accounts SET used_bytes = ? WHERE id = ?`,
			a.accounts[id].used, id); err != nil {
			return err
		}
	}
	return nil
}

// listColumns are the message columns without the cached envelope and body
// structure, which ListMessages and ChangesSince leave out so a large
// mailbox lists fast; GetMessage returns them.
const listColumns = `id, mailbox_id, uid, modseq, flags, keywords, internaldate, internaldate_tz, size, blob_id, header_size`

// headerSizeSQL is the SQL expression for messages.header_size computed
// from the structure and size expressions: the root part's body offset in
// the structure package mime stores (format 1, the root header starting at
// 0), when it lies within the message; 0 (unknown) otherwise. Migration
// 0005 filled existing rows with the same expression. CASE evaluates
// lazily, so json_extract never sees text that is not JSON.
func headerSizeSQL(structure, size string) string {
	j := `CAST(` + structure + ` AS TEXT)`
	return `CASE WHEN json_valid(` + j + `)
		AND json_extract(` + j + `, '$.v') = 1
		AND coalesce(json_extract(` + j + `, '$.root.hs'), 0) = 0
		AND json_type(` + j + `, '$.root.bs') = 'integer'
		AND json_extract(` + j + `, '$.root.bs') BETWEEN 1 AND ` + size + `
		THEN json_extract(` + j + `, '$.root.bs') ELSE 0 END`
}

// listedRow is a row of listColumns as scanned, before decoding.
type listedRow struct {
	m                               store.Message
	uid, modseq, bits, date, offset int64
	keywords                        string
}

// dest returns the scan destinations of listColumns.
func (r *listedRow) dest() []any {
	return []any{&r.m.ID, &r.m.MailboxID, &r.uid, &r.modseq, &r.bits, &r.keywords, &r.date, &r.offset,
		&r.m.Size, &r.m.BlobID, &r.m.HeaderSize}
}

// message decodes the row.
func (r *listedRow) message() store.Message {
	m := r.m
	m.UID = uint32(r.uid)
	m.ModSeq = uint64(r.modseq)
	m.Flags = flagList(r.bits, r.keywords)
	m.InternalDate = decodeDate(r.date, r.offset)
	return m
}

// scanListed scans listColumns.
func scanListed(row interface{ Scan(...any) error }) (store.Message, error) {
	var r listedRow
	if err := row.Scan(r.dest()...); err != nil {
		return store.Message{}, err
	}
	return r.message(), nil
}

// scanFull scans listColumns followed by envelope and structure.
func scanFull(row interface{ Scan(...any) error }) (store.Message, error) {
	var r listedRow
	if err := row.Scan(append(r.dest(), &r.m.Envelope, &r.m.Structure)...); err != nil {
		return store.Message{}, err
	}
	return r.message(), nil
}

// mailboxExists reports ErrNotFound for a missing mailbox and returns its
// message count and HIGHESTMODSEQ otherwise.
func (db *DB) mailboxExists(ctx context.Context, tx *sql.Tx, id int64) (messages int64, modseq int64, err error) {
	st, err := db.reads.in(ctx, tx, mailboxExistsSQL)
	if err != nil {
		return 0, 0, err
	}
	err = st.QueryRowContext(ctx, id).Scan(&messages, &modseq)
	return messages, modseq, mapErr(err)
}

// ListMessages returns the mailbox's messages in UID order, without
// Envelope and Structure.
func (db *DB) ListMessages(ctx context.Context, mailboxID int64) ([]store.Message, error) {
	var out []store.Message
	err := db.read(ctx, func(tx *sql.Tx) error {
		n, _, err := db.mailboxExists(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		// The count only sizes the slice; bound it so a damaged counter
		// cannot ask for a huge allocation.
		out = make([]store.Message, 0, min(n, 1<<20))
		rows, err := tx.QueryContext(ctx, `SELECT `+listColumns+` FROM messages WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanListed(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(err, "list messages of mailbox %d", mailboxID)
	}
	return out, nil
}

// GetMessage returns one message with its cached envelope and structure.
func (db *DB) GetMessage(ctx context.Context, mailboxID int64, uid uint32) (store.Message, error) {
	m, err := scanFull(db.r.QueryRowContext(ctx, `SELECT `+listColumns+`, envelope, structure
		FROM messages WHERE mailbox_id = ? AND uid = ?`, mailboxID, int64(uid)))
	if err != nil {
		return store.Message{}, wrap(err, "get message %d in mailbox %d", uid, mailboxID)
	}
	return m, nil
}

// GetMessages returns the messages of uids that exist in the mailbox, with
// Envelope and Structure, in UID order: one query for a whole FETCH batch
// instead of one per message. The UIDs travel as one JSON array so that
// the statement text, and SQLite's prepared statement, is the same for
// every batch size.
func (db *DB) GetMessages(ctx context.Context, mailboxID int64, uids []uint32) ([]store.Message, error) {
	if len(uids) > store.MaxGetMessages {
		return nil, fmt.Errorf("sqlite: get %d messages in mailbox %d: more than %d", len(uids), mailboxID, store.MaxGetMessages)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	list := make([]byte, 0, len(uids)*8+2)
	list = append(list, '[')
	for i, u := range uniqueUIDs(uids) {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendUint(list, uint64(u), 10)
	}
	list = append(list, ']')
	rows, err := db.r.QueryContext(ctx, `SELECT `+listColumns+`, envelope, structure
		FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid`,
		mailboxID, string(list))
	if err != nil {
		return nil, wrap(err, "get %d messages in mailbox %d", len(uids), mailboxID)
	}
	defer rows.Close()
	out := make([]store.Message, 0, len(uids))
	for rows.Next() {
		m, err := scanFull(rows)
		if err != nil {
			return nil, wrap(err, "get messages in mailbox %d", mailboxID)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "get messages in mailbox %d", mailboxID)
	}
	return out, nil
}

// uniqueUIDs returns uids sorted without duplicates, so changes are made
// (and MODSEQs handed out) in UID order.
func uniqueUIDs(uids []uint32) []uint32 {
	s := slices.Clone(uids)
	slices.Sort(s)
	return slices.Compact(s)
}

// UpdateFlags changes the flags of the given UIDs (UIDs not in the mailbox
// are ignored). Each message whose flags actually change gets its own new
// MODSEQ; a STORE that changes nothing leaves the MODSEQ alone. With
// unchangedSince > 0, a message whose MODSEQ is above it is not touched and
// its UID is returned in modified (RFC 7162 section 3.1.3; UNCHANGEDSINCE 0
// from a client, which always fails, is the IMAP layer's to handle).
func (db *DB) UpdateFlags(ctx context.Context, mailboxID int64, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) ([]store.Message, []uint32, error) {
	change, err := parseFlags(flags)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: update flags in mailbox %d: %w", mailboxID, err)
	}
	if op != store.FlagsSet && op != store.FlagsAdd && op != store.FlagsRemove {
		return nil, nil, fmt.Errorf("sqlite: update flags in mailbox %d: unknown operation %d", mailboxID, op)
	}
	uids = uniqueUIDs(uids)
	var changed []store.Message
	var modified []uint32
	err = db.write(ctx, func(tx *sql.Tx) error {
		changed, modified = nil, nil
		var modseq, unseen int64
		counters, err := db.writes.in(ctx, tx, flagCountersSQL)
		if err != nil {
			return err
		}
		if err := counters.QueryRowContext(ctx, mailboxID).Scan(&modseq, &unseen); err != nil {
			return err
		}
		get, err := db.writes.in(ctx, tx, getListedSQL)
		if err != nil {
			return err
		}
		set, err := db.writes.in(ctx, tx, setFlagsSQL)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			var r listedRow
			err := get.QueryRowContext(ctx, mailboxID, int64(uid)).Scan(r.dest()...)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if unchangedSince > 0 && uint64(r.modseq) > unchangedSince {
				modified = append(modified, uid)
				continue
			}
			cur := flagSet{bits: r.bits, keywords: decodeKeywords(r.keywords)}
			next, differs, err := apply(cur, op, change)
			if err != nil {
				return fmt.Errorf("message %d: %w", uid, err)
			}
			if !differs {
				continue
			}
			modseq++
			nextKeywords := encodeKeywords(next.keywords)
			if _, err := set.ExecContext(ctx, next.bits, nextKeywords, modseq, r.m.ID); err != nil {
				return err
			}
			if was, is := r.bits&bitSeen != 0, next.bits&bitSeen != 0; was && !is {
				unseen++
			} else if !was && is {
				unseen--
			}
			r.modseq, r.bits, r.keywords = modseq, next.bits, nextKeywords
			changed = append(changed, r.message())
		}
		if len(changed) == 0 {
			return nil
		}
		update, err := db.writes.in(ctx, tx, setFlagCountersSQL)
		if err != nil {
			return err
		}
		_, err = update.ExecContext(ctx, modseq, unseen, mailboxID)
		return err
	})
	if err != nil {
		return nil, nil, wrap(err, "update flags in mailbox %d", mailboxID)
	}
	return changed, modified, nil
}

// Expunge removes the given UIDs (UIDs not in the mailbox are ignored).
// Each removed message leaves a tombstone with its own new MODSEQ, so
// QRESYNC can report it as VANISHED (RFC 7162 section 3.2.10). The
// mailbox counters and the account's usage go down in the same
// transaction. The blobs that no message refers to any more are returned.
func (db *DB) Expunge(ctx context.Context, mailboxID int64, uids []uint32) ([]string, error) {
	uids = uniqueUIDs(uids)
	var blobs []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		candidates, err := expungeTx(ctx, tx, mailboxID, uids)
		if err != nil {
			return err
		}
		blobs, err = unreferenced(ctx, tx, candidates)
		return err
	})
	if err != nil {
		return nil, wrap(err, "expunge from mailbox %d", mailboxID)
	}
	return blobs, nil
}

// expungeTx does the work of Expunge inside tx for uids sorted without
// duplicates, and returns the blob ids of the removed messages (with
// repeats), which may still be used by other messages. Their search text
// goes with them through the message_text foreign key.
func expungeTx(ctx context.Context, tx *sql.Tx, mailboxID int64, uids []uint32) ([]string, error) {
	var accountID, modseq, messages, unseen, size int64
	if err := tx.QueryRowContext(ctx, `SELECT account_id, highestmodseq, messages, unseen, size
		FROM mailboxes WHERE id = ?`, mailboxID).Scan(&accountID, &modseq, &messages, &unseen, &size); err != nil {
		return nil, err
	}
	del, err := tx.PrepareContext(ctx, `DELETE FROM messages WHERE mailbox_id = ? AND uid = ?
		RETURNING size, flags, blob_id`)
	if err != nil {
		return nil, err
	}
	defer del.Close()
	tomb, err := tx.PrepareContext(ctx, `INSERT INTO tombstones (mailbox_id, uid, modseq) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer tomb.Close()
	var candidates []string
	var freed int64
	for _, uid := range uids {
		var msize, bits int64
		var blobID string
		err := del.QueryRowContext(ctx, mailboxID, int64(uid)).Scan(&msize, &bits, &blobID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		modseq++
		if _, err := tomb.ExecContext(ctx, mailboxID, int64(uid), modseq); err != nil {
			return nil, err
		}
		messages--
		size -= msize
		freed += msize
		if bits&bitSeen == 0 {
			unseen--
		}
		candidates = append(candidates, blobID)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET highestmodseq = ?, messages = ?, unseen = ?, size = ?
		WHERE id = ?`, modseq, messages, unseen, size, mailboxID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?`,
		freed, accountID); err != nil {
		return nil, err
	}
	return candidates, nil
}

// ChangesSince reports, from one snapshot, the messages whose MODSEQ is
// above since (new or with changed flags; without Envelope and Structure)
// and the UIDs expunged after since, both in UID order, with the mailbox's
// current HIGHESTMODSEQ (RFC 7162 sections 3.1.4.1 and 3.2.5).
func (db *DB) ChangesSince(ctx context.Context, mailboxID int64, since uint64) (store.Changes, error) {
	var c store.Changes
	if since > math.MaxInt64 {
		since = math.MaxInt64
	}
	err := db.read(ctx, func(tx *sql.Tx) error {
		c = store.Changes{}
		_, modseq, err := db.mailboxExists(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		c.HighestModSeq = uint64(modseq)
		changed, err := db.reads.in(ctx, tx, changedSinceSQL)
		if err != nil {
			return err
		}
		rows, err := changed.QueryContext(ctx, mailboxID, int64(since))
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanListed(rows)
			if err != nil {
				rows.Close()
				return err
			}
			c.Changed = append(c.Changed, m)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		expunged, err := db.reads.in(ctx, tx, expungedSinceSQL)
		if err != nil {
			return err
		}
		rows, err = expunged.QueryContext(ctx, mailboxID, int64(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid int64
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			c.Expunged = append(c.Expunged, uint32(uid))
		}
		return rows.Err()
	})
	if err != nil {
		return store.Changes{}, wrap(err, "changes since %d in mailbox %d", since, mailboxID)
	}
	return c, nil
}
