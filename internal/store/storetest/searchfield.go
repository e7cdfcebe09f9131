package storetest

import (
	"fmt"
	"strings"
	"testing"

	"mailport/internal/store"
)

func fieldSearch(t *testing.T, s store.Store, mailboxID int64, name, substr string) (hits, unknown []uint32) {
	t.Helper()
	hits, unknown, err := s.SearchHeaderField(t.Context(), mailboxID, name, substr)
	noErr(t, fmt.Sprintf("SearchHeaderField(%q, %q)", name, substr), err)
	return hits, unknown
}

// testSearchHeaderField checks SearchHeaderField against header texts in
// the form mime.ExtractText writes: the field's own line decides, a text
// cut at the index's bound is left to the caller, and names compare
// without regard to case.
func testSearchHeaderField(t *testing.T, s store.Store) {
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")

	mustAppend(t, s,
		// 1
		textMsg(inbox.ID, "From: Alice <alice@example.com>\nSubject: Quarterly Report\n", "from: bob"),
		// 2: alice only in the subject
		textMsg(inbox.ID, "From: Jürgen <j@example.de>\nSubject: Re: alice's Ärger\n", ""),
		// 3
		textMsg(inbox.ID, "Subject: no sender\nX-Mailer: ab\n", ""),
		// 4: no text
		newMsg(inbox.ID, 10),
		// 5: a header text longer than the index keeps
		textMsg(inbox.ID, "From: big\nX-Long: "+strings.Repeat("x", 1<<20)+"\n", ""),
	)
	mustAppend(t, s, textMsg(sent.ID, "From: alice\n", ""))

	for _, tc := range []struct {
		name, substr  string
		hits, unknown []uint32
	}{
		{"From", "alice", []uint32{1}, nil},
		{"SUBJECT", "ALICE", []uint32{2}, nil},
		{"from", "ÜRGEN", []uint32{2}, nil},
		{"From", "bob", nil, nil}, // only in the body
		{"X-Mailer", "", []uint32{3}, nil},
		{"x-mailer", "b", []uint32{3}, []uint32{5}}, // shorter than a trigram: a scan; 5 has a "b"
		{"From", "", []uint32{1, 2}, []uint32{5}},
		{"From", "big", nil, []uint32{5}},
		{"To", "", nil, nil},
	} {
		hits, unknown := fieldSearch(t, s, inbox.ID, tc.name, tc.substr)
		if !sameUIDs(hits, tc.hits) || !sameUIDs(unknown, tc.unknown) {
			t.Errorf("SearchHeaderField(%q, %q) = %v, unknown %v; want %v, unknown %v",
				tc.name, tc.substr, hits, unknown, tc.hits, tc.unknown)
		}
	}
	if _, _, err := s.SearchHeaderField(t.Context(), inbox.ID, "bad name", "x"); err == nil {
		t.Errorf("SearchHeaderField with a name that is no field name: no error")
	}

	// A copy keeps what its text tells.
	pairs, err := s.CopyMessages(t.Context(), inbox.ID, []uint32{1}, sent.ID)
	noErr(t, "CopyMessages", err)
	if hits, unknown := fieldSearch(t, s, sent.ID, "from", "alice"); !sameUIDs(hits, []uint32{1, pairs[0].Dst}) || len(unknown) != 0 {
		t.Errorf("Sent: SearchHeaderField(from, alice) = %v, unknown %v", hits, unknown)
	}
}
