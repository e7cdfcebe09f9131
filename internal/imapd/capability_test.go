package imapd

import (
	"strings"
	"testing"
)

func TestCapability(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name    string
		setup   func() *testConn
		want    []string
		notWant []string
	}{
		{"before login on loopback", func() *testConn { return ts.conn() },
			[]string{"IMAP4rev1", "IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL+", "ID", "IDLE"},
			[]string{"LOGINDISABLED", "QUOTA", "MOVE", "COMPRESS=DEFLATE"}},
		{"implicit tls", func() *testConn { return ts.tlsConn() },
			[]string{"AUTH=PLAIN"}, []string{"STARTTLS", "LOGINDISABLED"}},
		{"after login", func() *testConn { return ts.conn().login() },
			[]string{"MOVE", "UIDPLUS", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "SPECIAL-USE", "CREATE-SPECIAL-USE",
				"LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "QUOTA", "QUOTA=RES-STORAGE", "APPENDLIMIT=52428800",
				"BINARY", "SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "COMPRESS=DEFLATE", "UTF8=ACCEPT",
				"NAMESPACE", "UNSELECT", "CHILDREN", "MULTIAPPEND"},
			[]string{"STARTTLS", "AUTH=PLAIN", "LOGINDISABLED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup()
			c.cmd("c1 CAPABILITY").ok()
			lines := c.untaggedWith("* CAPABILITY ")
			if len(lines) != 1 {
				t.Fatalf("capability responses %q", c.responses())
			}
			caps := strings.Fields(lines[0])[2:]
			for _, w := range tc.want {
				if !contains(caps, w) {
					t.Errorf("missing %s in %v", w, caps)
				}
			}
			for _, w := range tc.notWant {
				if contains(caps, w) {
					t.Errorf("unexpected %s in %v", w, caps)
				}
			}
		})
	}

	t.Run("remote without tls", func(t *testing.T) {
		ts := newTestServer(t)
		ts.poseRemote()
		c := ts.conn()
		if !strings.Contains(c.greeting, "LOGINDISABLED") || strings.Contains(c.greeting, "AUTH=PLAIN") {
			t.Fatalf("greeting %q", c.greeting)
		}
		c.startTLS()
		c.cmd("c2 CAPABILITY").ok()
		caps := c.untaggedWith("* CAPABILITY ")[0]
		if strings.Contains(caps, "LOGINDISABLED") || !strings.Contains(caps, "AUTH=PLAIN") || strings.Contains(caps, "STARTTLS") {
			t.Fatalf("after STARTTLS: %q", caps)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
