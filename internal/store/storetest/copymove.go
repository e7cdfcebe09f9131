package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"mailport/internal/store"
)

// mailboxState is what a copy or move must (or must not) change in a
// mailbox: its counters and its messages.
type mailboxState struct {
	mb   store.Mailbox
	msgs []store.Message
}

func stateOf(t *testing.T, s store.Store, id int64) mailboxState {
	t.Helper()
	mb, err := s.GetMailboxByID(t.Context(), id)
	noErr(t, "GetMailboxByID", err)
	msgs, err := s.ListMessages(t.Context(), id)
	noErr(t, "ListMessages", err)
	return mailboxState{mb, msgs}
}

// sameState reports whether nothing visible changed in a mailbox.
func sameState(a, b mailboxState) bool {
	if a.mb != b.mb || len(a.msgs) != len(b.msgs) {
		return false
	}
	for i := range a.msgs {
		x, y := a.msgs[i], b.msgs[i]
		if x.ID != y.ID || x.UID != y.UID || x.ModSeq != y.ModSeq || !sameFlags(x.Flags, y.Flags) {
			return false
		}
	}
	return true
}

func usedBytes(t *testing.T, s store.Store, accountID int64) int64 {
	t.Helper()
	a, err := s.GetAccount(t.Context(), accountID)
	noErr(t, "GetAccount", err)
	return a.UsedBytes
}

func pairUIDs(pairs []store.UIDPair) (src, dst []uint32) {
	for _, p := range pairs {
		src = append(src, p.Src)
		dst = append(dst, p.Dst)
	}
	return src, dst
}

// checkCopied checks that the message dst/dstUID is a copy of orig: same
// flags, date, size, blob, envelope and structure as orig (an
// AppendMessages result, which carries envelope and structure); another
// message.
func checkCopied(t *testing.T, s store.Store, orig store.Message, dst int64, dstUID uint32) store.Message {
	t.Helper()
	got, err := s.GetMessage(t.Context(), dst, dstUID)
	noErr(t, "GetMessage of copy", err)
	if got.ID == orig.ID || got.MailboxID != dst || got.UID != dstUID {
		t.Errorf("copy of UID %d is %+v: not a new message in mailbox %d", orig.UID, got, dst)
	}
	if !sameFlags(got.Flags, orig.Flags) || !got.InternalDate.Equal(orig.InternalDate) ||
		got.Size != orig.Size || got.BlobID != orig.BlobID {
		t.Errorf("copy of UID %d = %+v, want flags, date, size and blob of %+v", orig.UID, got, orig)
	}
	_, gotOff := got.InternalDate.Zone()
	_, origOff := orig.InternalDate.Zone()
	if gotOff != origOff {
		t.Errorf("copy of UID %d: internal date zone offset %d, want %d", orig.UID, gotOff, origOff)
	}
	if string(got.Envelope) != string(orig.Envelope) || string(got.Structure) != string(orig.Structure) {
		t.Errorf("copy of UID %d: envelope %q structure %q, want %q %q", orig.UID,
			got.Envelope, got.Structure, orig.Envelope, orig.Structure)
	}
	return got
}

