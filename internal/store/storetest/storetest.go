// Package storetest is the conformance suite every store.Store backend
// must pass. A backend's test calls Run with a function that opens a new,
// empty store; the suite then checks the behaviour store.Store's doc
// comments promise, so that code above the store can rely on it whatever
// the backend.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailport/internal/store"
)

// Run runs every conformance test as a subtest. open is called once per
// subtest and must return a new, empty store that it closes when the test
// ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Domains", testDomains},
		{"DomainAliases", testDomainAliases},
		{"Accounts", testAccounts},
		{"AccountFoldersAtomic", testAccountFoldersAtomic},
		{"DeleteAccount", testDeleteAccount},
		{"DeleteDomainCascades", testDeleteDomainCascades},
		{"Aliases", testAliases},
		{"SenderAddresses", testSenderAddresses},
		{"Forwards", testForwards},
		{"Mailboxes", testMailboxes},
		{"RenameMailbox", testRenameMailbox},
		{"DeleteMailbox", testDeleteMailbox},
		{"UIDValidity", testUIDValidity},
		{"AppendBatch", testAppendBatch},
		{"AppendQuota", testAppendQuota},
		{"UpdateFlags", testUpdateFlags},
		{"UnchangedSince", testUnchangedSince},
		{"ExpungeAndChanges", testExpungeAndChanges},
		{"SharedBlob", testSharedBlob},
		{"ConcurrentAppend", testConcurrentAppend},
		{"ListMessagesOrder", testListMessagesOrder},
		{"GetMessages", testGetMessages},
		{"HeaderSize", testHeaderSize},
		{"CopyMessages", testCopyMessages},
		{"CopyQuota", testCopyQuota},
		{"CopySharesBlob", testCopySharesBlob},
		{"MoveMessages", testMoveMessages},
		{"MoveAtomic", testMoveAtomic},
		{"SearchText", testSearchText},
		{"SearchCopies", testSearchCopies},
		{"SearchMatchesReference", testSearchMatchesReference},
		{"SearchHeaderField", testSearchHeaderField},
		{"UnindexedUIDs", testUnindexedUIDs},
		{"DomainSDR", testDomainSDR},
		{"RelayDomains", testRelayDomains},
		{"DomainNameKinds", testDomainNameKinds},
		{"DKIMKeys", testDKIMKeys},
		{"DKIMKeyRotation", testDKIMKeyRotation},
		{"AdminDomains", testAdminDomains},
		{"AdminLimits", testAdminLimits},
		{"AdminUsage", testAdminUsage},
		{"Audit", testAudit},
		{"APITokens", testAPITokens},
		{"Sessions", testSessions},
		{"QueryAccounts", testQueryAccounts},
		{"QueryLinks", testQueryLinks},
		{"Stats", testStats},
		{"Import", testImport},
		{"ImportAtomic", testImportAtomic},
		{"ReplaceCredentials", testReplaceCredentials},
		{"SCRAMCredential", testSCRAMCredential},
		{"InstanceSecret", testInstanceSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
			if err := s.Check(t.Context()); err != nil {
				t.Errorf("Check after test: %v", err)
			}
		})
	}
}

// blobSeq makes blob ids of the shape blob.Store uses (32 hex digits).
var blobSeq atomic.Uint64

func newBlobID() string { return fmt.Sprintf("%032x", blobSeq.Add(1)) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustDomain(t *testing.T, s store.Store, name string) store.Domain {
	t.Helper()
	d, err := s.CreateDomain(t.Context(), name)
	noErr(t, "CreateDomain "+name, err)
	return d
}

// defaultFolders is what a new mailbox account typically gets.
var defaultFolders = []store.MailboxSpec{
	{Name: "INBOX"},
	{Name: "Drafts", SpecialUse: store.SpecialDrafts},
	{Name: "Sent", SpecialUse: store.SpecialSent},
	{Name: "Junk", SpecialUse: store.SpecialJunk},
	{Name: "Trash", SpecialUse: store.SpecialTrash},
}

func mustAccount(t *testing.T, s store.Store, d store.Domain, local string, quota int64) store.Account {
	t.Helper()
	a, err := s.CreateAccount(t.Context(), store.Account{
		Address:      local + "@" + d.Name,
		DomainID:     d.ID,
		DisplayName:  local,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		QuotaBytes:   quota,
		Enabled:      true,
		Role:         store.RoleUser,
	}, defaultFolders)
	noErr(t, "CreateAccount "+local, err)
	return a
}

func mustMailbox(t *testing.T, s store.Store, accountID int64, name string) store.Mailbox {
	t.Helper()
	m, err := s.GetMailbox(t.Context(), accountID, name)
	noErr(t, "GetMailbox "+name, err)
	return m
}

func newMsg(mailboxID, size int64, flags ...string) store.NewMessage {
	return store.NewMessage{
		MailboxID:    mailboxID,
		Flags:        flags,
		InternalDate: time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		Size:         size,
		BlobID:       newBlobID(),
		Envelope:     []byte(`{"subject":"hello"}`),
		Structure:    []byte(`{"type":"text/plain"}`),
	}
}

// mustAppend appends msgs and fails the test if any message fails.
func mustAppend(t *testing.T, s store.Store, msgs ...store.NewMessage) []store.Message {
	t.Helper()
	res, err := s.AppendMessages(t.Context(), msgs)
	noErr(t, "AppendMessages", err)
	if len(res) != len(msgs) {
		t.Fatalf("AppendMessages: %d results for %d messages", len(res), len(msgs))
	}
	out := make([]store.Message, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("AppendMessages item %d: %v", i, r.Err)
		}
		out[i] = r.Message
	}
	return out
}

// sameFlags compares flag lists exactly (order and spelling), treating nil
// and empty as equal.
func sameFlags(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

func uidsOf(msgs []store.Message) []uint32 {
	out := make([]uint32, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

func blobsOf(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.BlobID
	}
	return out
}

// sameSet compares string lists ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

func names(mbs []store.Mailbox) []string {
	out := make([]string, len(mbs))
	for i, m := range mbs {
		out[i] = m.Name
	}
	return out
}

func joinFlags(f []string) string { return "[" + strings.Join(f, " ") + "]" }
