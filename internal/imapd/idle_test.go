package imapd

import (
	"testing"
)

// A delivery, a flag change and an expunge by another session reach an
// idling client as they happen, woken by the change bus.
func TestIdle(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"))
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	other := ts.conn().login()
	other.cmd("a SELECT INBOX").ok()

	c.write("b IDLE\r\n")
	c.expect("+ idling")
	ts.deliver("INBOX", testMessage("two"))
	c.expect("* 2 EXISTS")
	other.cmd(`b STORE 1 +FLAGS (\Seen)`).ok()
	c.expect(`* 1 FETCH (FLAGS (\Seen) UID 1)`)
	other.cmd(`c STORE 1 +FLAGS.SILENT (\Deleted)`).ok()
	c.expect(`* 1 FETCH (FLAGS (\Deleted \Seen) UID 1)`)
	other.cmd("d EXPUNGE").ok()
	c.expect("* 1 EXPUNGE")
	// Changes in other mailboxes do not wake it with anything to say.
	ts.deliver("Sent", testMessage("elsewhere"))
	ts.deliver("INBOX", testMessage("three"))
	c.expect("* 2 EXISTS")
	c.write("DONE\r\n")
	c.readResponse("b").ok().xuntagged()
	c.cmd("c FETCH 1:* (UID)").ok().xuntagged("* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)")

	// IDLE without a selected mailbox just waits for DONE.
	d := ts.conn().login()
	d.write("a IDLE\r\n")
	d.expect("+ idling")
	d.write("DONE\r\n")
	d.readResponse("a").ok()
	// Anything but DONE ends IDLE with BAD.
	d.write("b IDLE\r\n")
	d.expect("+ idling")
	d.write("NOTDONE\r\n")
	d.readResponse("b").bad()
	d.cmd("c NOOP").ok()
}

// QRESYNC clients get VANISHED while idling.
func TestIdleQResync(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"))
	c := ts.conn().login()
	c.cmd("a ENABLE QRESYNC").ok()
	c.cmd("b SELECT INBOX").ok()
	other := ts.conn().login()
	other.cmd("a SELECT INBOX").ok()
	c.write("c IDLE\r\n")
	c.expect("+ idling")
	other.cmd(`b STORE 1 +FLAGS.SILENT (\Deleted)`).ok()
	line := c.readLine()
	if line[:len("* 1 FETCH (FLAGS (\\Deleted) UID 1 MODSEQ (")] != "* 1 FETCH (FLAGS (\\Deleted) UID 1 MODSEQ (" {
		t.Fatalf("flag change %q", line)
	}
	other.cmd("c EXPUNGE").ok()
	c.expect("* VANISHED 1")
	c.write("DONE\r\n")
	c.readResponse("c").ok()
}
