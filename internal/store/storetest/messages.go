package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mailport/internal/store"
)

func testAppendBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")

	zoned := time.Date(2023, 12, 24, 18, 5, 7, 0, time.FixedZone("", 2*3600))
	withDate := newMsg(inbox.ID, 300, `\flagged`, "work", `\SEEN`, "Work")
	withDate.InternalDate = zoned
	batch := []store.NewMessage{
		newMsg(inbox.ID, 100),
		newMsg(inbox.ID, 200, `\seen`, "$Label1"),
		withDate,
		newMsg(inbox.ID+sent.ID+1000, 50), // no such mailbox
		newMsg(sent.ID, 400, `\Seen`),
	}
	res, err := s.AppendMessages(ctx, batch)
	noErr(t, "AppendMessages", err)
	if len(res) != len(batch) {
		t.Fatalf("AppendMessages: %d results for %d messages", len(res), len(batch))
	}
	wantErr(t, "append to unknown mailbox", res[3].Err, store.ErrNotFound)
	for _, i := range []int{0, 1, 2, 4} {
		if res[i].Err != nil {
			t.Fatalf("item %d: %v", i, res[i].Err)
		}
	}

	wantFlags := [][]string{nil, {`\Seen`, "$Label1"}, {`\Flagged`, `\Seen`, "work"}, nil, {`\Seen`}}
	wantUID := []uint32{1, 2, 3, 0, 1}
	for _, i := range []int{0, 1, 2, 4} {
		m := res[i].Message
		if m.UID != wantUID[i] || m.MailboxID != batch[i].MailboxID || m.BlobID != batch[i].BlobID || m.Size != batch[i].Size || m.ID == 0 {
			t.Errorf("item %d: %+v, want UID %d of %+v", i, m, wantUID[i], batch[i])
		}
		if !sameFlags(m.Flags, wantFlags[i]) {
			t.Errorf("item %d flags %s, want %s", i, joinFlags(m.Flags), joinFlags(wantFlags[i]))
		}
	}
	// Each message takes the next MODSEQ of its mailbox.
	for i := 1; i < 3; i++ {
		if res[i].Message.ModSeq <= res[i-1].Message.ModSeq {
			t.Errorf("MODSEQ not increasing: %d then %d", res[i-1].Message.ModSeq, res[i].Message.ModSeq)
		}
	}
	if res[0].Message.ModSeq <= inbox.HighestModSeq {
		t.Errorf("first MODSEQ %d not above the new mailbox's %d", res[0].Message.ModSeq, inbox.HighestModSeq)
	}

	mb, err := s.GetMailboxByID(ctx, inbox.ID)
	noErr(t, "GetMailboxByID", err)
	if mb.UIDNext != 4 || mb.HighestModSeq != res[2].Message.ModSeq || mb.Messages != 3 || mb.Unseen != 1 || mb.Size != 600 {
		t.Errorf("INBOX after batch = %+v, want UIDNext 4, HighestModSeq %d, 3 messages, 1 unseen, 600 bytes",
			mb, res[2].Message.ModSeq)
	}
	if mb.UIDValidity != inbox.UIDValidity {
		t.Errorf("UIDVALIDITY changed by append: %d -> %d", inbox.UIDValidity, mb.UIDValidity)
	}
	sb, err := s.GetMailboxByID(ctx, sent.ID)
	noErr(t, "GetMailboxByID", err)
	if sb.UIDNext != 2 || sb.Messages != 1 || sb.Unseen != 0 || sb.Size != 400 || sb.HighestModSeq != res[4].Message.ModSeq {
		t.Errorf("Sent after batch = %+v", sb)
	}
	acct, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	if acct.UsedBytes != 1000 {
		t.Errorf("UsedBytes = %d, want 1000", acct.UsedBytes)
	}

	got, err := s.GetMessage(ctx, inbox.ID, 3)
	noErr(t, "GetMessage", err)
	if string(got.Envelope) != string(withDate.Envelope) || string(got.Structure) != string(withDate.Structure) {
		t.Errorf("GetMessage envelope %q structure %q", got.Envelope, got.Structure)
	}
	if !got.InternalDate.Equal(zoned) {
		t.Errorf("InternalDate = %v, want %v", got.InternalDate, zoned)
	}
	if _, off := got.InternalDate.Zone(); off != 2*3600 {
		t.Errorf("InternalDate zone offset %d, want %d (IMAP shows the zone given)", off, 2*3600)
	}
	if got.ID != res[2].Message.ID || got.ModSeq != res[2].Message.ModSeq || !sameFlags(got.Flags, wantFlags[2]) {
		t.Errorf("GetMessage = %+v, want %+v", got, res[2].Message)
	}
	_, err = s.GetMessage(ctx, inbox.ID, 4)
	wantErr(t, "GetMessage of UIDNEXT", err, store.ErrNotFound)

	// The next batch continues the UIDs.
	more := mustAppend(t, s, newMsg(inbox.ID, 1), newMsg(inbox.ID, 1))
	if more[0].UID != 4 || more[1].UID != 5 || more[0].ModSeq <= mb.HighestModSeq {
		t.Errorf("second batch UIDs %v MODSEQ %d after %d", uidsOf(more), more[0].ModSeq, mb.HighestModSeq)
	}

	empty, err := s.AppendMessages(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("AppendMessages(nil) = %v, %v", empty, err)
	}
}

