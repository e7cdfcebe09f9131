package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"mailport/internal/store"
)

func textMsg(mailboxID int64, header, body string) store.NewMessage {
	m := newMsg(mailboxID, int64(len(header)+len(body)+1))
	m.HeaderText = header
	m.BodyText = body
	return m
}

func searchUIDs(t *testing.T, s store.Store, mailboxID int64, field store.TextField, substr string) []uint32 {
	t.Helper()
	uids, err := s.SearchText(t.Context(), mailboxID, field, substr)
	noErr(t, fmt.Sprintf("SearchText(%d, %q)", field, substr), err)
	return uids
}

func sameUIDs(a, b []uint32) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

var fieldNames = map[store.TextField]string{store.TextHeader: "header", store.TextBody: "body", store.TextAll: "all"}

func testSearchText(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")

	mustAppend(t, s,
		// 1
		textMsg(inbox.ID, "From: Alice <alice@example.com>\r\nSubject: Quarterly Report",
			"Please find the numbers attached.\r\nBest, Alice"),
		// 2
		textMsg(inbox.ID, "From: Jürgen <j@example.de>\r\nSubject: Ärger im Büro",
			"Das ist ÄRGERLICH. Viele Grüße"),
		// 3: characters that mean something in FTS query syntax
		textMsg(inbox.ID, "Subject: syntax",
			`he said "quote" and AND or * star - minus (paren) col:on NEAR(x y) ^caret 'single'`),
		// 4: header only
		textMsg(inbox.ID, "Subject: Σ sigma ΣΊΣΥΦΟΣ", ""),
		// 5: no text at all
		newMsg(inbox.ID, 10),
		// 6: to be expunged
		textMsg(inbox.ID, "Subject: gone report", "zebra numbers"),
	)
	// Another mailbox with matching text must not leak into INBOX results.
	mustAppend(t, s, textMsg(sent.ID, "Subject: Report zebra", "numbers ärger quote"))

	if got := searchUIDs(t, s, inbox.ID, store.TextBody, "zebra"); !sameUIDs(got, []uint32{6}) {
		t.Fatalf("before expunge: zebra in INBOX bodies = %v, want [6]", got)
	}
	_, err := s.Expunge(ctx, inbox.ID, []uint32{6})
	noErr(t, "Expunge", err)

	H, B, A := store.TextHeader, store.TextBody, store.TextAll
	tests := []struct {
		field  store.TextField
		substr string
		want   []uint32
	}{
		// Fields are separate.
		{H, "report", []uint32{1}},
		{B, "report", nil},
		{A, "report", []uint32{1}},
		{B, "numbers", []uint32{1}},
		{H, "numbers", nil},
		{A, "numbers", []uint32{1}},
		{H, "alice@example.com", []uint32{1}},
		{A, "alice", []uint32{1}},
		{A, "find the numbers", []uint32{1}},
		// A match may not span header and body.
		{A, "reportplease", nil},
		{A, "report\r\nplease", nil},
		// Case-insensitive, ASCII and not.
		{H, "QUARTERLY REPORT", []uint32{1}},
		{H, "quarterly report", []uint32{1}},
		{H, "qUaRtErLy", []uint32{1}},
		{B, "ärger", []uint32{2}},
		{B, "ÄRGER", []uint32{2}},
		{H, "ärger", []uint32{2}},
		{A, "ÄrGeR", []uint32{2}},
		{H, "BÜRO", []uint32{2}},
		{H, "jürgen", []uint32{2}},
		{B, "grüße", []uint32{2}},
		{B, "GRÜ", []uint32{2}},
		{H, "σίσυφο", []uint32{4}},
		{H, "ΣΊΣΥΦΟΣ", []uint32{4}},
		{H, "Σ SIGMA", []uint32{4}},
		// Needles shorter than three characters.
		{A, "ä", []uint32{2}},
		{A, "Ü", []uint32{2}},
		{H, "ür", []uint32{2}},
		{H, "ÜR", []uint32{2}},
		{B, "ß", []uint32{2}},
		{A, "σ", []uint32{4}},
		{B, "*", []uint32{3}},
		{B, `"`, []uint32{3}},
		{B, `""`, nil},
		{B, "-", []uint32{3}},
		{A, "x", []uint32{1, 2, 3}}, // "example" in 1's and 2's headers, "NEAR(x" in 3's body
		{B, "x", []uint32{3}},
		{A, "ze", nil},
		// Search syntax is taken literally.
		{B, `"quote"`, []uint32{3}},
		{B, `said "quote" and`, []uint32{3}},
		{B, `"quote" and and`, []uint32{3}},
		{B, "AND", []uint32{3}},
		{B, "AND OR", []uint32{3}}, // "and AND or"
		{B, "quote AND star", nil},
		{B, "minus OR paren", nil},
		{B, "star NOT minus", nil},
		{B, "* star", []uint32{3}},
		{B, "sta*", nil},
		{B, "- minus", []uint32{3}},
		{B, "(paren)", []uint32{3}},
		{B, "col:on", []uint32{3}},
		{H, "body:", nil},
		{B, "NEAR(x y)", []uint32{3}},
		{B, "^caret", []uint32{3}},
		{B, "'single'", []uint32{3}},
		{B, `""quote""`, nil},
		{B, `%`, nil},
		{B, `_`, nil},
		// No match, and the expunged message is not found.
		{A, "zebra", nil},
		{A, "gone", nil},
		{A, "no such text anywhere", nil},
		// The empty string is in every message (even without text).
		{A, "", []uint32{1, 2, 3, 4, 5}},
		{H, "", []uint32{1, 2, 3, 4, 5}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %q", fieldNames[tc.field], tc.substr), func(t *testing.T) {
			got := searchUIDs(t, s, inbox.ID, tc.field, tc.substr)
			if !sameUIDs(got, tc.want) {
				t.Errorf("SearchText(%s, %q) = %v, want %v", fieldNames[tc.field], tc.substr, got, tc.want)
			}
		})
	}

	_, err = s.SearchText(ctx, sent.ID+1000, store.TextAll, "report")
	wantErr(t, "SearchText of unknown mailbox", err, store.ErrNotFound)
	if got := searchUIDs(t, s, sent.ID, store.TextAll, "zebra"); !sameUIDs(got, []uint32{1}) {
		t.Errorf("zebra in Sent = %v, want [1]", got)
	}
}

