package imapd

import (
	"fmt"
	"testing"
)

func TestSelect(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"), `\Seen`)
	ts.deliver("INBOX", testMessage("two"), "$Forwarded")
	inbox := ts.mailbox("INBOX")

	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok().code("READ-WRITE").xuntagged(
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded)`,
		"* 2 EXISTS",
		"* 0 RECENT",
		"* OK [UNSEEN 2] first unseen",
		fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", inbox.UIDValidity),
		"* OK [UIDNEXT 3] predicted next UID",
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] flags permitted`,
		fmt.Sprintf("* OK [HIGHESTMODSEQ %d] highest modseq", inbox.HighestModSeq),
	)
	// Selecting another mailbox closes the first one (RFC 7162 3.2.11).
	c.cmd("b EXAMINE Sent").ok().code("READ-ONLY").
		untagged("* OK [CLOSED] previous mailbox closed", "* 0 EXISTS", "* OK [PERMANENTFLAGS ()] read-only mailbox")
	c.cmd("c STORE 1 +FLAGS (\\Seen)").no()
	c.cmd("d SELECT nosuch").no().code("NONEXISTENT")
	// A failed SELECT leaves no mailbox selected.
	c.cmd("e FETCH 1 FLAGS").bad()
	c.cmd("f SELECT inbox").ok().untagged("* 2 EXISTS")
	c.cmd("g UNSELECT").ok()
	c.cmd("h FETCH 1 FLAGS").bad()

	t.Run("imap4rev2", func(t *testing.T) {
		c := ts.conn().login()
		c.cmd("a ENABLE IMAP4rev2").ok().untagged("* ENABLED IMAP4rev2")
		c.cmd("b SELECT INBOX").ok().untagged(`* LIST () "/" INBOX`).notUntagged("* 0 RECENT").notUntagged("* OK [UNSEEN")
		c.cmd("c EXAMINE Sent").ok().untagged(`* LIST (\Sent) "/" Sent`)
	})
}

func TestCloseUnselect(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"), `\Deleted`)
	ts.deliver("INBOX", testMessage("two"))
	c := ts.conn().login()

	c.cmd("a EXAMINE INBOX").ok()
	c.cmd("b CLOSE").ok().xuntagged() // read-only: nothing expunged
	c.cmd("c SELECT INBOX").ok().untagged("* 2 EXISTS")
	c.cmd("d UNSELECT").ok().xuntagged()
	c.cmd("e SELECT INBOX").ok().untagged("* 2 EXISTS")
	c.cmd("f CHECK").ok()
	c.cmd("g CLOSE").ok().xuntagged() // silent expunge
	c.cmd("h SELECT INBOX").ok().untagged("* 1 EXISTS")
}
