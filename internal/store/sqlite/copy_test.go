package sqlite

import (
	"math"
	"testing"

	"mailport/internal/store"
)

// TestCopyUIDExhaustion checks that a copy needing more UIDs than the
// destination has left is refused whole, like an append past the last UID.
func TestCopyUIDExhaustion(t *testing.T) {
	db, a, inbox := setup(t)
	ctx := t.Context()
	full, err := db.CreateMailbox(ctx, a.ID, store.MailboxSpec{Name: "Full"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.AppendMessages(ctx, []store.NewMessage{
		{MailboxID: inbox.ID, Size: 1, BlobID: "a"},
		{MailboxID: inbox.ID, Size: 1, BlobID: "b"},
	})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatal(err, res)
	}
	// One UID (2^32-2) is left in Full.
	if _, err := db.w.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ? WHERE id = ?`, int64(math.MaxUint32-1), full.ID); err != nil {
		t.Fatal(err)
	}
	if pairs, err := db.CopyMessages(ctx, inbox.ID, []uint32{1, 2}, full.ID); err == nil {
		t.Fatalf("copy of 2 messages into 1 free UID = %v", pairs)
	}
	mb, err := db.GetMailboxByID(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.Messages != 0 || mb.UIDNext != math.MaxUint32-1 {
		t.Errorf("refused copy left %+v", mb)
	}
	pairs, err := db.CopyMessages(ctx, inbox.ID, []uint32{2}, full.ID)
	if err != nil || len(pairs) != 1 || pairs[0].Dst != math.MaxUint32-1 {
		t.Errorf("copy into the last UID = %v, %v", pairs, err)
	}
	if _, err := db.MoveMessages(ctx, inbox.ID, []uint32{1}, full.ID); err == nil {
		t.Error("move into a mailbox without UIDs left succeeded")
	}
	if list, err := db.ListMessages(ctx, inbox.ID); err != nil || len(list) != 2 {
		t.Errorf("refused move changed the source: %v, %v", list, err)
	}
}
