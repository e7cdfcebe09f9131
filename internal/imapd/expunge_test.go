package imapd

import (
	"testing"
)

func TestExpunge(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three", "four"} {
		ts.deliver("INBOX", testMessage(s))
	}
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	c.cmd(`b STORE 1,3,4 +FLAGS.SILENT (\Deleted)`).ok()
	c.cmd("c UID EXPUNGE 1:3").ok().xuntagged("* 3 EXPUNGE", "* 1 EXPUNGE")
	c.cmd("d FETCH 1:* (UID)").ok().xuntagged("* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)")
	c.cmd("e EXPUNGE").ok().xuntagged("* 2 EXPUNGE")
	c.cmd("f EXPUNGE").ok().xuntagged()
	c.cmd("g EXAMINE INBOX").ok()
	c.cmd("h EXPUNGE").no()
}

// RFC 9051 section 7.5.1: no EXPUNGE during FETCH, STORE or SEARCH by
// sequence number; the next allowed command reports it.
func TestExpungeDeferred(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver("INBOX", testMessage(s))
	}
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	other := ts.conn().login()
	other.cmd("a SELECT INBOX").ok()
	other.cmd(`b STORE 2 +FLAGS.SILENT (\Deleted)`).ok()
	other.cmd("c EXPUNGE").ok().xuntagged("* 2 EXPUNGE")
	ts.deliver("INBOX", testMessage("four"))

	// Flag changes and new messages may be reported; the expunge not,
	// and sequence numbers stay as the client knows them.
	c.cmd("b FETCH 3 (UID)").ok().xuntagged("* 3 FETCH (UID 3)", "* 4 EXISTS")
	c.cmd(`c STORE 3 +FLAGS (\Seen)`).ok().xuntagged(`* 3 FETCH (FLAGS (\Seen))`)
	c.cmd("d SEARCH ALL").ok().xuntagged("* SEARCH 1 2 3 4")
	// A UID command may report it.
	c.cmd("e UID FETCH 3 (FLAGS)").ok().xuntagged(`* 3 FETCH (UID 3 FLAGS (\Seen))`, "* 2 EXPUNGE")
	c.cmd("f FETCH 1:* (UID)").ok().xuntagged("* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)")

	// NOOP reports a deferred expunge too.
	other.cmd(`d STORE 1 +FLAGS.SILENT (\Deleted)`).ok()
	other.cmd("e EXPUNGE").ok()
	c.cmd("g FETCH 1 (UID)").ok().xuntagged("* 1 FETCH (UID 1)")
	c.cmd("h NOOP").ok().xuntagged("* 1 EXPUNGE")
}

// A message another session expunged is still in this session's view until
// the expunge may be reported; fetching its body then answers for the rest
// and says why one is missing (RFC 5530 EXPUNGEISSUED).
func TestFetchExpungedByOther(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two"} {
		ts.deliver("INBOX", testMessage(s))
	}
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	other := ts.conn().login()
	other.cmd("a SELECT INBOX").ok()
	other.cmd(`b STORE 1 +FLAGS.SILENT (\Deleted)`).ok()
	other.cmd("c EXPUNGE").ok()
	c.cmd("b FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").no().code("EXPUNGEISSUED")
	if got := c.untaggedWith("* 2 FETCH"); len(got) != 1 {
		t.Fatalf("message 2 not fetched: %v", c.responses())
	}
	if got := c.untaggedWith("* 1 FETCH"); len(got) != 0 {
		t.Fatalf("expunged message fetched: %v", got)
	}
	c.cmd("c NOOP").ok().untagged("* 1 EXPUNGE")
}