func testAppendQuota(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 1000)
	amy := mustAccount(t, s, d, "amy", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	junk := mustMailbox(t, s, bob.ID, "Junk")
	amyInbox := mustMailbox(t, s, amy.ID, "INBOX")

	ignore := newMsg(junk.ID, 500)
	ignore.IgnoreQuota = true
	batch := []struct {
		msg     store.NewMessage
		wantErr error
	}{
		{newMsg(inbox.ID, 400), nil}, // 400
		{newMsg(junk.ID, 400), nil},  // 800: the quota is per account
		{newMsg(inbox.ID, 300), store.ErrOverQuota},
		{newMsg(amyInbox.ID, 1<<30), nil}, // another account, no quota
		{newMsg(inbox.ID, 200), nil},      // exactly 1000 is allowed
		{newMsg(inbox.ID, 1), store.ErrOverQuota},
		{ignore, nil}, // 1500: moves within an account skip the check
	}
	msgs := make([]store.NewMessage, len(batch))
	for i, b := range batch {
		msgs[i] = b.msg
	}
	res, err := s.AppendMessages(ctx, msgs)
	noErr(t, "AppendMessages", err)
	for i, b := range batch {
		if b.wantErr == nil && res[i].Err != nil {
			t.Errorf("item %d: unexpected error %v", i, res[i].Err)
		}
		if b.wantErr != nil && !errors.Is(res[i].Err, b.wantErr) {
			t.Errorf("item %d: error %v, want %v", i, res[i].Err, b.wantErr)
		}
	}
	// The UIDs of stored messages have no gaps from refused ones.
	if res[0].Message.UID != 1 || res[4].Message.UID != 2 {
		t.Errorf("INBOX UIDs %d, %d; want 1, 2", res[0].Message.UID, res[4].Message.UID)
	}

	checkUsed := func(want int64) {
		t.Helper()
		a, err := s.GetAccount(ctx, bob.ID)
		noErr(t, "GetAccount", err)
		if a.UsedBytes != want {
			t.Errorf("UsedBytes = %d, want %d", a.UsedBytes, want)
		}
	}
	checkUsed(1500)
	if a, err := s.GetAccount(ctx, amy.ID); err != nil || a.UsedBytes != 1<<30 {
		t.Errorf("amy UsedBytes = %d, %v", a.UsedBytes, err)
	}
	mb, err := s.GetMailboxByID(ctx, inbox.ID)
	noErr(t, "GetMailboxByID", err)
	if mb.Messages != 2 || mb.Size != 600 || mb.UIDNext != 3 {
		t.Errorf("INBOX = %+v, want 2 messages, 600 bytes, UIDNext 3", mb)
	}

	// Over quota, nothing fits; expunging frees room.
	_, err = s.Expunge(ctx, junk.ID, []uint32{res[1].Message.UID, res[6].Message.UID})
	noErr(t, "Expunge", err)
	checkUsed(600)
	fits := mustAppend(t, s, newMsg(inbox.ID, 400))
	if fits[0].UID != 3 {
		t.Errorf("UID after refusals = %d, want 3", fits[0].UID)
	}
	checkUsed(1000)

	// Raising the quota takes effect for the next append.
	a, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	a.QuotaBytes = 2000
	noErr(t, "UpdateAccount", s.UpdateAccount(ctx, a))
	mustAppend(t, s, newMsg(inbox.ID, 1000))
	checkUsed(2000)
}

