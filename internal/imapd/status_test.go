package imapd

import (
	"fmt"
	"testing"
)

func TestStatus(t *testing.T) {
	ts := newTestServer(t)
	m1 := ts.deliver("INBOX", testMessage("one"), `\Seen`)
	m2 := ts.deliver("INBOX", testMessage("two"), `\Deleted`)
	inbox := ts.mailbox("INBOX")
	c := ts.conn().login()
	c.cmd("a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)").ok().
		xuntagged(fmt.Sprintf("* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 DELETED 1 SIZE %d RECENT 0 HIGHESTMODSEQ %d APPENDLIMIT 52428800)",
			inbox.UIDValidity, m1.Size+m2.Size, inbox.HighestModSeq))
	c.cmd("b STATUS Sent (MESSAGES UNSEEN)").ok().xuntagged("* STATUS Sent (MESSAGES 0 UNSEEN 0)")
	c.cmd("c STATUS nosuch (MESSAGES)").no().code("NONEXISTENT")
	c.cmd("d STATUS INBOX (BOGUS)").bad()
}
