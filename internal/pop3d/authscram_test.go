package pop3d

import (
	"crypto/tls"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"mailport/internal/auth"
	"mailport/internal/testutil"
)

// scramAuth runs AUTH SCRAM-SHA-256 with xdg-go/scram's client (the first
// message as initial response or after an empty challenge) and returns
// the final status line.
func (c *client) scramAuth(user, pw, authz string, ir bool) string {
	c.t.Helper()
	return c.scramAuthWith("SCRAM-SHA-256", c.scramClient(user, pw, authz).NewConversation(), ir)
}

func (c *client) scramClient(user, pw, authz string) *scram.Client {
	c.t.Helper()
	cl, err := scram.SHA256.NewClient(user, pw, authz)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// scramAuthWith runs AUTH mech with the client conversation conv.
func (c *client) scramAuthWith(mech string, conv *scram.ClientConversation, ir bool) string {
	c.t.Helper()
	first, err := conv.Step("")
	if err != nil {
		c.t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	if ir {
		c.send("AUTH " + mech + " " + b64([]byte(first)))
	} else if l := c.cmd("AUTH " + mech); l != "+ " {
		c.t.Fatalf("AUTH without initial response: %q, want an empty challenge", l)
	} else {
		c.send(b64([]byte(first)))
	}
	return testutil.SASLChallenges(c.t, conv.Step, c.line, c.send)
}

// scramOnce logs in with SCRAM on a connection of its own, which it
// closes, and returns the final status line.
func (e *testEnv) scramOnce(user, pw, authz string) string {
	e.t.Helper()
	c := e.dial()
	defer c.conn.Close()
	return c.scramAuth(user, pw, authz, true)
}

// setAlicePassword gives alice the credentials of pw, as a password
// change does.
func (e *testEnv) setAlicePassword(pw string) {
	e.t.Helper()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	a := e.store.accounts["alice@example.org"]
	if err := auth.SetPassword(&a, pw); err != nil {
		e.t.Fatal(err)
	}
	e.store.accounts["alice@example.org"] = a
}

func TestAuthSCRAM(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)

	// alice's account predates SCRAM: no credential until a PLAIN login.
	if l := e.scramOnce("alice@example.org", alicePassword, ""); l != "-ERR [AUTH] invalid login or password" {
		t.Fatalf("SCRAM without a credential: %q", l)
	}
	c := e.dial()
	c.ok("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice@example.org\x00"+alicePassword)))
	c.ok("QUIT")
	e.waitSessionsGone()

	for _, ir := range []bool{true, false} {
		c := e.dial()
		if l := c.scramAuth("alice@example.org", alicePassword, "", ir); !strings.HasPrefix(l, "+OK maildrop locked and ready (1 messages") {
			t.Fatalf("SCRAM login (initial response %v): %q", ir, l)
		}
		c.ok("STAT")
		c.ok("QUIT")
		e.waitSessionsGone()
	}

	wrong := e.scramOnce("alice@example.org", "wrong password", "")
	unknown := e.scramOnce("nobody@example.org", alicePassword, "")
	if wrong != "-ERR [AUTH] invalid login or password" || unknown != wrong {
		t.Fatalf("wrong password %q, unknown user %q; want the same [AUTH] failure", wrong, unknown)
	}
	if l := e.scramOnce("alice@example.org", alicePassword, "admin"); l != "-ERR [AUTH] authorization identity must match the login" {
		t.Fatalf("other authzid: %q", l)
	}

	const newPassword = "a new password for scram"
	e.setAlicePassword(newPassword)
	if l := e.scramOnce("alice@example.org", alicePassword, ""); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Fatalf("old password after the change: %q", l)
	}
	c = e.dial()
	if l := c.scramAuth("alice@example.org", newPassword, "", true); !strings.HasPrefix(l, "+OK maildrop locked") {
		t.Fatalf("new password: %q", l)
	}
	c.ok("QUIT")

	c = e.dial()
	if l := c.cmd("AUTH SCRAM-SHA-256"); l != "+ " {
		t.Fatalf("AUTH: %q", l)
	}
	c.errResp("*", "-ERR authentication cancelled")
	c.errResp("AUTH SCRAM-SHA-256 "+base64.StdEncoding.EncodeToString([]byte("not scram")), "-ERR malformed SCRAM-SHA-256 message")
}