// flagStep is one UpdateFlags call and its expected outcome.
type flagStep struct {
	name        string
	uids        []uint32
	op          store.FlagOp
	flags       []string
	wantChanged []uint32
	want        map[uint32][]string // flags of every message afterwards
}

func testUpdateFlags(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	mustAppend(t, s, newMsg(inbox.ID, 1), newMsg(inbox.ID, 1), newMsg(inbox.ID, 1))

	steps := []flagStep{
		{"add seen", []uint32{1, 2}, store.FlagsAdd, []string{`\seen`}, []uint32{1, 2},
			map[uint32][]string{1: {`\Seen`}, 2: {`\Seen`}, 3: nil}},
		{"add again changes nothing", []uint32{1}, store.FlagsAdd, []string{`\Seen`}, nil,
			map[uint32][]string{1: {`\Seen`}, 2: {`\Seen`}, 3: nil}},
		{"add keyword and system flag", []uint32{1, 3}, store.FlagsAdd, []string{"$Label1", `\FLAGGED`}, []uint32{1, 3},
			map[uint32][]string{1: {`\Flagged`, `\Seen`, "$Label1"}, 2: {`\Seen`}, 3: {`\Flagged`, "$Label1"}}},
		{"keyword in other case is the same keyword", []uint32{3}, store.FlagsAdd, []string{"$label1"}, nil,
			map[uint32][]string{1: {`\Flagged`, `\Seen`, "$Label1"}, 2: {`\Seen`}, 3: {`\Flagged`, "$Label1"}}},
		{"remove keyword in other case", []uint32{1}, store.FlagsRemove, []string{"$LABEL1"}, []uint32{1},
			map[uint32][]string{1: {`\Flagged`, `\Seen`}, 2: {`\Seen`}, 3: {`\Flagged`, "$Label1"}}},
		{"remove absent flag changes nothing", []uint32{2}, store.FlagsRemove, []string{`\Deleted`, "nope"}, nil,
			map[uint32][]string{1: {`\Flagged`, `\Seen`}, 2: {`\Seen`}, 3: {`\Flagged`, "$Label1"}}},
		{"set replaces, keywords sorted", []uint32{2}, store.FlagsSet, []string{"b", `\Draft`, "A", "a"}, []uint32{2},
			map[uint32][]string{1: {`\Flagged`, `\Seen`}, 2: {`\Draft`, "A", "b"}, 3: {`\Flagged`, "$Label1"}}},
		{"set to nothing", []uint32{3}, store.FlagsSet, nil, []uint32{3},
			map[uint32][]string{1: {`\Flagged`, `\Seen`}, 2: {`\Draft`, "A", "b"}, 3: nil}},
		{"set same flags changes nothing", []uint32{1}, store.FlagsSet, []string{`\Seen`, `\Flagged`}, nil,
			map[uint32][]string{1: {`\Flagged`, `\Seen`}, 2: {`\Draft`, "A", "b"}, 3: nil}},
		{"unknown UIDs are ignored", []uint32{99, 1, 1}, store.FlagsAdd, []string{`\Deleted`, `\Answered`}, []uint32{1},
			map[uint32][]string{1: {`\Answered`, `\Deleted`, `\Flagged`, `\Seen`}, 2: {`\Draft`, "A", "b"}, 3: nil}},
		{"remove seen", []uint32{1, 2, 3}, store.FlagsRemove, []string{`\Seen`}, []uint32{1},
			map[uint32][]string{1: {`\Answered`, `\Deleted`, `\Flagged`}, 2: {`\Draft`, "A", "b"}, 3: nil}},
	}
	for _, st := range steps {
		before, err := s.GetMailboxByID(ctx, inbox.ID)
		noErr(t, "GetMailboxByID", err)
		changed, modified, err := s.UpdateFlags(ctx, inbox.ID, st.uids, st.op, st.flags, 0)
		noErr(t, st.name, err)
		if len(modified) != 0 {
			t.Errorf("%s: modified %v without UNCHANGEDSINCE", st.name, modified)
		}
		if got := uidsOf(changed); !slices.Equal(got, st.wantChanged) && len(got)+len(st.wantChanged) > 0 {
			t.Errorf("%s: changed %v, want %v", st.name, got, st.wantChanged)
		}
		after, err := s.GetMailboxByID(ctx, inbox.ID)
		noErr(t, "GetMailboxByID", err)
		seenModSeq := map[uint64]bool{}
		for _, m := range changed {
			if m.ModSeq <= before.HighestModSeq || m.ModSeq > after.HighestModSeq || seenModSeq[m.ModSeq] {
				t.Errorf("%s: changed UID %d MODSEQ %d, mailbox went %d -> %d", st.name, m.UID, m.ModSeq,
					before.HighestModSeq, after.HighestModSeq)
			}
			seenModSeq[m.ModSeq] = true
			if !sameFlags(m.Flags, st.want[m.UID]) {
				t.Errorf("%s: returned UID %d flags %s, want %s", st.name, m.UID, joinFlags(m.Flags), joinFlags(st.want[m.UID]))
			}
		}
		if len(changed) == 0 && after.HighestModSeq != before.HighestModSeq {
			t.Errorf("%s: no change but HIGHESTMODSEQ %d -> %d", st.name, before.HighestModSeq, after.HighestModSeq)
		}
		if len(changed) > 0 && after.HighestModSeq != changed[len(changed)-1].ModSeq {
			t.Errorf("%s: HIGHESTMODSEQ %d, last change has %d", st.name, after.HighestModSeq, changed[len(changed)-1].ModSeq)
		}
		var unseen uint32
		for uid, want := range st.want {
			m, err := s.GetMessage(ctx, inbox.ID, uid)
			noErr(t, "GetMessage", err)
			if !sameFlags(m.Flags, want) {
				t.Errorf("%s: UID %d flags %s, want %s", st.name, uid, joinFlags(m.Flags), joinFlags(want))
			}
			if !slices.Contains(want, store.FlagSeen) {
				unseen++
			}
		}
		if after.Unseen != unseen {
			t.Errorf("%s: Unseen = %d, want %d", st.name, after.Unseen, unseen)
		}
		ch, err := s.ChangesSince(ctx, inbox.ID, before.HighestModSeq)
		noErr(t, "ChangesSince", err)
		if got := uidsOf(ch.Changed); !slices.Equal(got, st.wantChanged) && len(got)+len(st.wantChanged) > 0 {
			t.Errorf("%s: ChangesSince reports %v, want %v", st.name, got, st.wantChanged)
		}
	}

	_, _, err := s.UpdateFlags(ctx, inbox.ID+1000, []uint32{1}, store.FlagsAdd, []string{`\Seen`}, 0)
	wantErr(t, "UpdateFlags of unknown mailbox", err, store.ErrNotFound)
}