// testSearchCopies checks that copies and moves take their search text
// along, and that what leaves a mailbox leaves its search results.
func testSearchCopies(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	junk := mustMailbox(t, s, bob.ID, "Junk")
	mustAppend(t, s,
		textMsg(inbox.ID, "Subject: invoice 2024", "amount due"),
		textMsg(inbox.ID, "Subject: lunch", "pizza at noon"),
		textMsg(inbox.ID, "Subject: invoice 2025", "amount paid"))
	mustAppend(t, s, newMsg(trash.ID, 1), newMsg(trash.ID, 1))

	pairs, err := s.CopyMessages(ctx, inbox.ID, []uint32{1, 3}, trash.ID)
	noErr(t, "CopyMessages", err)
	_, dstUIDs := pairUIDs(pairs)
	if got := searchUIDs(t, s, trash.ID, store.TextHeader, "INVOICE"); !sameUIDs(got, dstUIDs) {
		t.Errorf("invoice in Trash after copy = %v, want the copies %v", got, dstUIDs)
	}
	if got := searchUIDs(t, s, trash.ID, store.TextBody, "PaId"); !sameUIDs(got, dstUIDs[1:]) {
		t.Errorf("paid in Trash = %v, want %v", got, dstUIDs[1:])
	}
	if got := searchUIDs(t, s, trash.ID, store.TextBody, "am"); !sameUIDs(got, dstUIDs) {
		t.Errorf("short needle in Trash = %v, want %v", got, dstUIDs)
	}
	if got := searchUIDs(t, s, inbox.ID, store.TextHeader, "invoice"); !sameUIDs(got, []uint32{1, 3}) {
		t.Errorf("invoice in INBOX after copy = %v, want [1 3]", got)
	}

	// Expunging the originals leaves the copies searchable.
	_, err = s.Expunge(ctx, inbox.ID, []uint32{1, 3})
	noErr(t, "Expunge", err)
	if got := searchUIDs(t, s, inbox.ID, store.TextAll, "invoice"); len(got) != 0 {
		t.Errorf("invoice in INBOX after expunge = %v", got)
	}
	if got := searchUIDs(t, s, trash.ID, store.TextAll, "invoice"); !sameUIDs(got, dstUIDs) {
		t.Errorf("invoice in Trash after expunging the originals = %v, want %v", got, dstUIDs)
	}

	// A move takes the text along and leaves nothing behind.
	moved, err := s.MoveMessages(ctx, inbox.ID, []uint32{2}, junk.ID)
	noErr(t, "MoveMessages", err)
	if got := searchUIDs(t, s, inbox.ID, store.TextBody, "pizza"); len(got) != 0 {
		t.Errorf("pizza in INBOX after move = %v", got)
	}
	if got := searchUIDs(t, s, junk.ID, store.TextBody, "pizza"); !sameUIDs(got, []uint32{moved[0].Dst}) {
		t.Errorf("pizza in Junk after move = %v, want [%d]", got, moved[0].Dst)
	}

	// Deleting the mailbox of the copies removes them from search; a
	// new mailbox (which may reuse storage) finds nothing old.
	_, err = s.DeleteMailbox(ctx, trash.ID)
	noErr(t, "DeleteMailbox", err)
	_, err = s.SearchText(ctx, trash.ID, store.TextAll, "invoice")
	wantErr(t, "SearchText of deleted mailbox", err, store.ErrNotFound)
	again, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Trash"})
	noErr(t, "CreateMailbox", err)
	mustAppend(t, s, newMsg(again.ID, 1), textMsg(again.ID, "Subject: other", "text"))
	if got := searchUIDs(t, s, again.ID, store.TextAll, "invoice"); len(got) != 0 {
		t.Errorf("invoice in recreated Trash = %v", got)
	}
}

