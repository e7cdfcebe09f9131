package imapd

import (
	"fmt"
	"testing"
)

// RFC 7162 section 3.2.5: SELECT (QRESYNC ...) reports exactly the
// changes since the client's MODSEQ.
func TestQResync(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three", "four"} {
		ts.deliver("INBOX", testMessage(s))
	}
	inbox := ts.mailbox("INBOX")
	uv, hms := inbox.UIDValidity, inbox.HighestModSeq

	// Changes while the client is away.
	o := ts.conn().login()
	o.cmd("a SELECT INBOX").ok()
	o.cmd(`b STORE 2 +FLAGS (\Seen)`).ok()
	o.cmd(`c STORE 3 +FLAGS.SILENT (\Deleted)`).ok()
	o.cmd("d EXPUNGE").ok()
	ts.deliver("INBOX", testMessage("five"))

	c := ts.conn().login()
	c.cmd("a SELECT INBOX (QRESYNC (1 2))").bad() // not enabled
	c.cmd("b ENABLE QRESYNC").ok().xuntagged("* ENABLED QRESYNC")
	c.cmdf("c SELECT INBOX (QRESYNC (%d %d 1:4))", uv, hms).ok().
		untagged("* VANISHED (EARLIER) 3",
			fmt.Sprintf(`* 2 FETCH (FLAGS (\Seen) UID 2 MODSEQ (%d))`, hms+1),
			fmt.Sprintf(`* 4 FETCH (FLAGS () UID 5 MODSEQ (%d))`, hms+4),
			"* 4 EXISTS")
	if n := len(c.untaggedWith("* VANISHED")) + len(c.untaggedWith("* 1 FETCH")) + len(c.untaggedWith("* 3 FETCH")); n != 1 {
		t.Errorf("unexpected responses: %q", c.responses())
	}
	// A wrong UIDVALIDITY gets a plain SELECT.
	c.cmdf("d SELECT INBOX (QRESYNC (%d %d))", uv+1, hms).ok().notUntagged("* VANISHED").notUntagged("* 2 FETCH")

	// UID FETCH ... (CHANGEDSINCE m VANISHED).
	c.cmdf("e UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", hms).ok().xuntagged(
		"* VANISHED (EARLIER) 3",
		fmt.Sprintf(`* 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (%d))`, hms+1),
		fmt.Sprintf(`* 4 FETCH (UID 5 FLAGS () MODSEQ (%d))`, hms+4))
	// Expunges by others arrive as VANISHED.
	o.cmd(`e STORE 1 +FLAGS.SILENT (\Deleted)`).ok()
	o.cmd("f EXPUNGE").ok()
	c.cmd("f NOOP").ok().untagged("* VANISHED 1")
}