func testCopyMessages(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	amy := mustAccount(t, s, d, "amy", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	amyInbox := mustMailbox(t, s, amy.ID, "INBOX")

	zoned := newMsg(inbox.ID, 50, `\Answered`, "$Work")
	zoned.InternalDate = time.Date(2022, 7, 8, 9, 10, 11, 0, time.FixedZone("", -7*3600))
	zoned.Envelope = []byte(`{"subject":"zoned"}`)
	orig := mustAppend(t, s,
		newMsg(inbox.ID, 10, `\Seen`),
		newMsg(inbox.ID, 20),
		zoned,
		newMsg(inbox.ID, 40, `\Seen`, `\Flagged`, `\Deleted`),
		newMsg(inbox.ID, 80))
	// A gap in the source: UID 2 is gone.
	_, err := s.Expunge(ctx, inbox.ID, []uint32{2})
	noErr(t, "Expunge", err)
	// Trash already holds a message, so the copies do not start at UID 1.
	mustAppend(t, s, newMsg(trash.ID, 5))

	srcBefore := stateOf(t, s, inbox.ID)
	dstBefore := stateOf(t, s, trash.ID)
	used := usedBytes(t, s, bob.ID)

	// Unsorted, with a duplicate, an expunged UID and one never used.
	pairs, err := s.CopyMessages(ctx, inbox.ID, []uint32{5, 2, 1, 3, 99, 3}, trash.ID)
	noErr(t, "CopyMessages", err)
	wantSrc, wantDst := []uint32{1, 3, 5}, []uint32{2, 3, 4}
	if gotSrc, gotDst := pairUIDs(pairs); !slices.Equal(gotSrc, wantSrc) || !slices.Equal(gotDst, wantDst) {
		t.Fatalf("CopyMessages pairs %v, want sources %v copied to %v in source UID order", pairs, wantSrc, wantDst)
	}
	byUID := map[uint32]store.Message{}
	for _, m := range orig {
		byUID[m.UID] = m
	}
	lastModSeq := dstBefore.mb.HighestModSeq
	for _, p := range pairs {
		c := checkCopied(t, s, byUID[p.Src], trash.ID, p.Dst)
		// Each copy has its own new MODSEQ, increasing with the UIDs.
		if c.ModSeq <= lastModSeq {
			t.Errorf("copy UID %d MODSEQ %d not above %d", p.Dst, c.ModSeq, lastModSeq)
		}
		lastModSeq = c.ModSeq
	}

	dstAfter := stateOf(t, s, trash.ID)
	// Sources 1 (seen, 10), 3 (unseen, 50), 5 (unseen, 80).
	if m := dstAfter.mb; m.Messages != 4 || m.Unseen != 3 || m.Size != 5+10+50+80 || m.UIDNext != 5 ||
		m.HighestModSeq != lastModSeq || m.UIDValidity != trash.UIDValidity {
		t.Errorf("Trash after copy = %+v, want 4 messages, 3 unseen, 145 bytes, UIDNext 5, HIGHESTMODSEQ %d", m, lastModSeq)
	}
	if got := usedBytes(t, s, bob.ID); got != used+140 {
		t.Errorf("UsedBytes after copy = %d, want %d", got, used+140)
	}
	if srcAfter := stateOf(t, s, inbox.ID); !sameState(srcBefore, srcAfter) {
		t.Errorf("source changed by copy: %+v -> %+v", srcBefore.mb, srcAfter.mb)
	}
	ch, err := s.ChangesSince(ctx, trash.ID, dstBefore.mb.HighestModSeq)
	noErr(t, "ChangesSince", err)
	if !slices.Equal(uidsOf(ch.Changed), wantDst) || len(ch.Expunged) != 0 {
		t.Errorf("ChangesSince in Trash = %v expunged %v, want the copies %v", uidsOf(ch.Changed), ch.Expunged, wantDst)
	}

	// A copy into the source mailbox itself takes the next UIDs there.
	pairs, err = s.CopyMessages(ctx, inbox.ID, []uint32{4}, inbox.ID)
	noErr(t, "CopyMessages into itself", err)
	if len(pairs) != 1 || pairs[0] != (store.UIDPair{Src: 4, Dst: srcBefore.mb.UIDNext}) {
		t.Errorf("copy into itself: pairs %v, want 4 -> %d", pairs, srcBefore.mb.UIDNext)
	} else {
		checkCopied(t, s, byUID[4], inbox.ID, pairs[0].Dst)
	}

	// Nothing to copy is no error and changes nothing.
	dstBefore = stateOf(t, s, trash.ID)
	pairs, err = s.CopyMessages(ctx, inbox.ID, []uint32{2, 77}, trash.ID)
	noErr(t, "CopyMessages of missing UIDs", err)
	if len(pairs) != 0 || !sameState(dstBefore, stateOf(t, s, trash.ID)) {
		t.Errorf("copy of missing UIDs: pairs %v, Trash %+v -> %+v", pairs, dstBefore.mb, stateOf(t, s, trash.ID).mb)
	}
	pairs, err = s.CopyMessages(ctx, inbox.ID, nil, trash.ID)
	if err != nil || len(pairs) != 0 {
		t.Errorf("copy of no UIDs = %v, %v", pairs, err)
	}

	// Refusals change nothing in either mailbox.
	refusals := []struct {
		name     string
		src, dst int64
		want     error // nil: any error
	}{
		{"dst in another account", inbox.ID, amyInbox.ID, nil},
		{"src in another account", amyInbox.ID, inbox.ID, nil},
		{"unknown dst", inbox.ID, amyInbox.ID + 1000, store.ErrNotFound},
		{"unknown src", amyInbox.ID + 1000, trash.ID, store.ErrNotFound},
	}
	mustAppend(t, s, newMsg(amyInbox.ID, 7))
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := map[int64]mailboxState{}
			for _, id := range []int64{inbox.ID, trash.ID, amyInbox.ID} {
				before[id] = stateOf(t, s, id)
			}
			usedBob, usedAmy := usedBytes(t, s, bob.ID), usedBytes(t, s, amy.ID)
			pairs, err := s.CopyMessages(ctx, tc.src, []uint32{1}, tc.dst)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("CopyMessages = %v, %v; want error %v", pairs, err, tc.want)
			}
			for id, b := range before {
				if after := stateOf(t, s, id); !sameState(b, after) {
					t.Errorf("mailbox %d changed by refused copy: %+v -> %+v", id, b.mb, after.mb)
				}
			}
			if usedBytes(t, s, bob.ID) != usedBob || usedBytes(t, s, amy.ID) != usedAmy {
				t.Errorf("usage changed by refused copy")
			}
		})
	}
}