// testSearchMatchesReference compares SearchText with a plain
// strings.Contains over lower-cased text on a generated mailbox, with
// needles of every length taken from the texts and some that are not.
func testSearchMatchesReference(t *testing.T, s store.Store) {
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")

	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha", "Beta", "GAMMA", "delta", "Ärger", "öl", "ÉTÉ", "naïve", "straße", "ΣΟΦΙΑ",
		"x", "ab", "a\"b", "c*d", "e-f", "AND", "or", "NOT", "(g)", "h:i", "日本語", "🙂"}
	phrase := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(parts, " ")
	}
	const n = 60
	type text struct{ header, body string }
	texts := make([]text, n)
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		texts[i] = text{phrase(rng.IntN(6)), phrase(rng.IntN(12))}
		msgs[i] = textMsg(inbox.ID, texts[i].header, texts[i].body)
	}
	mustAppend(t, s, msgs...)

	needles := []string{"zzz", "日本", "🙂 x", "Ä", "SS", "ss", "a\"", "\"b", "*", "AND OR", " ", "  ", "   ", "a b", ") ("}
	for range 150 {
		tx := texts[rng.IntN(n)]
		src := []rune(tx.header + tx.body)
		if len(src) == 0 {
			continue
		}
		i := rng.IntN(len(src))
		j := min(len(src), i+1+rng.IntN(8))
		needle := string(src[i:j])
		if rng.IntN(2) == 0 {
			needle = strings.ToUpper(needle)
		}
		needles = append(needles, needle)
	}
	for _, needle := range needles {
		for _, field := range []store.TextField{store.TextHeader, store.TextBody, store.TextAll} {
			var want []uint32
			l := strings.ToLower(needle)
			for i, tx := range texts {
				h, b := strings.Contains(strings.ToLower(tx.header), l), strings.Contains(strings.ToLower(tx.body), l)
				if (field == store.TextHeader && h) || (field == store.TextBody && b) || (field == store.TextAll && (h || b)) {
					want = append(want, uint32(i+1))
				}
			}
			if got := searchUIDs(t, s, inbox.ID, field, needle); !sameUIDs(got, want) {
				t.Errorf("SearchText(%s, %q) = %v, want %v", fieldNames[field], needle, got, want)
			}
		}
	}
}

// testUnindexedUIDs: the messages stored without any text, in UID order,
// of that mailbox only; expunged ones are gone; an unknown mailbox is
// ErrNotFound.
func testUnindexedUIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")

	got, err := s.UnindexedUIDs(ctx, inbox.ID)
	noErr(t, "UnindexedUIDs of empty mailbox", err)
	if len(got) != 0 {
		t.Errorf("empty mailbox: UnindexedUIDs = %v", got)
	}
	mustAppend(t, s,
		newMsg(inbox.ID, 10),                    // 1: no text
		textMsg(inbox.ID, "Subject: a", "body"), // 2
		textMsg(inbox.ID, "", "body only"),      // 3
		textMsg(inbox.ID, "Subject: b", ""),     // 4
		newMsg(inbox.ID, 10),                    // 5: no text
		newMsg(inbox.ID, 10),                    // 6: no text, expunged
	)
	mustAppend(t, s, newMsg(sent.ID, 10))
	_, err = s.Expunge(ctx, inbox.ID, []uint32{6})
	noErr(t, "Expunge", err)
	got, err = s.UnindexedUIDs(ctx, inbox.ID)
	noErr(t, "UnindexedUIDs", err)
	if !sameUIDs(got, []uint32{1, 5}) {
		t.Errorf("UnindexedUIDs = %v, want [1 5]", got)
	}
	_, err = s.UnindexedUIDs(ctx, sent.ID+1000)
	wantErr(t, "UnindexedUIDs of unknown mailbox", err, store.ErrNotFound)
}