func testUnchangedSince(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	msgs := mustAppend(t, s, newMsg(inbox.ID, 1), newMsg(inbox.ID, 1), newMsg(inbox.ID, 1))
	snapshot := msgs[2].ModSeq // what a client saw after the appends

	// Another session changes UID 2 after the snapshot.
	changed, _, err := s.UpdateFlags(ctx, inbox.ID, []uint32{2}, store.FlagsAdd, []string{`\Answered`}, 0)
	noErr(t, "UpdateFlags", err)
	if len(changed) != 1 || changed[0].ModSeq <= snapshot {
		t.Fatalf("change of UID 2 = %+v", changed)
	}

	// RFC 7162 section 3.1.3: the conditional STORE skips UID 2 and
	// reports it as modified; the others are stored.
	changed, modified, err := s.UpdateFlags(ctx, inbox.ID, []uint32{1, 2, 3}, store.FlagsAdd, []string{`\Flagged`}, snapshot)
	noErr(t, "UpdateFlags UNCHANGEDSINCE", err)
	if !slices.Equal(modified, []uint32{2}) {
		t.Errorf("modified = %v, want [2]", modified)
	}
	if !slices.Equal(uidsOf(changed), []uint32{1, 3}) {
		t.Errorf("changed = %v, want [1 3]", uidsOf(changed))
	}
	m, err := s.GetMessage(ctx, inbox.ID, 2)
	noErr(t, "GetMessage", err)
	if !sameFlags(m.Flags, []string{`\Answered`}) {
		t.Errorf("UID 2 flags %s, want only \\Answered", joinFlags(m.Flags))
	}

	// With the current MODSEQ the same store goes through.
	changed, modified, err = s.UpdateFlags(ctx, inbox.ID, []uint32{2}, store.FlagsAdd, []string{`\Flagged`}, m.ModSeq)
	noErr(t, "UpdateFlags UNCHANGEDSINCE current", err)
	if len(modified) != 0 || !slices.Equal(uidsOf(changed), []uint32{2}) {
		t.Errorf("changed %v modified %v, want [2] and none", uidsOf(changed), modified)
	}
	// A message whose MODSEQ equals UNCHANGEDSINCE is not "modified since".
	cur, err := s.GetMessage(ctx, inbox.ID, 1)
	noErr(t, "GetMessage", err)
	_, modified, err = s.UpdateFlags(ctx, inbox.ID, []uint32{1}, store.FlagsRemove, []string{`\Flagged`}, cur.ModSeq)
	noErr(t, "UpdateFlags UNCHANGEDSINCE equal", err)
	if len(modified) != 0 {
		t.Errorf("modified = %v for MODSEQ equal to UNCHANGEDSINCE", modified)
	}
}

func testExpungeAndChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	msgs := mustAppend(t, s,
		newMsg(inbox.ID, 10), newMsg(inbox.ID, 20), newMsg(inbox.ID, 30, `\Seen`),
		newMsg(inbox.ID, 40), newMsg(inbox.ID, 50))
	mark, err := s.GetMailboxByID(ctx, inbox.ID)
	noErr(t, "GetMailboxByID", err)

	_, _, err = s.UpdateFlags(ctx, inbox.ID, []uint32{2}, store.FlagsAdd, []string{`\Seen`}, 0)
	noErr(t, "UpdateFlags", err)
	blobs, err := s.Expunge(ctx, inbox.ID, []uint32{4, 1, 77})
	noErr(t, "Expunge", err)
	if !sameSet(blobs, []string{msgs[0].BlobID, msgs[3].BlobID}) {
		t.Errorf("Expunge blobs = %v, want those of UIDs 1 and 4", blobs)
	}

	mb, err := s.GetMailboxByID(ctx, inbox.ID)
	noErr(t, "GetMailboxByID", err)
	if mb.Messages != 3 || mb.Size != 100 || mb.Unseen != 1 || mb.UIDNext != 6 || mb.HighestModSeq <= mark.HighestModSeq {
		t.Errorf("after expunge: %+v, want 3 messages, 100 bytes, 1 unseen, UIDNext 6, HIGHESTMODSEQ above %d",
			mb, mark.HighestModSeq)
	}
	acct, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	if acct.UsedBytes != 100 {
		t.Errorf("UsedBytes = %d, want 100", acct.UsedBytes)
	}
	list, err := s.ListMessages(ctx, inbox.ID)
	noErr(t, "ListMessages", err)
	if !slices.Equal(uidsOf(list), []uint32{2, 3, 5}) {
		t.Errorf("ListMessages = %v, want [2 3 5]", uidsOf(list))
	}
	_, err = s.GetMessage(ctx, inbox.ID, 1)
	wantErr(t, "GetMessage of expunged", err, store.ErrNotFound)

	changeTests := []struct {
		name         string
		since        uint64
		wantChanged  []uint32
		wantExpunged []uint32
	}{
		{"since the appends", mark.HighestModSeq, []uint32{2}, []uint32{1, 4}},
		{"since the beginning", 0, []uint32{2, 3, 5}, []uint32{1, 4}},
		{"since now", mb.HighestModSeq, nil, nil},
	}
	for _, tc := range changeTests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.ChangesSince(ctx, inbox.ID, tc.since)
			noErr(t, "ChangesSince", err)
			if c.HighestModSeq != mb.HighestModSeq {
				t.Errorf("HighestModSeq = %d, want %d", c.HighestModSeq, mb.HighestModSeq)
			}
			if got := uidsOf(c.Changed); !slices.Equal(got, tc.wantChanged) && len(got)+len(tc.wantChanged) > 0 {
				t.Errorf("Changed = %v, want %v", got, tc.wantChanged)
			}
			if !slices.Equal(c.Expunged, tc.wantExpunged) && len(c.Expunged)+len(tc.wantExpunged) > 0 {
				t.Errorf("Expunged = %v, want %v", c.Expunged, tc.wantExpunged)
			}
			for _, m := range c.Changed {
				if m.ModSeq <= tc.since {
					t.Errorf("Changed UID %d has MODSEQ %d <= %d", m.UID, m.ModSeq, tc.since)
				}
				if m.UID == 2 && !sameFlags(m.Flags, []string{`\Seen`}) {
					t.Errorf("Changed UID 2 flags %s", joinFlags(m.Flags))
				}
			}
		})
	}

	// Expunging what is gone changes nothing.
	blobs, err = s.Expunge(ctx, inbox.ID, []uint32{1, 4})
	noErr(t, "Expunge again", err)
	again, err := s.GetMailboxByID(ctx, inbox.ID)
	noErr(t, "GetMailboxByID", err)
	if len(blobs) != 0 || again.HighestModSeq != mb.HighestModSeq {
		t.Errorf("second expunge: blobs %v, HIGHESTMODSEQ %d -> %d", blobs, mb.HighestModSeq, again.HighestModSeq)
	}

	// UIDs are never reused (RFC 9051 section 2.3.1.1).
	next := mustAppend(t, s, newMsg(inbox.ID, 1))
	if next[0].UID != 6 {
		t.Errorf("UID after expunge = %d, want 6", next[0].UID)
	}
	c, err := s.ChangesSince(ctx, inbox.ID, mb.HighestModSeq)
	noErr(t, "ChangesSince", err)
	if !slices.Equal(uidsOf(c.Changed), []uint32{6}) || len(c.Expunged) != 0 || c.HighestModSeq != next[0].ModSeq {
		t.Errorf("ChangesSince after append = %+v", c)
	}

	_, err = s.Expunge(ctx, inbox.ID+1000, []uint32{1})
	wantErr(t, "Expunge of unknown mailbox", err, store.ErrNotFound)
	_, err = s.ChangesSince(ctx, inbox.ID+1000, 0)
	wantErr(t, "ChangesSince of unknown mailbox", err, store.ErrNotFound)
}