func testCopyQuota(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 1000)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	mustAppend(t, s, newMsg(inbox.ID, 300), newMsg(inbox.ID, 200), newMsg(inbox.ID, 100)) // 600 used

	// 600 + 300 + 200 > 1000 although the first message alone would
	// fit: the whole copy is refused.
	before := stateOf(t, s, trash.ID)
	pairs, err := s.CopyMessages(ctx, inbox.ID, []uint32{1, 2}, trash.ID)
	wantErr(t, "CopyMessages over quota", err, store.ErrOverQuota)
	if len(pairs) != 0 {
		t.Errorf("refused copy returned pairs %v", pairs)
	}
	if after := stateOf(t, s, trash.ID); !sameState(before, after) {
		t.Errorf("refused copy changed Trash: %+v -> %+v", before.mb, after.mb)
	}
	if got := usedBytes(t, s, bob.ID); got != 600 {
		t.Errorf("UsedBytes after refused copy = %d, want 600", got)
	}

	// Exactly up to the quota is allowed (as for appends); then even the
	// smallest copy is refused.
	pairs, err = s.CopyMessages(ctx, inbox.ID, []uint32{1, 3}, trash.ID)
	noErr(t, "CopyMessages up to the quota", err)
	if len(pairs) != 2 || usedBytes(t, s, bob.ID) != 1000 {
		t.Errorf("copy to the quota: pairs %v, UsedBytes %d, want 2 pairs and 1000", pairs, usedBytes(t, s, bob.ID))
	}
	_, err = s.CopyMessages(ctx, inbox.ID, []uint32{3}, inbox.ID)
	wantErr(t, "CopyMessages at the quota", err, store.ErrOverQuota)
}

