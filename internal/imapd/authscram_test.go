package imapd

import (
	"crypto/tls"
	"encoding/base64"
	"mailport/internal/testutil"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// scramAuth runs AUTHENTICATE SCRAM-SHA-256 with xdg-go/scram's client,
// with the first message as SASL-IR or after an empty challenge, and
// returns the tagged response line. A server-final message whose
// signature the client refuses fails the test.
func (c *testConn) scramAuth(user, pw, authz string, ir bool) string {
	c.t.Helper()
	return c.scramAuthWith("SCRAM-SHA-256", c.scramClient(user, pw, authz).NewConversation(), ir)
}

func (c *testConn) scramClient(user, pw, authz string) *scram.Client {
	c.t.Helper()
	client, err := scram.SHA256.NewClient(user, pw, authz)
	if err != nil {
		c.t.Fatal(err)
	}
	return client
}

// scramAuthWith runs AUTHENTICATE mech with the client conversation conv.
func (c *testConn) scramAuthWith(mech string, conv *scram.ClientConversation, ir bool) string {
	c.t.Helper()
	first, err := conv.Step("")
	if err != nil {
		c.t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	if ir {
		c.write("a AUTHENTICATE " + mech + " " + b64([]byte(first)) + "\r\n")
	} else {
		c.write("a AUTHENTICATE " + mech + "\r\n")
		c.expect("+ ")
		c.write(b64([]byte(first)) + "\r\n")
	}
	line := testutil.SASLChallenges(c.t, conv.Step, c.readLine, func(l string) { c.write(l + "\r\n") })
	c.lastTagged = line
	return line
}

// exporterBinding is the client's tls-exporter binding (RFC 9266) of a
// TLS test connection, or of its own invention when other is set.
func (c *testConn) exporterBinding(other bool) scram.ChannelBinding {
	c.t.Helper()
	if other {
		return scram.ChannelBinding{Type: scram.ChannelBindingTLSExporter, Data: make([]byte, 32)}
	}
	cs := c.conn.(*tls.Conn).ConnectionState()
	cb, err := scram.NewTLSExporterBinding(&cs)
	if err != nil {
		c.t.Fatal(err)
	}
	return cb
}

func TestAuthenticateSCRAM(t *testing.T) {
	ts := newTestServer(t)

	c := ts.conn()
	c.cmd("c CAPABILITY").ok()
	if caps := c.responses()[0]; !strings.Contains(caps, " AUTH=SCRAM-SHA-256") {
		t.Fatalf("capabilities %q lack AUTH=SCRAM-SHA-256", caps)
	}

	for _, ir := range []bool{true, false} {
		c := ts.conn()
		if line := c.scramAuth(testUser, testPassword, "", ir); !strings.HasPrefix(line, "a OK [CAPABILITY ") {
			t.Fatalf("SCRAM login (SASL-IR %v): %q", ir, line)
		}
		c.cmd("s SELECT INBOX").ok()
	}

	wrong := ts.conn().scramAuth(testUser, "wrong password", "", true)
	unknown := ts.conn().scramAuth("nobody@example.org", testPassword, "", true)
	if wrong != "a NO [AUTHENTICATIONFAILED] invalid credentials" || unknown != wrong {
		t.Fatalf("wrong password %q, unknown user %q; want the same AUTHENTICATIONFAILED", wrong, unknown)
	}
	c = ts.conn()
	c.scramAuth(testUser, testPassword, testUser2, true)
	c.no().code("AUTHORIZATIONFAILED")
	c.cmd("n NOOP").ok()

	c = ts.conn()
	c.write("a AUTHENTICATE SCRAM-SHA-256\r\n")
	c.expect("+ ")
	c.write("*\r\n")
	c.readResponse("a").bad()
	c.cmd("a AUTHENTICATE SCRAM-SHA-256 " + base64.StdEncoding.EncodeToString([]byte("not scram"))).bad()
}

func TestAuthenticateSCRAMNeedsTLS(t *testing.T) {
	ts := newTestServer(t)
	ts.poseRemote()
	c := ts.conn()
	c.cmd("c CAPABILITY").ok()
	if caps := c.responses()[0]; strings.Contains(caps, "AUTH=SCRAM") {
		t.Fatalf("SCRAM offered without TLS: %q", caps)
	}
	c.cmd("a AUTHENTICATE SCRAM-SHA-256").no().code("PRIVACYREQUIRED")
	if line := ts.tlsConn().scramAuth(testUser, testPassword, "", true); !strings.HasPrefix(line, "a OK ") {
		t.Fatalf("SCRAM over TLS from off loopback: %q", line)
	}
}

// TestAuthenticateSCRAMCredentialLifecycle: an account without a SCRAM
// credential (from an earlier version) gets one at its next PLAIN login,
// and a password change replaces it.
func TestAuthenticateSCRAMCredentialLifecycle(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	if ok, err := ts.st.ReplaceCredentials(ctx, ts.acct2.ID, ts.acct2.PasswordHash, ts.acct2.PasswordHash, ""); err != nil || !ok {
		t.Fatalf("clearing the credential: %v, %v", ok, err)
	}
	if line := ts.conn().scramAuth(testUser2, testPassword, "", true); line != "a NO [AUTHENTICATIONFAILED] invalid credentials" {
		t.Fatalf("SCRAM without a credential: %q", line)
	}
	ts.conn().cmd("p AUTHENTICATE PLAIN " + plain(testUser2, testPassword)).ok()
	if line := ts.conn().scramAuth(testUser2, testPassword, "", true); !strings.HasPrefix(line, "a OK ") {
		t.Fatalf("SCRAM after the PLAIN login filled the credential: %q", line)
	}

	const newPassword = "a new password for scram"
	if err := ts.dir.SetPassword(ctx, testUser2, newPassword); err != nil {
		t.Fatal(err)
	}
	if line := ts.conn().scramAuth(testUser2, testPassword, "", true); !strings.HasPrefix(line, "a NO ") {
		t.Fatalf("old password after the change: %q", line)
	}
	if line := ts.conn().scramAuth(testUser2, newPassword, "", true); !strings.HasPrefix(line, "a OK ") {
		t.Fatalf("new password: %q", line)
	}
}

// TestAuthenticateSCRAMPlus: SCRAM-SHA-256-PLUS with tls-exporter (RFC
// 5802 section 6, RFC 9266) is offered on TLS only, implicit or after
// STARTTLS; a login bound to the connection succeeds, one bound to
// another session fails like a wrong password, and a client that
// supports binding but did not see -PLUS (a downgrade) is refused.
func TestAuthenticateSCRAMPlus(t *testing.T) {
	ts := newTestServer(t)
	plain := ts.conn()
	if strings.Contains(plain.greeting, "PLUS") || !strings.Contains(plain.greeting, " AUTH=SCRAM-SHA-256") {
		t.Fatalf("greeting without TLS %q", plain.greeting)
	}
	plain.cmd("a AUTHENTICATE SCRAM-SHA-256-PLUS").no().code("CANNOT")

	conns := map[string]func() *testConn{
		"implicit TLS":   ts.tlsConn,
		"after STARTTLS": func() *testConn { return ts.conn().startTLS() },
	}
	for name, dial := range conns {
		t.Run(name, func(t *testing.T) {
			c := dial()
			c.cmd("c CAPABILITY").ok()
			if caps := c.untaggedWith("* CAPABILITY ")[0]; !strings.Contains(caps, " AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256") {
				t.Fatalf("capabilities %q lack both SCRAM mechanisms", caps)
			}
			conv := c.scramClient(testUser, testPassword, "").NewConversationWithChannelBinding(c.exporterBinding(false))
			if line := c.scramAuthWith("scram-sha-256-plus", conv, true); !strings.HasPrefix(line, "a OK [CAPABILITY ") {
				t.Fatalf("bound login: %q", line)
			}
			c.cmd("s SELECT INBOX").ok()

			c = dial()
			conv = c.scramClient(testUser, testPassword, "").NewConversationWithChannelBinding(c.exporterBinding(true))
			if line := c.scramAuthWith("SCRAM-SHA-256-PLUS", conv, false); line != "a NO [AUTHENTICATIONFAILED] invalid credentials" {
				t.Fatalf("another session's binding: %q", line)
			}

			c = dial()
			conv = c.scramClient(testUser, testPassword, "").NewConversationAdvertisingChannelBinding()
			c.scramAuthWith("SCRAM-SHA-256", conv, true)
			c.no().code("AUTHENTICATIONFAILED")
			c.cmd("n NOOP").ok()

			c = dial()
			conv = c.scramClient(testUser, testPassword, "").NewConversation()
			c.scramAuthWith("SCRAM-SHA-256-PLUS", conv, true)
			c.no().code("AUTHENTICATIONFAILED")

			c = dial()
			if line := c.scramAuth(testUser, testPassword, "", true); !strings.HasPrefix(line, "a OK ") {
				t.Fatalf("SCRAM-SHA-256 without binding over TLS: %q", line)
			}
		})
	}
}