// testSharedBlob checks that a blob referenced by two messages (a COPY that
// reuses the blob) is reported for deletion only when the last goes.
func testSharedBlob(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	archive := mustMailbox(t, s, bob.ID, "Trash")
	orig := mustAppend(t, s, newMsg(inbox.ID, 10))
	cp := newMsg(archive.ID, 10)
	cp.BlobID = orig[0].BlobID
	cp.IgnoreQuota = true
	copied := mustAppend(t, s, cp)

	blobs, err := s.Expunge(ctx, inbox.ID, []uint32{orig[0].UID})
	noErr(t, "Expunge original", err)
	if len(blobs) != 0 {
		t.Errorf("Expunge returned %v while a copy still uses the blob", blobs)
	}
	blobs, err = s.DeleteMailbox(ctx, archive.ID)
	noErr(t, "DeleteMailbox", err)
	if !slices.Equal(blobs, []string{copied[0].BlobID}) {
		t.Errorf("DeleteMailbox blobs = %v, want the shared blob", blobs)
	}
}

func testConcurrentAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	junk := mustMailbox(t, s, bob.ID, "Junk")

	const workers, batches, perBatch = 8, 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches+workers)
	got := make([][]store.Message, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				msgs := make([]store.NewMessage, perBatch)
				for i := range msgs {
					id := inbox.ID
					if (w+b+i)%3 == 0 {
						id = junk.ID
					}
					msgs[i] = newMsg(id, int64(w+1))
				}
				res, err := s.AppendMessages(ctx, msgs)
				if err != nil {
					errs <- err
					return
				}
				for i, r := range res {
					if r.Err != nil {
						errs <- fmt.Errorf("worker %d batch %d item %d: %w", w, b, i, r.Err)
						return
					}
					got[w] = append(got[w], r.Message)
				}
				// Readers run alongside the writers.
				if _, err := s.ListMessages(ctx, inbox.ID); err != nil {
					errs <- err
					return
				}
				if _, err := s.GetMailboxByID(ctx, junk.ID); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	byMailbox := map[int64][]store.Message{}
	var size int64
	for _, ms := range got {
		for _, m := range ms {
			byMailbox[m.MailboxID] = append(byMailbox[m.MailboxID], m)
			size += m.Size
		}
	}
	total := 0
	for id, ms := range byMailbox {
		total += len(ms)
		uids := map[uint32]bool{}
		modseqs := map[uint64]bool{}
		for _, m := range ms {
			if uids[m.UID] || modseqs[m.ModSeq] {
				t.Errorf("mailbox %d: UID %d or MODSEQ %d handed out twice", id, m.UID, m.ModSeq)
			}
			uids[m.UID] = true
			modseqs[m.ModSeq] = true
		}
		for uid := uint32(1); uid <= uint32(len(ms)); uid++ {
			if !uids[uid] {
				t.Errorf("mailbox %d: UID %d missing; UIDs must have no gaps here", id, uid)
			}
		}
		mb, err := s.GetMailboxByID(ctx, id)
		noErr(t, "GetMailboxByID", err)
		if mb.Messages != uint32(len(ms)) || mb.UIDNext != uint32(len(ms))+1 {
			t.Errorf("mailbox %d = %+v, want %d messages", id, mb, len(ms))
		}
		list, err := s.ListMessages(ctx, id)
		noErr(t, "ListMessages", err)
		if len(list) != len(ms) {
			t.Errorf("ListMessages of %d: %d messages, want %d", id, len(list), len(ms))
		}
	}
	if total != workers*batches*perBatch {
		t.Errorf("stored %d messages, want %d", total, workers*batches*perBatch)
	}
	acct, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	if acct.UsedBytes != size {
		t.Errorf("UsedBytes = %d, want %d", acct.UsedBytes, size)
	}
}

func testListMessagesOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	a := mustMailbox(t, s, bob.ID, "INBOX")
	b := mustMailbox(t, s, bob.ID, "Sent")

	empty, err := s.ListMessages(ctx, a.ID)
	noErr(t, "ListMessages of empty mailbox", err)
	if len(empty) != 0 {
		t.Errorf("empty mailbox lists %d messages", len(empty))
	}
	_, err = s.ListMessages(ctx, b.ID+1000)
	wantErr(t, "ListMessages of unknown mailbox", err, store.ErrNotFound)

	var wantA []store.Message
	for round := range 3 {
		flags := []string{"$Round" + fmt.Sprint(round)}
		res := mustAppend(t, s, newMsg(a.ID, 1, flags...), newMsg(b.ID, 2), newMsg(a.ID, 3, `\Seen`), newMsg(b.ID, 4), newMsg(a.ID, 5))
		wantA = append(wantA, res[0], res[2], res[4])
	}
	check := func(want []store.Message) {
		t.Helper()
		list, err := s.ListMessages(ctx, a.ID)
		noErr(t, "ListMessages", err)
		if len(list) != len(want) {
			t.Fatalf("ListMessages: %d messages, want %d", len(list), len(want))
		}
		for i, m := range list {
			w := want[i]
			if m.ID != w.ID || m.UID != w.UID || m.ModSeq != w.ModSeq || m.BlobID != w.BlobID || m.Size != w.Size ||
				m.MailboxID != a.ID || !m.InternalDate.Equal(w.InternalDate) || !sameFlags(m.Flags, w.Flags) {
				t.Errorf("ListMessages[%d] = %+v, want %+v", i, m, w)
			}
			if i > 0 && m.UID <= list[i-1].UID {
				t.Errorf("ListMessages not in UID order at %d: %d after %d", i, m.UID, list[i-1].UID)
			}
		}
	}
	check(wantA)
	_, err = s.Expunge(ctx, a.ID, []uint32{wantA[1].UID, wantA[4].UID})
	noErr(t, "Expunge", err)
	var rest []store.Message
	for i, m := range wantA {
		if i != 1 && i != 4 {
			rest = append(rest, m)
		}
	}
	check(rest)
}

