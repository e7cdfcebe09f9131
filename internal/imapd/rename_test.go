package imapd

import (
	"testing"
)

func TestRename(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	c.cmd("a CREATE Work/Sub").ok()
	ts.deliver("Work", testMessage("one"))
	uidValidity := ts.mailbox("Work").UIDValidity

	c.cmd("b RENAME Work Job").ok()
	c.cmd(`c LIST "" Job*`).ok().xuntagged(
		`* LIST (\HasChildren) "/" Job`,
		`* LIST (\HasNoChildren) "/" Job/Sub`,
	)
	if got := ts.mailbox("Job").UIDValidity; got != uidValidity {
		t.Errorf("UIDVALIDITY changed by RENAME: %d, was %d", got, uidValidity)
	}
	c.cmd("d RENAME nosuch Other").no().code("NONEXISTENT")
	c.cmd("e RENAME Job Sent").no().code("ALREADYEXISTS")
	c.cmd("f RENAME Job Deep/Er/Job").ok()
	c.cmd(`g LIST "" Deep/*`).ok().untagged(`* LIST (\HasChildren) "/" Deep/Er/Job`)
}

// RFC 9051 section 6.3.6: renaming INBOX moves its messages to the new
// mailbox and leaves INBOX, empty.
func TestRenameInbox(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"))
	ts.deliver("INBOX", testMessage("two"), `\Seen`)
	c := ts.conn().login()
	c.cmd("a RENAME INBOX Old").ok()
	c.cmd("b STATUS INBOX (MESSAGES)").ok().xuntagged("* STATUS INBOX (MESSAGES 0)")
	c.cmd("c STATUS Old (MESSAGES UNSEEN)").ok().xuntagged("* STATUS Old (MESSAGES 2 UNSEEN 1)")
	c.cmd("d SELECT Old").ok().untagged("* 2 EXISTS")
	c.cmd("e FETCH 2 (FLAGS)").ok().xuntagged(`* 2 FETCH (FLAGS (\Seen))`)
	c.cmd("f RENAME INBOX Old").no().code("ALREADYEXISTS")
}