// testCopySharesBlob checks that copies share the blob and that it is
// reported for deletion only when the last message using it goes.
func testCopySharesBlob(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	sent := mustMailbox(t, s, bob.ID, "Sent")
	orig := mustAppend(t, s, newMsg(inbox.ID, 10), newMsg(inbox.ID, 20))

	pairs, err := s.CopyMessages(ctx, inbox.ID, []uint32{1, 2}, trash.ID)
	noErr(t, "CopyMessages", err)
	if len(pairs) != 2 {
		t.Fatalf("pairs %v", pairs)
	}
	blobs, err := s.Expunge(ctx, inbox.ID, []uint32{1, 2})
	noErr(t, "Expunge originals", err)
	if len(blobs) != 0 {
		t.Errorf("Expunge of originals returned %v while the copies use them", blobs)
	}
	blobs, err = s.Expunge(ctx, trash.ID, []uint32{pairs[0].Dst})
	noErr(t, "Expunge copy", err)
	if !slices.Equal(blobs, []string{orig[0].BlobID}) {
		t.Errorf("Expunge of the last copy returned %v, want %v", blobs, orig[0].BlobID)
	}

	// A copy of a copy, then a move: the blob stays until the last one.
	_, err = s.CopyMessages(ctx, trash.ID, []uint32{pairs[1].Dst}, sent.ID)
	noErr(t, "CopyMessages of a copy", err)
	moved, err := s.MoveMessages(ctx, sent.ID, []uint32{1}, inbox.ID)
	noErr(t, "MoveMessages", err)
	blobs, err = s.DeleteMailbox(ctx, trash.ID)
	noErr(t, "DeleteMailbox", err)
	if len(blobs) != 0 {
		t.Errorf("DeleteMailbox returned %v while a moved copy uses it", blobs)
	}
	blobs, err = s.Expunge(ctx, inbox.ID, []uint32{moved[0].Dst})
	noErr(t, "Expunge moved copy", err)
	if !slices.Equal(blobs, []string{orig[1].BlobID}) {
		t.Errorf("Expunge of the last copy returned %v, want %v", blobs, orig[1].BlobID)
	}
}

func testMoveMessages(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	orig := mustAppend(t, s,
		newMsg(inbox.ID, 10, `\Seen`),
		newMsg(inbox.ID, 20, `\Flagged`, "$Later"),
		newMsg(inbox.ID, 30),
		newMsg(inbox.ID, 40, `\Seen`, `\Answered`))
	mustAppend(t, s, newMsg(trash.ID, 1))
	srcBefore := stateOf(t, s, inbox.ID)
	dstBefore := stateOf(t, s, trash.ID)
	used := usedBytes(t, s, bob.ID)

	pairs, err := s.MoveMessages(ctx, inbox.ID, []uint32{4, 2, 9}, trash.ID)
	noErr(t, "MoveMessages", err)
	if want := []store.UIDPair{{Src: 2, Dst: 2}, {Src: 4, Dst: 3}}; !slices.Equal(pairs, want) {
		t.Fatalf("MoveMessages pairs %v, want %v", pairs, want)
	}
	checkCopied(t, s, orig[1], trash.ID, 2)
	checkCopied(t, s, orig[3], trash.ID, 3)

	// The sources are gone, with tombstones above the old HIGHESTMODSEQ.
	src := stateOf(t, s, inbox.ID)
	if !slices.Equal(uidsOf(src.msgs), []uint32{1, 3}) {
		t.Errorf("INBOX after move holds %v, want [1 3]", uidsOf(src.msgs))
	}
	if m := src.mb; m.Messages != 2 || m.Unseen != 1 || m.Size != 40 || m.UIDNext != 5 ||
		m.HighestModSeq <= srcBefore.mb.HighestModSeq {
		t.Errorf("INBOX after move = %+v, want 2 messages, 1 unseen, 40 bytes, UIDNext 5, higher HIGHESTMODSEQ", m)
	}
	ch, err := s.ChangesSince(ctx, inbox.ID, srcBefore.mb.HighestModSeq)
	noErr(t, "ChangesSince in source", err)
	if !slices.Equal(ch.Expunged, []uint32{2, 4}) || len(ch.Changed) != 0 || ch.HighestModSeq != src.mb.HighestModSeq {
		t.Errorf("ChangesSince in source = %+v, want expunged [2 4] only", ch)
	}
	for _, uid := range []uint32{2, 4} {
		_, err := s.GetMessage(ctx, inbox.ID, uid)
		wantErr(t, "GetMessage of moved source", err, store.ErrNotFound)
	}
	dst := stateOf(t, s, trash.ID)
	if m := dst.mb; m.Messages != 3 || m.Unseen != 2 || m.Size != 61 || m.UIDNext != 4 {
		t.Errorf("Trash after move = %+v, want 3 messages, 2 unseen, 61 bytes, UIDNext 4", m)
	}
	ch, err = s.ChangesSince(ctx, trash.ID, dstBefore.mb.HighestModSeq)
	noErr(t, "ChangesSince in destination", err)
	if !slices.Equal(uidsOf(ch.Changed), []uint32{2, 3}) || len(ch.Expunged) != 0 {
		t.Errorf("ChangesSince in destination = %+v, want the moved messages", ch)
	}
	if got := usedBytes(t, s, bob.ID); got != used {
		t.Errorf("UsedBytes after move = %d, want unchanged %d", got, used)
	}

	// Moving what is not there is no error and changes nothing.
	before := stateOf(t, s, inbox.ID)
	pairs, err = s.MoveMessages(ctx, inbox.ID, []uint32{2, 4, 100}, trash.ID)
	noErr(t, "MoveMessages of missing UIDs", err)
	if len(pairs) != 0 || !sameState(before, stateOf(t, s, inbox.ID)) || !sameState(dst, stateOf(t, s, trash.ID)) {
		t.Errorf("move of missing UIDs: pairs %v, mailboxes changed", pairs)
	}

	// Within one mailbox a move renumbers: new UID, old one expunged.
	pairs, err = s.MoveMessages(ctx, inbox.ID, []uint32{1}, inbox.ID)
	noErr(t, "MoveMessages within a mailbox", err)
	if len(pairs) != 1 || pairs[0] != (store.UIDPair{Src: 1, Dst: 5}) {
		t.Errorf("move within INBOX: pairs %v, want 1 -> 5", pairs)
	}
	if got := uidsOf(stateOf(t, s, inbox.ID).msgs); !slices.Equal(got, []uint32{3, 5}) {
		t.Errorf("INBOX after move within holds %v, want [3 5]", got)
	}
	if got := usedBytes(t, s, bob.ID); got != used {
		t.Errorf("UsedBytes after move within = %d, want %d", got, used)
	}
}

