package smtpd

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var clientTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"}

// startTLS upgrades a raw client after its STARTTLS got 220.
func (c *client) startTLS() {
	c.t.Helper()
	tc := tls.Client(c.conn, clientTLS)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.tp = textproto.NewConn(tc)
}

func TestSTARTTLSDiscardsPipelinedCommands(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "STARTTLS")
	// A man in the middle appends commands after STARTTLS in the same
	// packet; they must not run inside the TLS session (CVE-2011-0411
	// class). If they did, the first reply after the handshake would be
	// theirs, and the injected MAIL would make RCPT succeed.
	c.send("STARTTLS\r\nNOOP\r\nMAIL FROM:<evil@remote.test>\r\n")
	c.expect(220, "")
	c.startTLS()
	ehlo := c.cmd("EHLO client.test", 250, "")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "PIPELINING") {
		t.Errorf("EHLO after TLS: %q", ehlo)
	}
	c.cmd("RCPT TO:<alice@example.test>", 502, "MAIL")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")
	msgs := w.inbox(t, "alice@example.test")
	if len(msgs) != 1 || !strings.Contains(w.body(t, msgs[0]), "with ESMTPS id") {
		t.Errorf("TLS delivery not recorded as ESMTPS")
	}
}

func TestConnectionsPerIP(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.MaxConnsPerIP = 2
	s, addr := start(t, cfg, false)
	a := dialRaw(t, addr)
	dialRaw(t, addr)
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(third)
	code, msg, _ := tp.ReadResponse(0)
	if code != 421 || !strings.HasPrefix(msg, "4.7.0") {
		t.Errorf("third connection: %d %q", code, msg)
	}
	if _, err := tp.R.ReadByte(); err == nil {
		t.Error("refused connection left open")
	}
	a.cmd("QUIT", 221, "")
	waitConns(t, s, 1)
	dialRaw(t, addr).cmd("EHLO client.test", 250, "")
}

func TestQuota(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)                                             // bob's quota: 2000 octets
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("z", 98)+"\r\n", 25) // 2500+ octets
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")

	// Announced size over quota: refused at RCPT.
	c.cmd("MAIL FROM:<sender@remote.test> SIZE=5000", 250, "")
	c.cmd("RCPT TO:<bob@example.test>", 452, "4.2.2")
	c.cmd("RSET", 250, "")

	// Only recipient, size unknown until DATA: refused at the commit.
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<bob@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(big+".", 452, "4.2.2")
	if n := len(w.inbox(t, "bob@example.test")); n != 0 {
		t.Fatalf("bob has %d messages", n)
	}

	// With another recipient the copy is stored over quota.
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<team@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(big+".", 250, "")
	if len(w.inbox(t, "bob@example.test")) != 1 || len(w.inbox(t, "alice@example.test")) != 1 {
		t.Fatal("soft overshoot did not store both copies")
	}

	// Now bob is full: refused at RCPT even without SIZE.
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<bob@example.test>", 452, "4.2.2")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSubmission(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false)

	t.Run("AUTH required before MAIL", func(t *testing.T) {
		c := dialRaw(t, addr)
		ehlo := c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN")
		_ = ehlo
		c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
	})
	t.Run("wrong password", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00wrong password"), 535, "5.7.8")
		c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
	})
	t.Run("other authorization identity", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		c.cmd("AUTH PLAIN "+b64("bob@example.test\x00alice@example.test\x00"+testPassword), 535, "5.7.8")
	})
	t.Run("AUTH LOGIN step by step", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		if got := c.cmd("AUTH LOGIN", 334, ""); got != b64("Username:") {
			t.Errorf("challenge %q", got)
		}
		if got := c.cmd(b64("alice@example.test"), 334, ""); got != b64("Password:") {
			t.Errorf("challenge %q", got)
		}
		c.cmd(b64(testPassword), 235, "2.0.0")
		c.cmd("MAIL FROM:<alice@example.test>", 250, "")
		c.cmd("RCPT TO:<bob@example.test>", 250, "")
		c.cmd("RCPT TO:<friend@remote.test>", 451, "4.4.0")
		c.cmd("RCPT TO:<friend%remote.test@example.test>", 554, "5.7.1")
		c.cmd("DATA", 354, "")
		c.cmd(subMsg+".", 250, "")
		msgs := w.inbox(t, "bob@example.test")
		if len(msgs) != 1 || !strings.Contains(w.body(t, msgs[0]), "with ESMTPA id") {
			t.Error("submitted message not stored as ESMTPA")
		}
	})
	t.Run("go-smtp client with PLAIN and LOGIN", func(t *testing.T) {
		for _, cl := range []sasl.Client{
			sasl.NewPlainClient("", "alice@example.test", testPassword),
			sasl.NewLoginClient("alice@example.test", testPassword),
		} {
			c, err := smtp.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Auth(cl); err != nil {
				t.Errorf("auth: %v", err)
			}
			if err := c.Mail("alice@example.test", nil); err != nil {
				t.Errorf("mail: %v", err)
			}
			c.Close()
		}
	})
}

func TestSubmissionNeedsTLSAwayFromLoopback(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false, func(l net.Listener) net.Listener { return fakeRemote{l} })
	c := dialRaw(t, addr)
	ehlo := c.cmd("EHLO client.test", 250, "STARTTLS")
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH offered in the clear to a remote client: %q", ehlo)
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+testPassword), 530, "5.7.0")
	c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
	c.cmd("STARTTLS", 220, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN")
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+testPassword), 235, "")
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
}

func TestImplicitTLSAndOutboundSeam(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	out := &fakeOutbound{}
	cfg.Outbound = out
	_, addr := start(t, cfg, true, func(l net.Listener) net.Listener { return fakeRemote{l} })
	conn, err := tls.Dial("tcp", addr, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	c.expect(220, "")
	ehlo := c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN")
	if strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("STARTTLS offered inside TLS: %q", ehlo)
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.test\x00"+testPassword), 235, "")
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
	c.cmd("RCPT TO:<friend@remote.test>", 250, "")
	c.cmd("RCPT TO:<bob@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(subMsg+".", 250, "")
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.remote) != 1 || len(out.remote[0]) != 1 || out.remote[0][0] != "friend@remote.test" {
		t.Errorf("outbound got %v", out.remote)
	}
	if len(w.inbox(t, "bob@example.test")) != 1 {
		t.Error("local copy not stored")
	}
}

func TestServeAfterShutdown(t *testing.T) {
	w := newWorld(t)
	s := New(w.config())
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	if err := s.Serve(ln); err == nil {
		t.Error("Serve after Shutdown returned nil")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open")
	}
}
