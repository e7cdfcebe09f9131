package storetest

import (
	"strings"
	"testing"

	"mailport/internal/mime"
	"mailport/internal/store"
)

// testHeaderSize checks store.Message.HeaderSize: taken from the root
// body offset of a structure in package mime's format when a message is
// added, 0 for structures it cannot read, and carried by every listing
// and by copies.
func testHeaderSize(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")

	header := "From: a@example.com\r\nSubject: header size\r\n\r\n"
	raw := header + "body\r\n"
	parsed, err := mime.Parse(strings.NewReader(raw))
	noErr(t, "mime.Parse", err)
	structure, err := mime.Marshal(parsed)
	noErr(t, "mime.Marshal", err)

	good := newMsg(inbox.ID, int64(len(raw)))
	good.Structure = structure
	other := newMsg(inbox.ID, 100) // newMsg's structure is not mime's
	broken := newMsg(inbox.ID, 100)
	broken.Structure = []byte(`{"v":1,"root":`)
	short := newMsg(inbox.ID, 10) // the offset lies beyond the message
	short.Structure = structure
	added := mustAppend(t, s, good, other, broken, short)
	want := map[uint32]int64{added[0].UID: int64(len(header)), added[1].UID: 0, added[2].UID: 0, added[3].UID: 0}
	check := func(what string, msgs []store.Message) {
		t.Helper()
		for _, m := range msgs {
			if w, ok := want[m.UID]; ok && m.HeaderSize != w {
				t.Errorf("%s: uid %d HeaderSize %d, want %d", what, m.UID, m.HeaderSize, w)
			}
		}
	}
	check("AppendMessages", added)
	list, err := s.ListMessages(ctx, inbox.ID)
	noErr(t, "ListMessages", err)
	check("ListMessages", list)
	got, err := s.GetMessages(ctx, inbox.ID, uidsOf(added))
	noErr(t, "GetMessages", err)
	check("GetMessages", got)
	one, err := s.GetMessage(ctx, inbox.ID, added[0].UID)
	noErr(t, "GetMessage", err)
	check("GetMessage", []store.Message{one})
	c, err := s.ChangesSince(ctx, inbox.ID, 0)
	noErr(t, "ChangesSince", err)
	check("ChangesSince", c.Changed)
	changed, _, err := s.UpdateFlags(ctx, inbox.ID, uidsOf(added), store.FlagsAdd, []string{store.FlagSeen}, 0)
	noErr(t, "UpdateFlags", err)
	check("UpdateFlags", changed)

	pairs, err := s.CopyMessages(ctx, inbox.ID, []uint32{added[0].UID}, sent.ID)
	noErr(t, "CopyMessages", err)
	copied, err := s.GetMessage(ctx, sent.ID, pairs[0].Dst)
	noErr(t, "GetMessage of the copy", err)
	if copied.HeaderSize != int64(len(header)) {
		t.Errorf("copy: HeaderSize %d, want %d", copied.HeaderSize, len(header))
	}
}
