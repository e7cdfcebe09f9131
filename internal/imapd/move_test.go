package imapd

import (
	"fmt"
	"testing"
)

func TestMove(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver("INBOX", testMessage(s))
	}
	trash := ts.mailbox("Trash")
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	other := ts.conn().login()
	other.cmd("a SELECT INBOX").ok()

	// RFC 6851 section 4.3: COPYUID in an untagged OK, then EXPUNGE.
	c.cmd("b MOVE 1,3 Trash").ok().xuntagged(
		fmt.Sprintf("* OK [COPYUID %d 1,3 1:2] moved", trash.UIDValidity),
		"* 3 EXPUNGE", "* 1 EXPUNGE")
	other.cmd("b NOOP").ok().xuntagged("* 3 EXPUNGE", "* 1 EXPUNGE")
	c.cmd("c UID MOVE 2 Trash").ok().xuntagged(
		fmt.Sprintf("* OK [COPYUID %d 2 3] moved", trash.UIDValidity), "* 1 EXPUNGE")
	c.cmd("d MOVE 1 Trash").ok().xuntagged() // empty mailbox: nothing to move
	c.cmd("e STATUS Trash (MESSAGES)").ok().xuntagged("* STATUS Trash (MESSAGES 3)")
	c.cmd("f UID MOVE 1 nosuch").no().code("TRYCREATE")

	t.Run("qresync", func(t *testing.T) {
		c := ts.conn().login()
		c.cmd("a ENABLE QRESYNC").ok()
		c.cmd("b SELECT Trash").ok()
		c.cmd("c UID MOVE 1:2 INBOX").ok().untagged("* VANISHED 1:2").notUntagged("* 1 EXPUNGE")
	})
	t.Run("read-only", func(t *testing.T) {
		c := ts.conn().login()
		c.cmd("a EXAMINE Trash").ok()
		c.cmd("b MOVE 1 INBOX").no()
	})
}
