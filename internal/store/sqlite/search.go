package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"mailport/internal/store"
)

// maxIndexedText bounds the stored and indexed text of each field of a
// message (after lower-casing), so that one huge text part cannot make a
// delivery batch or the index arbitrarily expensive. SEARCH does not find
// text beyond it.
const maxIndexedText = 1 << 20

// trigramLen is the needle length, in characters, from which the trigram
// index can answer: a shorter needle contains no whole trigram.
const trigramLen = 3

// insertTextSQL stores the search text of a new message; the trigger
// message_text_insert indexes it.
const insertTextSQL = `INSERT INTO message_text (message_id, header, body, field_lines) VALUES (?, ?, ?, ?)`

// fieldLines is message_text.field_lines for a message's header text as
// given (store.NewMessage.HeaderText) and as stored (folded): whether
// every field of the header is in it, one line each. ExtractText writes
// one line per field; the text is whole unless a cut at the size bound
// (mime's or foldText's, each at most a character short of it) may have
// dropped fields.
func fieldLines(given, folded string) bool {
	return len(given) < maxIndexedText-utf8.UTFMax && len(folded) < maxIndexedText-utf8.UTFMax
}

// foldText is what is stored and indexed for a header or body text: lower
// case, so that instr() is a case-insensitive test also for non-ASCII
// letters (SQLite's lower() only folds ASCII), cut to maxIndexedText at a
// character boundary. strings.ToLower maps rune by rune, so if a needle
// occurs in a text ignoring case, its lower case occurs in the text's lower
// case; the trigram tokenizer folds case rune by rune too, so the index
// never misses what instr() would find.
func foldText(s string) string {
	s = strings.ToLower(s)
	if len(s) <= maxIndexedText {
		return s
	}
	n := maxIndexedText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ftsPhrase quotes s as an FTS5 string, so that every character of the
// needle is matched literally (RFC 9051 section 6.4.4 has no search
// operators inside a string): FTS5 strings are double-quoted with
// embedded double quotes doubled, and AND, OR, NOT, NEAR, *, ^, -, ( and :
// are just characters inside one.
func ftsPhrase(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// SearchText returns, in UID order, the UIDs of the messages in the mailbox
// whose header text, body text or either (TextAll, for SEARCH TEXT)
// contains substr, ignoring case (RFC 9051 section 6.4.4: BODY, TEXT and
// HEADER match substrings). An empty substr matches every message.
//
// A needle of three or more characters is looked up in the trigram index
// first, and every candidate is confirmed with instr() on the stored text,
// so the answer is exact even where the index's case folding differs from
// Go's. Shorter needles have no trigram to look up, and are found by
// scanning the mailbox's stored text.
func (db *DB) SearchText(ctx context.Context, mailboxID int64, field store.TextField, substr string) ([]uint32, error) {
	var confirm, column string
	switch field {
	case store.TextHeader:
		confirm, column = `instr(t.header, ?1) > 0`, `header : `
	case store.TextBody:
		confirm, column = `instr(t.body, ?1) > 0`, `body : `
	case store.TextAll:
		confirm, column = `(instr(t.header, ?1) > 0 OR instr(t.body, ?1) > 0)`, ``
	default:
		return nil, fmt.Errorf("sqlite: search mailbox %d: unknown text field %d", mailboxID, field)
	}
	needle := strings.ToLower(substr)
	query, args := `SELECT uid FROM messages WHERE mailbox_id = ?2 ORDER BY uid`, []any{needle, mailboxID}
	if needle != "" {
		query, args = candidatesSQL(`m.uid`, column, confirm, needle, mailboxID)
		query += ` ORDER BY m.uid`
	}

	var uids []uint32
	err := db.searchEach(ctx, mailboxID, needle, query, args, func(r row) error {
		var uid int64
		if err := r.Scan(&uid); err != nil {
			return err
		}
		uids = append(uids, uint32(uid))
		return nil
	})
	if err != nil {
		return nil, wrap(err, "search mailbox %d", mailboxID)
	}
	return uids, nil
}

// searchEach runs a search query of the mailbox in one read transaction
// and calls each for every row as it comes (rows may carry text, so they
// are not collected first). The mailbox must exist; a needle longer than
// any stored text finds nothing without a query.
func (db *DB) searchEach(ctx context.Context, mailboxID int64, needle, query string, args []any, each func(row) error) error {
	return db.read(ctx, func(tx *sql.Tx) error {
		if _, _, err := db.mailboxExists(ctx, tx, mailboxID); err != nil {
			return err
		}
		if len(needle) > maxIndexedText {
			return nil // no stored text is that long
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// candidatesSQL returns the query, and its arguments, for cols of the
// messages of mailboxID (m) and their text (t) whose stored text contains
// the lower-case needle (?1) in the FTS5 column filter column ("header : ",
// "body : ", or "" for both) and that pass confirm, in no particular order
// (the caller adds ORDER BY when the rows are small enough to sort). A needle
// of trigramLen or more characters is looked up in the index, which is for
// all mailboxes: joining from it visits only the candidates, which the
// mailbox test then narrows. Shorter needles, and needles with a NUL (FTS5
// strings end at NUL), scan the mailbox's text.
func candidatesSQL(cols, column, confirm, needle string, mailboxID int64) (string, []any) {
	args := []any{needle, mailboxID}
	if utf8.RuneCountInString(needle) >= trigramLen && !strings.Contains(needle, "\x00") {
		return `SELECT ` + cols + ` FROM message_fts f
			CROSS JOIN messages m ON m.id = f.rowid
			CROSS JOIN message_text t ON t.message_id = m.id
			WHERE message_fts MATCH ?3 AND m.mailbox_id = ?2 AND ` + confirm, append(args, column+ftsPhrase(needle))
	}
	return `SELECT ` + cols + ` FROM messages m
		JOIN message_text t ON t.message_id = m.id
		WHERE m.mailbox_id = ?2 AND ` + confirm, args
}

// UnindexedUIDs returns the messages of the mailbox without a message_text
// row, in UID order: the ones SEARCH has to read from their blobs. They
// are the messages with has_text 0, which the partial index
// messages_unindexed holds alone, so the answer costs an index seek
// rather than a probe into message_text per message.
func (db *DB) UnindexedUIDs(ctx context.Context, mailboxID int64) ([]uint32, error) {
	var uids []uint32
	err := db.read(ctx, func(tx *sql.Tx) error {
		uids = nil
		if _, _, err := db.mailboxExists(ctx, tx, mailboxID); err != nil {
			return err
		}
		unindexed, err := db.reads.in(ctx, tx, unindexedSQL)
		if err != nil {
			return err
		}
		rows, err := unindexed.QueryContext(ctx, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid int64
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			uids = append(uids, uint32(uid))
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(err, "unindexed messages of mailbox %d", mailboxID)
	}
	return uids, nil
}
