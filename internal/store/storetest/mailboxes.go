package storetest

import (
	"slices"
	"testing"

	"mailport/internal/store"
)

func testMailboxes(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	amy := mustAccount(t, s, d, "amy", 0)

	work, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Work"})
	noErr(t, "CreateMailbox", err)
	if work.ID == 0 || work.AccountID != bob.ID || work.Name != "Work" || work.UIDNext != 1 ||
		work.UIDValidity == 0 || work.HighestModSeq == 0 || work.Subscribed || work.Messages != 0 {
		t.Errorf("CreateMailbox = %+v", work)
	}
	arch, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Archive", SpecialUse: store.SpecialArchive})
	noErr(t, "CreateMailbox", err)
	// The same name in another account is a different mailbox.
	amyWork, err := s.CreateMailbox(ctx, amy.ID, store.MailboxSpec{Name: "Work"})
	noErr(t, "CreateMailbox for other account", err)
	if amyWork.ID == work.ID {
		t.Errorf("two accounts share mailbox id %d", work.ID)
	}

	_, err = s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Work"})
	wantErr(t, "CreateMailbox duplicate", err, store.ErrExists)
	_, err = s.CreateMailbox(ctx, amy.ID+1000, store.MailboxSpec{Name: "Work"})
	wantErr(t, "CreateMailbox for unknown account", err, store.ErrNotFound)

	got, err := s.GetMailbox(ctx, bob.ID, "Archive")
	noErr(t, "GetMailbox", err)
	if got != arch {
		t.Errorf("GetMailbox = %+v, want %+v", got, arch)
	}
	got, err = s.GetMailboxByID(ctx, work.ID)
	noErr(t, "GetMailboxByID", err)
	if got != work {
		t.Errorf("GetMailboxByID = %+v, want %+v", got, work)
	}
	_, err = s.GetMailbox(ctx, bob.ID, "Nope")
	wantErr(t, "GetMailbox missing", err, store.ErrNotFound)
	_, err = s.GetMailbox(ctx, amy.ID, "Archive")
	wantErr(t, "GetMailbox of other account", err, store.ErrNotFound)
	_, err = s.GetMailboxByID(ctx, amyWork.ID+1000)
	wantErr(t, "GetMailboxByID missing", err, store.ErrNotFound)

	list, err := s.ListMailboxes(ctx, bob.ID)
	noErr(t, "ListMailboxes", err)
	if got, want := names(list), []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "Work"}; !slices.Equal(got, want) {
		t.Errorf("ListMailboxes = %v, want %v", got, want)
	}

	noErr(t, "SetSubscribed", s.SetSubscribed(ctx, work.ID, true))
	got, err = s.GetMailboxByID(ctx, work.ID)
	noErr(t, "GetMailboxByID", err)
	if !got.Subscribed {
		t.Errorf("Subscribed = false after SetSubscribed(true)")
	}
	noErr(t, "SetSubscribed", s.SetSubscribed(ctx, work.ID, false))
	got, err = s.GetMailboxByID(ctx, work.ID)
	noErr(t, "GetMailboxByID", err)
	if got.Subscribed {
		t.Errorf("Subscribed = true after SetSubscribed(false)")
	}
	wantErr(t, "SetSubscribed missing", s.SetSubscribed(ctx, amyWork.ID+1000, true), store.ErrNotFound)
}

func testRenameMailbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	amy := mustAccount(t, s, d, "amy", 0)
	before := map[string]store.Mailbox{}
	for _, name := range []string{"a", "a/b", "a/b/c", "ab", "a-x", "a.b"} {
		m, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: name})
		noErr(t, "CreateMailbox "+name, err)
		before[name] = m
	}
	_, err := s.CreateMailbox(ctx, amy.ID, store.MailboxSpec{Name: "a/b"})
	noErr(t, "CreateMailbox for amy", err)
	msgs := mustAppend(t, s, newMsg(before["a/b"].ID, 10), newMsg(before["a/b"].ID, 20))

	noErr(t, "RenameMailbox", s.RenameMailbox(ctx, bob.ID, "a", "z"))
	list, err := s.ListMailboxes(ctx, bob.ID)
	noErr(t, "ListMailboxes", err)
	want := []string{"Drafts", "INBOX", "Junk", "Sent", "Trash", "a-x", "a.b", "ab", "z", "z/b", "z/b/c"}
	if !slices.Equal(names(list), want) {
		t.Errorf("after rename a -> z: %v, want %v", names(list), want)
	}
	moved := mustMailbox(t, s, bob.ID, "z/b")
	old := before["a/b"]
	if moved.ID != old.ID || moved.UIDValidity != old.UIDValidity || moved.Messages != 2 || moved.UIDNext != 3 {
		t.Errorf("renamed z/b = %+v, was %+v", moved, old)
	}
	got, err := s.ListMessages(ctx, moved.ID)
	noErr(t, "ListMessages of renamed", err)
	if !slices.Equal(uidsOf(got), uidsOf(msgs)) {
		t.Errorf("messages of renamed mailbox = %v, want %v", uidsOf(got), uidsOf(msgs))
	}
	// Amy's a/b is not hers to lose.
	mustMailbox(t, s, amy.ID, "a/b")

	errTests := []struct {
		name     string
		old, new string
		want     error
	}{
		{"missing source", "nope", "other", store.ErrNotFound},
		{"target exists", "z", "ab", store.ErrExists},
		{"target is a child", "z", "z/b", store.ErrExists},
		{"same name", "ab", "ab", store.ErrExists},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "RenameMailbox", s.RenameMailbox(ctx, bob.ID, tc.old, tc.new), tc.want)
		})
	}

	// Into its own subtree: q/a becomes q/b/a, a name q/b/a holds until it
	// moves on to q/b/b/a, so the rows must not collide midway.
	for _, name := range []string{"q", "q/a", "q/b/a"} {
		_, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: name})
		noErr(t, "CreateMailbox "+name, err)
	}
	noErr(t, "RenameMailbox into own child", s.RenameMailbox(ctx, bob.ID, "q", "q/b"))
	list, err = s.ListMailboxes(ctx, bob.ID)
	noErr(t, "ListMailboxes", err)
	want = []string{"Drafts", "INBOX", "Junk", "Sent", "Trash", "a-x", "a.b", "ab", "q/b", "q/b/a", "q/b/b/a", "z", "z/b", "z/b/c"}
	if !slices.Equal(names(list), want) {
		t.Errorf("after rename q -> q/b: %v, want %v", names(list), want)
	}

	// A leaf rename, and renaming INBOX is the store's to do when told.
	noErr(t, "RenameMailbox INBOX", s.RenameMailbox(ctx, bob.ID, "INBOX", "Old"))
	if m := mustMailbox(t, s, bob.ID, "Old"); m.ID == 0 {
		t.Errorf("renamed INBOX missing")
	}
	_, err = s.GetMailbox(ctx, bob.ID, "INBOX")
	wantErr(t, "GetMailbox INBOX after rename", err, store.ErrNotFound)
}

func testDeleteMailbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	parent, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "p"})
	noErr(t, "CreateMailbox", err)
	child, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "p/c"})
	noErr(t, "CreateMailbox", err)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	gone := mustAppend(t, s, newMsg(parent.ID, 100), newMsg(parent.ID, 200))
	mustAppend(t, s, newMsg(inbox.ID, 40), newMsg(child.ID, 1))
	// Leave a tombstone behind too.
	_, err = s.Expunge(ctx, parent.ID, []uint32{gone[0].UID})
	noErr(t, "Expunge", err)

	blobs, err := s.DeleteMailbox(ctx, parent.ID)
	noErr(t, "DeleteMailbox", err)
	if !sameSet(blobs, []string{gone[1].BlobID}) {
		t.Errorf("DeleteMailbox blobs = %v, want %v", blobs, []string{gone[1].BlobID})
	}
	_, err = s.GetMailboxByID(ctx, parent.ID)
	wantErr(t, "GetMailboxByID after delete", err, store.ErrNotFound)
	_, err = s.ListMessages(ctx, parent.ID)
	wantErr(t, "ListMessages after delete", err, store.ErrNotFound)
	_, err = s.ChangesSince(ctx, parent.ID, 0)
	wantErr(t, "ChangesSince after delete", err, store.ErrNotFound)
	// The child stays; IMAP decides about children.
	if m := mustMailbox(t, s, bob.ID, "p/c"); m.Messages != 1 {
		t.Errorf("child after parent delete = %+v", m)
	}
	acct, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	if acct.UsedBytes != 41 {
		t.Errorf("UsedBytes after DeleteMailbox = %d, want 41", acct.UsedBytes)
	}
	_, err = s.DeleteMailbox(ctx, parent.ID)
	wantErr(t, "DeleteMailbox again", err, store.ErrNotFound)
}

func testUIDValidity(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	seen := map[uint32]string{}
	list, err := s.ListMailboxes(ctx, bob.ID)
	noErr(t, "ListMailboxes", err)
	for _, m := range list {
		if other, dup := seen[m.UIDValidity]; dup {
			t.Errorf("UIDVALIDITY %d shared by %s and %s", m.UIDValidity, other, m.Name)
		}
		seen[m.UIDValidity] = m.Name
	}
	// Delete and recreate the same name several times in quick
	// succession: each incarnation needs a new, larger UIDVALIDITY
	// (RFC 9051 section 2.3.1.1).
	var last uint32
	for i := range 5 {
		m, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Again"})
		noErr(t, "CreateMailbox", err)
		if m.UIDValidity == 0 || m.UIDValidity <= last {
			t.Errorf("incarnation %d: UIDVALIDITY %d, previous %d", i, m.UIDValidity, last)
		}
		if _, dup := seen[m.UIDValidity]; dup {
			t.Errorf("incarnation %d reuses UIDVALIDITY %d", i, m.UIDValidity)
		}
		seen[m.UIDValidity] = "Again"
		last = m.UIDValidity
		mustAppend(t, s, newMsg(m.ID, 5))
		_, err = s.DeleteMailbox(ctx, m.ID)
		noErr(t, "DeleteMailbox", err)
	}
	// A recreated mailbox starts over with UIDs.
	m, err := s.CreateMailbox(ctx, bob.ID, store.MailboxSpec{Name: "Again"})
	noErr(t, "CreateMailbox", err)
	if m.UIDNext != 1 || m.Messages != 0 || m.UIDValidity <= last {
		t.Errorf("recreated mailbox = %+v (previous UIDVALIDITY %d)", m, last)
	}
}