// testMoveAtomic checks that a move that cannot be done leaves the source
// as it was (RFC 6851 section 3.3: never neither), and that a full account
// can still move (it is how a user makes room).
func testMoveAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 100)
	amy := mustAccount(t, s, d, "amy", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	trash := mustMailbox(t, s, bob.ID, "Trash")
	amyInbox := mustMailbox(t, s, amy.ID, "INBOX")
	mustAppend(t, s, newMsg(inbox.ID, 60), newMsg(inbox.ID, 40)) // the quota is full

	refusals := []struct {
		name string
		dst  int64
	}{
		{"unknown dst", amyInbox.ID + 1000},
		{"dst in another account", amyInbox.ID},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := stateOf(t, s, inbox.ID)
			amyBefore := stateOf(t, s, amyInbox.ID)
			pairs, err := s.MoveMessages(ctx, inbox.ID, []uint32{1, 2}, tc.dst)
			if err == nil {
				t.Fatalf("MoveMessages to %s = %v, want an error", tc.name, pairs)
			}
			if after := stateOf(t, s, inbox.ID); !sameState(before, after) {
				t.Errorf("refused move changed the source: %+v -> %+v", before.mb, after.mb)
			}
			ch, err := s.ChangesSince(ctx, inbox.ID, before.mb.HighestModSeq)
			noErr(t, "ChangesSince", err)
			if len(ch.Expunged) != 0 || len(ch.Changed) != 0 {
				t.Errorf("refused move left changes %+v", ch)
			}
			if after := stateOf(t, s, amyInbox.ID); !sameState(amyBefore, after) {
				t.Errorf("refused move changed the other account's INBOX")
			}
			if usedBytes(t, s, bob.ID) != 100 || usedBytes(t, s, amy.ID) != 0 {
				t.Errorf("refused move changed usage")
			}
		})
	}
	_, err := s.MoveMessages(ctx, amyInbox.ID+1000, []uint32{1}, trash.ID)
	wantErr(t, "MoveMessages from unknown mailbox", err, store.ErrNotFound)

	pairs, err := s.MoveMessages(ctx, inbox.ID, []uint32{1, 2}, trash.ID)
	noErr(t, "MoveMessages with a full quota", err)
	if len(pairs) != 2 || usedBytes(t, s, bob.ID) != 100 {
		t.Errorf("move at full quota: pairs %v, UsedBytes %d", pairs, usedBytes(t, s, bob.ID))
	}
}
