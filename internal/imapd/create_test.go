package imapd

import (
	"testing"
)

func TestCreate(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	tests := []struct {
		cmd    string
		status string
		code   string
	}{
		{"a CREATE Work", "OK", ""},
		{"a CREATE Work", "NO", "ALREADYEXISTS"},
		{"a CREATE inbox", "NO", "ALREADYEXISTS"},
		{"a CREATE Projects/2024/Q1/", "OK", ""}, // parents made, trailing delimiter dropped
		{"a CREATE Bad//Name", "NO", "CANNOT"},
		{`a CREATE "with*star"`, "NO", "CANNOT"},
		{`a CREATE Everything (USE (\All))`, "OK", ""},
		{`a CREATE Weird (USE (\Bogus))`, "NO", "USEATTR"},
		{`a CREATE Two (USE (\Sent \Trash))`, "NO", "USEATTR"},
		{"a CREATE", "BAD", ""},
	}
	for _, tc := range tests {
		c.cmd(tc.cmd).status(tc.status)
		if tc.code != "" {
			c.code(tc.code)
		}
	}
	c.cmd(`b LIST "" Projects*`).ok().xuntagged(
		`* LIST (\HasChildren) "/" Projects`,
		`* LIST (\HasChildren) "/" Projects/2024`,
		`* LIST (\HasNoChildren) "/" Projects/2024/Q1`,
	)
	c.cmd(`c LIST "" Everything`).ok().xuntagged(`* LIST (\HasNoChildren \All) "/" Everything`)
}

func TestDelete(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	c.cmd("a CREATE Work/Old").ok()
	ts.deliver("Work", testMessage("one"))
	blobID := ts.deliver("Work", testMessage("two")).BlobID
	c.cmd("b DELETE INBOX").no()
	c.cmd("c DELETE nosuch").no().code("NONEXISTENT")
	c.cmd("d DELETE Work").ok()
	if ts.blobs.Exists(blobID) {
		t.Errorf("blob of a deleted mailbox's message is still there")
	}
	// The child stays; the parent is now only implied.
	c.cmd(`e LIST "" Work*`).ok().xuntagged(
		`* LIST (\Noselect \HasChildren) "/" Work`,
		`* LIST (\HasNoChildren) "/" Work/Old`,
	)
	c.cmd("f SELECT Work/Old").ok()
	c.cmd("g DELETE Work/Old").ok().untagged("* OK [CLOSED] mailbox deleted")
	c.cmd("h FETCH 1 FLAGS").bad() // no longer selected
}

// A mailbox deleted by another session while selected: RFC 9051 section
// 7.1.5 lets the server end the connection with BYE.
func TestDeleteSelectedElsewhere(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	c.cmd("a CREATE Work").ok()
	c.cmd("b SELECT Work").ok()
	ts.conn().login().cmd("c DELETE Work").ok()
	c.write("d NOOP\r\n")
	c.expect("* BYE selected mailbox was deleted")
}
