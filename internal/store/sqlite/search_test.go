package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"mailport/internal/store"
)

func appendText(t *testing.T, db *DB, mailboxID int64, header, body string) store.Message {
	t.Helper()
	res, err := db.AppendMessages(t.Context(), []store.NewMessage{{MailboxID: mailboxID, Size: 1,
		BlobID: "b-" + header, HeaderText: header, BodyText: body}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	return res[0].Message
}

func search(t *testing.T, db *DB, mailboxID int64, field store.TextField, substr string) []uint32 {
	t.Helper()
	uids, err := db.SearchText(t.Context(), mailboxID, field, substr)
	if err != nil {
		t.Fatalf("SearchText(%q): %v", substr, err)
	}
	return uids
}

// ftsIntegrity runs FTS5's own consistency check of the index, which needs
// a writable connection. It does not use t.Context, which has ended by the
// time cleanups run.
func ftsIntegrity(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.w.ExecContext(context.Background(),
		`INSERT INTO message_fts (message_fts, rank) VALUES ('integrity-check', 0)`); err != nil {
		t.Errorf("FTS integrity-check: %v", err)
	}
}

func count(t *testing.T, db *DB, query string) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestSearchPaths pins which needles use the trigram index and that its
// candidates are confirmed against the stored text: an index entry whose
// text no longer matches is not a result, and a needle of fewer than three
// characters (or with a NUL, which FTS5 query strings cannot hold) is
// found without the index.
func TestSearchPaths(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	m := appendText(t, db, inbox.ID, "Subject: hello", "old body text")
	nul := appendText(t, db, inbox.ID, "Subject: nul", "a\x00bc")

	// Change the stored text behind the index's back (no trigger runs
	// on UPDATE): the index still has "old body text".
	if _, err := db.w.ExecContext(ctx, `UPDATE message_text SET body = 'new body' WHERE message_id = ?`, m.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field  store.TextField
		substr string
		want   []uint32
	}{
		{store.TextBody, "old body", nil},             // index candidate, refused by instr
		{store.TextBody, "new body", nil},             // stored, not indexed: the index decides
		{store.TextBody, "ne", []uint32{m.UID}},       // short: scans the stored text
		{store.TextAll, "ol", nil},                    // short: scans, and "old" is gone
		{store.TextBody, "a\x00b", []uint32{nul.UID}}, // NUL: scans
		{store.TextBody, "\x00bc", []uint32{nul.UID}},
		{store.TextHeader, "hello", []uint32{m.UID}},
	}
	for _, tc := range tests {
		if got := search(t, db, inbox.ID, tc.field, tc.substr); !slices.Equal(got, tc.want) {
			t.Errorf("SearchText(%d, %q) = %v, want %v", tc.field, tc.substr, got, tc.want)
		}
	}

	if _, err := db.SearchText(ctx, inbox.ID, store.TextField(99), "x"); err == nil {
		t.Error("SearchText accepted an unknown field")
	}
	// A needle longer than any stored text matches nothing, without
	// building a huge FTS query.
	if got := search(t, db, inbox.ID, store.TextAll, strings.Repeat("a", maxIndexedText+1)); len(got) != 0 {
		t.Errorf("over-long needle found %v", got)
	}
}

// TestSearchIndexFollowsMessages checks that every way a message goes also
// removes its text and index entry, and that messages without text store
// none.
func TestSearchIndexFollowsMessages(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	d1, err := db.CreateDomain(ctx, "one.example")
	if err != nil {
		t.Fatal(err)
	}
	d2, err := db.CreateDomain(ctx, "two.example")
	if err != nil {
		t.Fatal(err)
	}
	folders := []store.MailboxSpec{{Name: "INBOX"}, {Name: "Trash"}}
	var boxes []store.Mailbox
	var accounts []store.Account
	for _, a := range []store.Account{
		{Address: "a@one.example", DomainID: d1.ID, Enabled: true},
		{Address: "b@one.example", DomainID: d1.ID, Enabled: true},
		{Address: "c@two.example", DomainID: d2.ID, Enabled: true},
	} {
		acct, err := db.CreateAccount(ctx, a, folders)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, acct)
		mbs, err := db.ListMailboxes(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, mbs...)
	}
	for _, mb := range boxes {
		appendText(t, db, mb.ID, "Subject: findme "+mb.Name, "body of "+mb.Name)
		appendText(t, db, mb.ID, "", "") // no text: no row
	}
	texts := func() int { return count(t, db, `SELECT COUNT(*) FROM message_text`) }
	indexed := func() int { return count(t, db, `SELECT COUNT(*) FROM message_fts`) }
	hits := func() int { return count(t, db, `SELECT COUNT(*) FROM message_fts WHERE message_fts MATCH '"findme"'`) }
	if texts() != len(boxes) || indexed() != len(boxes) || hits() != len(boxes) {
		t.Fatalf("after appends: %d texts, %d indexed, %d hits; want %d", texts(), indexed(), hits(), len(boxes))
	}

	// boxes: a/INBOX a/Trash b/INBOX b/Trash c/INBOX c/Trash (by name).
	steps := []struct {
		name string
		do   func() error
		left int
	}{
		{"copy", func() error { _, err := db.CopyMessages(ctx, boxes[0].ID, []uint32{1, 2}, boxes[1].ID); return err }, 7},
		{"move", func() error { _, err := db.MoveMessages(ctx, boxes[1].ID, []uint32{1, 3}, boxes[0].ID); return err }, 7},
		{"expunge", func() error { _, err := db.Expunge(ctx, boxes[0].ID, []uint32{1, 3}); return err }, 5},
		// a/INBOX now holds the moved copy of the copy (text) and a
		// message without text.
		{"delete mailbox", func() error { _, err := db.DeleteMailbox(ctx, boxes[0].ID); return err }, 4},
		{"delete account", func() error { _, err := db.DeleteAccount(ctx, accounts[1].ID); return err }, 2},
		{"delete domain", func() error { _, err := db.DeleteDomain(ctx, "two.example"); return err }, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if texts() != st.left || indexed() != st.left {
			t.Errorf("after %s: %d texts, %d indexed; want %d", st.name, texts(), indexed(), st.left)
		}
		ftsIntegrity(t, db)
		if err := db.Check(ctx); err != nil {
			t.Errorf("Check after %s: %v", st.name, err)
		}
	}
	if hits() != 0 {
		t.Errorf("index still finds %d deleted texts", hits())
	}
}

func TestCheckFindsSearchIndexMismatch(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	m := appendText(t, db, inbox.ID, "Subject: x", "y")
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check on a good database: %v", err)
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM message_fts WHERE rowid = ?`, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), "search index") {
		t.Errorf("Check = %v, want a search index problem", err)
	}
}

// TestCheckFindsHasTextMismatch: Check reports a message whose has_text
// (what UnindexedUIDs answers from) disagrees with its search text.
func TestCheckFindsHasTextMismatch(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	m := appendText(t, db, inbox.ID, "Subject: x", "y")
	if uids, err := db.UnindexedUIDs(ctx, inbox.ID); err != nil || len(uids) != 0 {
		t.Fatalf("UnindexedUIDs = %v, %v; want none", uids, err)
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE messages SET has_text = 0 WHERE id = ?`, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), "has_text") {
		t.Errorf("Check = %v, want a has_text problem", err)
	}
}

