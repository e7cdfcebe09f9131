package imapd

import (
	"fmt"
	"testing"
)

func TestCondStore(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver("INBOX", testMessage(s))
	}
	c := ts.conn().login()
	hms := ts.mailbox("INBOX").HighestModSeq
	c.cmd("a SELECT INBOX (CONDSTORE)").ok().untagged(fmt.Sprintf("* OK [HIGHESTMODSEQ %d] highest modseq", hms))

	// Every FETCH carries MODSEQ now (RFC 7162 section 3.1.4.1).
	c.cmd("b FETCH 1 (FLAGS)").ok().xuntagged("* 1 FETCH (FLAGS () MODSEQ (2))")
	c.cmd(`c STORE 1 +FLAGS (\Seen)`).ok().xuntagged(fmt.Sprintf(`* 1 FETCH (FLAGS (\Seen) MODSEQ (%d))`, hms+1))
	// .SILENT still tells the new MODSEQ.
	c.cmd(`d STORE 2 +FLAGS.SILENT (\Seen)`).ok().xuntagged(fmt.Sprintf(`* 2 FETCH (MODSEQ (%d))`, hms+2))

	// UNCHANGEDSINCE: message 1 changed after hms, so it fails.
	c.cmdf(`e STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)`, hms).ok().code("MODIFIED 1:2]").
		xuntagged(fmt.Sprintf(`* 3 FETCH (FLAGS (\Flagged) MODSEQ (%d))`, hms+3))
	c.cmdf(`f UID STORE 1:3 (UNCHANGEDSINCE %d) FLAGS ()`, hms).ok().code("MODIFIED 1:3]").xuntagged()
	// UNCHANGEDSINCE 0 always fails for existing messages.
	c.cmd(`g STORE 3 (UNCHANGEDSINCE 0) -FLAGS (\Flagged)`).ok().code("MODIFIED 3]").xuntagged()

	// CHANGEDSINCE returns only what changed after the given MODSEQ.
	c.cmdf("h FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", hms+1).ok().xuntagged(
		fmt.Sprintf(`* 2 FETCH (FLAGS (\Seen) MODSEQ (%d))`, hms+2),
		fmt.Sprintf(`* 3 FETCH (FLAGS (\Flagged) MODSEQ (%d))`, hms+3))
	c.cmdf("i UID SEARCH MODSEQ %d", hms+2).ok().xuntagged(fmt.Sprintf("* SEARCH 2 3 (MODSEQ %d)", hms+3))
	c.cmd("j STATUS INBOX (HIGHESTMODSEQ)").ok().xuntagged(fmt.Sprintf("* STATUS INBOX (HIGHESTMODSEQ %d)", hms+3))

	// A FETCH with MODSEQ enables CONDSTORE in a plain session.
	d := ts.conn().login()
	d.cmd("a SELECT INBOX").ok()
	d.cmd("b FETCH 1 (UID)").ok().xuntagged("* 1 FETCH (UID 1)")
	d.cmd("c FETCH 1 (MODSEQ)").ok().xuntagged(fmt.Sprintf("* 1 FETCH (MODSEQ (%d))", hms+1))
	d.cmd("d FETCH 1 (UID)").ok().xuntagged(fmt.Sprintf("* 1 FETCH (UID 1 MODSEQ (%d))", hms+1))
}
