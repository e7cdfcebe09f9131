package imapd

import (
	"testing"
)

func TestEnable(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn()
	c.cmd("a ENABLE CONDSTORE").bad() // not before login
	c.login()
	c.cmd("b ENABLE CONDSTORE X-UNKNOWN").ok().xuntagged("* ENABLED CONDSTORE")
	c.cmd("c ENABLE CONDSTORE").ok().xuntagged("* ENABLED")
	c.cmd("d ENABLE QRESYNC UTF8=ACCEPT").ok().xuntagged("* ENABLED QRESYNC UTF8=ACCEPT")
	c.cmd("e ENABLE IMAP4rev2").ok().xuntagged("* ENABLED IMAP4rev2")
	c.cmd(`f CREATE "Entwürfe"`).ok()
	c.cmd(`g LIST "" Entw*`).ok().xuntagged(`* LIST (\HasNoChildren) "/" "Entwürfe"`)

	// IMAP4rev2 SEARCH answers with ESEARCH (RFC 9051 section 6.4.4).
	ts.deliver("INBOX", testMessage("one"))
	c.cmd("h SELECT INBOX").ok()
	c.cmd("i SEARCH ALL").ok().xuntagged(`* ESEARCH (TAG "i") ALL 1`)
	c.cmd("j UID SEARCH RETURN (COUNT MIN) ALL").ok().xuntagged(`* ESEARCH (TAG "j") UID MIN 1 COUNT 1`)

	// Another session without UTF-8 sees modified UTF-7.
	d := ts.conn().login()
	d.cmd(`a LIST "" Entw*`).ok().xuntagged(`* LIST (\HasNoChildren) "/" Entw&APw-rfe`)
}

func TestSearchResults(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("one"), `\Seen`)
	ts.deliver("INBOX", testMessage("two"))
	ts.deliver("INBOX", testMessage("three"), `\Seen`)
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	c.cmd("b SEARCH SEEN").ok().xuntagged("* SEARCH 1 3")
	c.cmd("c SEARCH RETURN (MIN MAX COUNT ALL) SEEN").ok().xuntagged(`* ESEARCH (TAG "c") MIN 1 MAX 3 ALL 1,3 COUNT 2`)
	c.cmd("d SEARCH RETURN () UNSEEN").ok().xuntagged(`* ESEARCH (TAG "d") ALL 2`)
	c.cmd("e SEARCH RETURN (COUNT) DELETED").ok().xuntagged(`* ESEARCH (TAG "e") COUNT 0`)
	// SEARCHRES (RFC 5182): SAVE alone answers nothing; "$" reuses it.
	c.cmd("f SEARCH RETURN (SAVE) SEEN").ok().xuntagged()
	c.cmd("g FETCH $ (UID)").ok().xuntagged("* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)")
	c.cmd(`h STORE $ +FLAGS.SILENT (\Deleted)`).ok()
	c.cmd("i UID EXPUNGE $").ok().xuntagged("* 3 EXPUNGE", "* 1 EXPUNGE")
	c.cmd("j SEARCH CHARSET KOI8-R ALL").no().code("BADCHARSET")
}
