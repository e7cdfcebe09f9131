package imapd

import (
	"testing"
)

func TestList(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	c.cmd("a CREATE Lists/Go/Nuts").ok()
	c.cmd(`a2 CREATE Entw&APw-rfe`).ok()
	for _, name := range []string{"Archive", "Drafts", "Junk", "Sent", "Trash"} {
		c.cmd("u UNSUBSCRIBE " + name).ok() // default folders start subscribed
	}
	c.cmd("a3 SUBSCRIBE Lists/Go").ok()
	c.cmd("a4 SUBSCRIBE INBOX").ok()
	c.cmd("a5 DELETE Lists").ok() // Lists lives on as an implied parent

	tests := []struct {
		cmd  string
		want []string
	}{
		{`b LIST "" ""`, []string{`* LIST (\Noselect) "/" ""`}},
		{`b LIST "" %`, []string{
			`* LIST (\HasNoChildren) "/" INBOX`,
			`* LIST (\HasNoChildren \Archive) "/" Archive`,
			`* LIST (\HasNoChildren \Drafts) "/" Drafts`,
			`* LIST (\HasNoChildren) "/" Entw&APw-rfe`,
			`* LIST (\HasNoChildren \Junk) "/" Junk`,
			`* LIST (\Noselect \HasChildren) "/" Lists`,
			`* LIST (\HasNoChildren \Sent) "/" Sent`,
			`* LIST (\HasNoChildren \Trash) "/" Trash`,
		}},
		{`b LIST "" Lists/*`, []string{
			`* LIST (\HasChildren) "/" Lists/Go`,
			`* LIST (\HasNoChildren) "/" Lists/Go/Nuts`,
		}},
		{`b LIST Lists %`, []string{`* LIST (\HasChildren) "/" Lists/Go`}},
		{`b LIST "" inbox`, []string{`* LIST (\HasNoChildren) "/" INBOX`}},
		{`b LIST "" L%/%`, []string{`* LIST (\HasChildren) "/" Lists/Go`}},
		{`b LIST "" nomatch*`, nil},
		{`b LIST (SUBSCRIBED) "" *`, []string{
			`* LIST (\HasNoChildren \Subscribed) "/" INBOX`,
			`* LIST (\HasChildren \Subscribed) "/" Lists/Go`,
		}},
		{`b LIST (SUBSCRIBED RECURSIVEMATCH) "" %`, []string{
			`* LIST (\HasNoChildren \Subscribed) "/" INBOX`,
			`* LIST (\Noselect \NonExistent \HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))`,
		}},
		{`b LIST (SPECIAL-USE) "" *`, []string{
			`* LIST (\HasNoChildren \Archive) "/" Archive`,
			`* LIST (\HasNoChildren \Drafts) "/" Drafts`,
			`* LIST (\HasNoChildren \Junk) "/" Junk`,
			`* LIST (\HasNoChildren \Sent) "/" Sent`,
			`* LIST (\HasNoChildren \Trash) "/" Trash`,
		}},
		{`b LIST "" INBOX RETURN (STATUS (MESSAGES UIDNEXT))`, []string{
			`* LIST (\HasNoChildren) "/" INBOX`,
			`* STATUS INBOX (MESSAGES 0 UIDNEXT 1)`,
		}},
		{`b LIST "" (INBOX Sent) RETURN (SUBSCRIBED CHILDREN)`, []string{
			`* LIST (\HasNoChildren \Subscribed) "/" INBOX`,
			`* LIST (\HasNoChildren \Sent) "/" Sent`,
		}},
		{`b LSUB "" *`, []string{
			`* LSUB () "/" INBOX`,
			`* LSUB () "/" Lists/Go`,
		}},
		{`b LSUB "" %`, []string{
			`* LSUB () "/" INBOX`,
			`* LSUB (\Noselect) "/" Lists`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			c.cmd(tc.cmd).ok().xuntagged(tc.want...)
		})
	}

	t.Run("utf8", func(t *testing.T) {
		c := ts.conn().login()
		c.cmd("a ENABLE UTF8=ACCEPT").ok()
		c.cmd(`b LIST "" Entw*`).ok().xuntagged(`* LIST (\HasNoChildren) "/" "Entwürfe"`)
	})
	t.Run("namespace and id", func(t *testing.T) {
		c.cmd("n NAMESPACE").ok().xuntagged(`* NAMESPACE (("" "/")) NIL NIL`)
		c.cmd(`i ID ("name" "test")`).ok().xuntagged(`* ID ("name" "mailport")`)
	})
}

func TestSubscribe(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn().login()
	c.cmd("a CREATE Work").ok()
	c.cmd(`b LSUB "" W*`).ok().xuntagged()
	c.cmd("c SUBSCRIBE Work").ok()
	c.cmd(`d LSUB "" W*`).ok().xuntagged(`* LSUB () "/" Work`)
	c.cmd("c UNSUBSCRIBE Work").ok()
	c.cmd(`d LSUB "" W*`).ok().xuntagged()
	c.cmd("e SUBSCRIBE nosuch").no().code("NONEXISTENT")
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a*c", "a/b/c", true},
		{"a%c", "a/b/c", false},
		{"%/%", "a/b", true},
		{"inbox", "INBOX", true},
		{"InBoX/*", "INBOX/x", true},
		{"*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay", false},
	}
	for _, tc := range tests {
		if got := matchPattern(tc.pattern, tc.name); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