// testGetMessages: GetMessages returns what GetMessage returns for each
// existing UID, in UID order, whatever the order and duplicates of the
// request; missing and expunged UIDs and other mailboxes' messages are
// left out; more than MaxGetMessages UIDs is an error.
func testGetMessages(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	a := mustMailbox(t, s, bob.ID, "INBOX")
	b := mustMailbox(t, s, bob.ID, "Sent")
	var msgs []store.NewMessage
	for i := range 6 {
		m := newMsg(a.ID, int64(10+i), `\Seen`, "$K"+fmt.Sprint(i))
		m.Envelope = []byte(fmt.Sprintf(`{"subject":"s%d"}`, i))
		m.Structure = []byte(fmt.Sprintf(`{"size":%d}`, i))
		msgs = append(msgs, m)
	}
	all := mustAppend(t, s, msgs...)
	mustAppend(t, s, newMsg(b.ID, 99)) // UID 1 of another mailbox
	_, err := s.Expunge(ctx, a.ID, []uint32{all[2].UID})
	noErr(t, "Expunge", err)

	tests := []struct {
		name string
		uids []uint32
		want []int // indexes into all
	}{
		{"none", nil, nil},
		{"one", []uint32{all[0].UID}, []int{0}},
		{"unordered with duplicates", []uint32{all[5].UID, all[1].UID, all[5].UID, all[0].UID}, []int{0, 1, 5}},
		{"expunged and missing left out", []uint32{all[2].UID, all[3].UID, 1000, 0}, []int{3}},
		{"all", []uint32{1, 2, 3, 4, 5, 6, 7}, []int{0, 1, 3, 4, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetMessages(ctx, a.ID, tc.uids)
			noErr(t, "GetMessages", err)
			if len(got) != len(tc.want) {
				t.Fatalf("GetMessages(%v): %d messages, want %d", tc.uids, len(got), len(tc.want))
			}
			for i, m := range got {
				w, err := s.GetMessage(ctx, a.ID, all[tc.want[i]].UID)
				noErr(t, "GetMessage", err)
				if m.ID != w.ID || m.UID != w.UID || m.ModSeq != w.ModSeq || m.MailboxID != w.MailboxID ||
					m.BlobID != w.BlobID || m.Size != w.Size || !m.InternalDate.Equal(w.InternalDate) ||
					!sameFlags(m.Flags, w.Flags) || string(m.Envelope) != string(w.Envelope) ||
					string(m.Structure) != string(w.Structure) {
					t.Errorf("GetMessages[%d] = %+v, want %+v", i, m, w)
				}
			}
		})
	}
	tooMany := make([]uint32, store.MaxGetMessages+1)
	for i := range tooMany {
		tooMany[i] = uint32(i + 1)
	}
	if _, err := s.GetMessages(ctx, a.ID, tooMany); err == nil {
		t.Errorf("GetMessages of %d UIDs: no error", len(tooMany))
	}
}