func TestAuthSCRAMNeedsTLS(t *testing.T) {
	e := newTestEnv(t, withRemote("192.0.2.1"))
	c := e.dial()
	c.errResp("AUTH SCRAM-SHA-256", "-ERR [AUTH] plaintext authentication requires TLS")
}

// TestAuthSCRAMPlus: SCRAM-SHA-256-PLUS with tls-exporter (RFC 5802
// section 6, RFC 9266) is listed in CAPA and the bare AUTH list after
// STLS only; a login bound to the connection succeeds, one bound to
// another session fails like a wrong password, and a client that
// supports binding but did not see -PLUS (a downgrade) is refused.
func TestAuthSCRAMPlus(t *testing.T) {
	e := newTestEnv(t)
	e.setAlicePassword(alicePassword)

	c := e.dial()
	if caps := c.capas(); !slices.Contains(caps, "SASL PLAIN SCRAM-SHA-256") {
		t.Fatalf("CAPA without TLS %q", caps)
	}
	c.errResp("AUTH SCRAM-SHA-256-PLUS", "-ERR unsupported")

	tlsDial := func() *client {
		c := e.dial()
		c.startTLS(e.clientTLS())
		return c
	}
	binding := func(c *client) scram.ChannelBinding {
		cs := c.conn.(*tls.Conn).ConnectionState()
		cb, err := scram.NewTLSExporterBinding(&cs)
		if err != nil {
			t.Fatal(err)
		}
		return cb
	}

	c = tlsDial()
	if caps := c.capas(); !slices.Contains(caps, "SASL PLAIN SCRAM-SHA-256-PLUS SCRAM-SHA-256") {
		t.Fatalf("CAPA after STLS %q", caps)
	}
	if l := c.cmd("AUTH"); l != "+OK SASL mechanisms follow" {
		t.Fatalf("bare AUTH: %q", l)
	}
	var mechs []string
	for l := c.line(); l != "."; l = c.line() {
		mechs = append(mechs, l)
	}
	if !slices.Equal(mechs, []string{"PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}) {
		t.Fatalf("bare AUTH list %q", mechs)
	}
	conv := c.scramClient("alice@example.org", alicePassword, "").NewConversationWithChannelBinding(binding(c))
	if l := c.scramAuthWith("scram-sha-256-plus", conv, false); !strings.HasPrefix(l, "+OK ") {
		t.Fatalf("bound login: %q", l)
	}
	c.ok("STAT")
	c.ok("QUIT") // releases the maildrop for the last login below

	// An empty initial response ("=", RFC 5034 section 4) to -PLUS is a
	// malformed exchange, and the session goes on.
	c = tlsDial()
	if l := c.cmd("AUTH SCRAM-SHA-256-PLUS ="); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("empty -PLUS initial response: %q", l)
	}
	if caps := c.capas(); !slices.Contains(caps, "SASL PLAIN SCRAM-SHA-256-PLUS SCRAM-SHA-256") {
		t.Fatalf("CAPA after the refused exchange %q", caps)
	}

	c = tlsDial()
	other := scram.ChannelBinding{Type: scram.ChannelBindingTLSExporter, Data: make([]byte, 32)}
	conv = c.scramClient("alice@example.org", alicePassword, "").NewConversationWithChannelBinding(other)
	if l := c.scramAuthWith("SCRAM-SHA-256-PLUS", conv, true); l != "-ERR [AUTH] invalid login or password" {
		t.Fatalf("another session's binding: %q", l)
	}

	c = tlsDial()
	conv = c.scramClient("alice@example.org", alicePassword, "").NewConversationAdvertisingChannelBinding()
	if l := c.scramAuthWith("SCRAM-SHA-256", conv, true); !strings.HasPrefix(l, "-ERR [AUTH] channel binding") {
		t.Fatalf("downgrade: %q", l)
	}
	if l := c.scramAuth("alice@example.org", alicePassword, "", true); !strings.HasPrefix(l, "+OK ") {
		t.Fatalf("SCRAM-SHA-256 without binding after STLS: %q", l)
	}
}