func TestFoldText(t *testing.T) {
	long := strings.Repeat("a", maxIndexedText-1) + "Ä" + "tail"
	tests := []struct {
		name, in, want string
	}{
		{"ascii", "Hello World", "hello world"},
		{"non-ascii", "ÄRGER Öl ΣΟΦΙΑ", "ärger öl σοφια"},
		{"invalid utf-8 becomes U+FFFD", "A\xffB", "a\ufffdb"},
		// The cut falls inside "ä" (2 bytes), which is dropped whole.
		{"cut at a character boundary", long, strings.Repeat("a", maxIndexedText-1)},
		{"exactly the limit", strings.Repeat("B", maxIndexedText), strings.Repeat("b", maxIndexedText)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := foldText(tc.in)
			if got != tc.want {
				t.Errorf("foldText = %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
			if len(got) > maxIndexedText || !utf8.ValidString(got) {
				t.Errorf("foldText gave %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
		})
	}
}

// TestSearchLongText checks the limit end to end: text beyond
// maxIndexedText is not stored, text before it is found.
func TestSearchLongText(t *testing.T) {
	db, _, inbox := setup(t)
	body := "start " + strings.Repeat("lorem ipsum ", maxIndexedText/12) + " beyondthelimit"
	m := appendText(t, db, inbox.ID, "", body)
	if got := search(t, db, inbox.ID, store.TextBody, "START LOREM"); !slices.Equal(got, []uint32{m.UID}) {
		t.Errorf("start of long body: %v", got)
	}
	if got := search(t, db, inbox.ID, store.TextBody, "beyondthelimit"); len(got) != 0 {
		t.Errorf("text past the limit found: %v", got)
	}
}
