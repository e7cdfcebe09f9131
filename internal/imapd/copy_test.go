package imapd

import (
	"fmt"
	"testing"
)

func TestCopy(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver("INBOX", testMessage(s), `\Flagged`)
	}
	archive := ts.mailbox("Archive")
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	c.cmd("b COPY 2:3 Archive").ok().code(fmt.Sprintf("COPYUID %d 2:3 1:2]", archive.UIDValidity)).xuntagged()
	c.cmd("c UID COPY 1 Archive").ok().code(fmt.Sprintf("COPYUID %d 1 3]", archive.UIDValidity))
	c.cmd("d COPY 1 nosuch").no().code("TRYCREATE")
	c.cmd("e COPY 9 Archive").bad()
	c.cmd("f UID COPY 9 Archive").ok()
	c.cmd("g COPY 1 INBOX").ok().untagged("* 4 EXISTS")
	c.cmd("h STATUS Archive (MESSAGES)").ok().xuntagged("* STATUS Archive (MESSAGES 3)")
	c.cmd("i EXAMINE Archive").ok()
	c.cmd("j FETCH 1:* (FLAGS)").ok().untagged(`* 1 FETCH (FLAGS (\Flagged))`)
}
