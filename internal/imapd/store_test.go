package imapd

import (
	"testing"
)

func TestStore(t *testing.T) {
	ts := newTestServer(t)
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver("INBOX", testMessage(s))
	}
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	tests := []struct {
		cmd  string
		want []string
	}{
		{`b STORE 1 +FLAGS (\Seen)`, []string{`* 1 FETCH (FLAGS (\Seen))`}},
		{`b STORE 1:2 +FLAGS ($Label1 \flagged)`, []string{`* 1 FETCH (FLAGS (\Flagged \Seen $Label1))`, `* 2 FETCH (FLAGS (\Flagged $Label1))`}},
		{`b STORE 1 -FLAGS (\Flagged $Label1)`, []string{`* 1 FETCH (FLAGS (\Seen))`}},
		{`b STORE 2 FLAGS (\Answered)`, []string{`* 2 FETCH (FLAGS (\Answered))`}},
		{`b STORE 3 +FLAGS.SILENT (\Deleted)`, nil},
		{`b STORE 3 +FLAGS (\Recent)`, []string{`* 3 FETCH (FLAGS (\Deleted))`}},
		{`b UID STORE 2:* +FLAGS (\Draft)`, []string{`* 2 FETCH (FLAGS (\Answered \Draft) UID 2)`, `* 3 FETCH (FLAGS (\Deleted \Draft) UID 3)`}},
		{`b UID STORE 100 +FLAGS (\Draft)`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			c.cmd(tc.cmd).ok().xuntagged(tc.want...)
		})
	}
	c.cmd(`c STORE 4 +FLAGS (\Seen)`).bad()
	c.cmd(`d STORE 1 +FLAGS (\Bogus)`).bad()

	// Another session sees the changes as unsolicited FETCH.
	c2 := ts.conn().login()
	c2.cmd("a SELECT INBOX").ok()
	c.cmd(`e STORE 1 +FLAGS (\Flagged)`).ok()
	c2.cmd("b NOOP").ok().xuntagged(`* 1 FETCH (FLAGS (\Flagged \Seen) UID 1)`)
	c2.cmd("c NOOP").ok().xuntagged()
}
