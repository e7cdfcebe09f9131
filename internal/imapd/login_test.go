package imapd

import (
	"encoding/base64"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"mailport/internal/metrics"
)

func plain(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
}

func TestLogin(t *testing.T) {
	m := metrics.New()
	ts := newTestServer(t, func(c *Config) { c.Metrics = m })
	tests := []struct {
		name string
		cmd  string
		want string // OK, NO or BAD
		code string
	}{
		{"login", "a LOGIN " + testUser + ` "` + testPassword + `"`, "OK", "CAPABILITY"},
		{"login upper case user", "a LOGIN MJL@EXAMPLE.ORG \"" + testPassword + `"`, "OK", ""},
		{"bad password", "a LOGIN " + testUser + " wrongpassword", "NO", "AUTHENTICATIONFAILED"},
		{"unknown user", "a LOGIN nobody@example.org wrongpassword", "NO", "AUTHENTICATIONFAILED"},
		{"authenticate sasl-ir", "a AUTHENTICATE PLAIN " + plain(testUser, testPassword), "OK", "CAPABILITY"},
		{"authenticate bad", "a AUTHENTICATE PLAIN " + plain(testUser, "nope"), "NO", "AUTHENTICATIONFAILED"},
		{"authenticate other authzid", "a AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte(testUser2+"\x00"+testUser+"\x00"+testPassword)), "NO", "AUTHORIZATIONFAILED"},
		{"unknown mechanism", "a AUTHENTICATE CRAM-MD5", "NO", ""},
		{"garbage", "a LOGIN", "BAD", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.conn()
			c.cmd(tc.cmd).status(tc.want)
			if tc.code != "" {
				c.code(tc.code)
			}
			// The connection survives whatever happened.
			c.cmd("n NOOP").ok()
		})
	}
	var dm dto.Metric
	if err := m.AuthFailures.WithLabelValues("imap").Write(&dm); err != nil {
		t.Fatal(err)
	}
	if got := dm.GetCounter().GetValue(); got != 3 {
		t.Errorf("auth failures counted %v, want 3", got)
	}

	t.Run("authenticate with continuation", func(t *testing.T) {
		c := ts.conn()
		c.write("a AUTHENTICATE PLAIN\r\n")
		c.expect("+ ")
		c.write(plain(testUser, testPassword) + "\r\n")
		c.readResponse("a").ok()
		c.cmd("b SELECT INBOX").ok()
	})
	t.Run("authenticate cancelled", func(t *testing.T) {
		c := ts.conn()
		c.write("a AUTHENTICATE PLAIN\r\n")
		c.expect("+ ")
		c.write("*\r\n")
		c.readResponse("a").bad()
		c.login()
	})
	t.Run("commands by state", func(t *testing.T) {
		c := ts.conn()
		c.cmd("a SELECT INBOX").bad()
		c.cmd("b FETCH 1 FLAGS").bad()
		c.login()
		c.cmd("c LOGIN " + testUser + " x").bad()
		c.cmd("d FETCH 1 FLAGS").bad()
		c.cmd("e SELECT INBOX").ok()
		c.cmd("f FETCH 1:* FLAGS").ok()
	})
	t.Run("logout", func(t *testing.T) {
		c := ts.conn()
		c.cmd("a LOGOUT").ok().untagged("* BYE logging out")
	})
}

func TestLoginPrivacy(t *testing.T) {
	ts := newTestServer(t)
	ts.poseRemote()
	c := ts.conn()
	c.cmd("a LOGIN " + testUser + ` "` + testPassword + `"`).no().code("PRIVACYREQUIRED")
	c.cmd("b AUTHENTICATE PLAIN " + plain(testUser, testPassword)).no().code("PRIVACYREQUIRED")
	c.startTLS()
	c.login()

	// Implicit TLS allows login right away.
	ts.tlsConn().login()
}

func TestLoginConnectionLimits(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxConnsPerUser = 2; c.MaxConnsPerIP = 4 })
	ts.conn().login()
	ts.conn().login()
	ts.conn().cmd("a LOGIN " + testUser + ` "` + testPassword + `"`).no().code("LIMIT")
	// Another user is counted apart.
	ts.conn().loginAs(testUser2)
	// The fifth connection from the address is turned away at once.
	nc := ts.dialRaw()
	line := readRawLine(t, nc)
	if !strings.HasPrefix(line, "* BYE") {
		t.Fatalf("over the per-address limit: %q", line)
	}
}
