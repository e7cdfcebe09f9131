package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"strings"
	"testing"

	"mailport/internal/config"
	"mailport/internal/msgauth/dkim"
)

func authPlain(user string) string {
	return "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+userPassword))
}

// Submission to a remote recipient: DKIM-signed with the domain's key,
// queued, and delivered to the remote MX with a signature that verifies.
func TestSendingSubmissionSignedAndDelivered(t *testing.T) {
	w := startSendingWorld(t, nil, "alice", "bob")
	w.publishDKIM(t, testDomain)
	c := smtpSession(t, w.addr(t, "submission"))
	c.expect(authPlain("alice@"+testDomain), "235")
	c.expect("MAIL FROM:<alice@"+testDomain+">", "250")
	c.expect("RCPT TO:<friend@remote.test>", "250")
	c.expect("RCPT TO:<bob@"+testDomain+">", "250")
	msg := "From: Alice <alice@example.test>\r\nTo: friend@remote.test\r\nSubject: hello\r\nMessage-ID: <1@example.test>\r\n\r\nHi friend.\r\n"
	c.data(msg, "250")

	got := w.mx.wait(t, 1)
	if got.from != "alice@"+testDomain || strings.Join(got.rcpts, ",") != "friend@remote.test" {
		t.Errorf("remote MX got MAIL FROM %q RCPT %v", got.from, got.rcpts)
	}
	if strings.Contains(got.data, "Return-Path:") {
		t.Error("Return-Path sent to the remote MX")
	}
	res, err := dkim.Verify(context.Background(), strings.NewReader(got.data), w.zone)
	if err != nil || len(res) != 1 || res[0].Status != dkim.StatusPass || res[0].Domain != testDomain {
		t.Fatalf("DKIM verification at the receiver: %+v, %v\n%s", res, err, got.data)
	}
	// The local copy went through the same pipeline.
	if in := w.inbox(t, "bob@"+testDomain); len(in) != 1 || !strings.Contains(in[0], "DKIM-Signature:") {
		t.Errorf("local copy: %q", in)
	}
}

// A domain without a key: the message is sent unsigned, not refused.
func TestSendingSubmissionWithoutKey(t *testing.T) {
	w := startSendingWorld(t, nil, "alice")
	c := smtpSession(t, w.addr(t, "submission"))
	c.expect(authPlain("alice@"+testDomain), "235")
	c.expect("MAIL FROM:<alice@"+testDomain+">", "250")
	c.expect("RCPT TO:<friend@remote.test>", "250")
	c.data("From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n", "250")
	if got := w.mx.wait(t, 1); strings.Contains(got.data, "DKIM-Signature") {
		t.Error("signed without a key")
	}
}

func TestSendingSubmissionSenderPolicy(t *testing.T) {
	w := startSendingWorld(t, nil, "alice", "bob")
	ctx := context.Background()
	if err := w.Directory.AddSender(ctx, "alice@"+testDomain, "info@"+testDomain); err != nil {
		t.Fatal(err)
	}
	if err := w.Directory.AddDomainAlias(ctx, "alias.test", testDomain); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		mailFrom string
		from     string
		mail     string
		data     string
	}{
		{"own", "alice@example.test", "alice@example.test", "250", "250"},
		{"sender address", "info@example.test", "info@example.test", "250", "250"},
		{"domain alias", "alice@alias.test", "alice@alias.test", "250", "250"},
		{"other user envelope", "bob@example.test", "bob@example.test", "553 5.7.1", ""},
		{"other user From", "alice@example.test", "bob@example.test", "250", "553 5.7.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Port 465 (implicit TLS) for these: the same checks apply.
			conn, err := tls.Dial("tcp", w.addr(t, "submissions"), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			c := dialLineConn(t, conn)
			c.expect("", "220")
			c.expect("EHLO client.test", "250")
			c.expect(authPlain("alice@"+testDomain), "235")
			reply := c.expect("MAIL FROM:<"+tc.mailFrom+">", tc.mail)
			if tc.data == "" {
				if !strings.Contains(reply[len(reply)-1], "alice@example.test, alice@alias.test, info@alias.test, info@example.test") &&
					!strings.Contains(reply[len(reply)-1], "alice@alias.test, alice@example.test, info@alias.test, info@example.test") {
					t.Errorf("refusal does not list the allowed addresses: %q", reply)
				}
				return
			}
			c.expect("RCPT TO:<friend@remote.test>", "250")
			c.data("From: "+tc.from+"\r\nSubject: x\r\n\r\nbody\r\n", tc.data)
		})
	}
}

func TestSendingLimits(t *testing.T) {
	w := startSendingWorld(t, func(c *config.Config) {
		c.Submission.MaxMessagesPerHour = 1
		c.Submission.MaxRecipients = 2
	}, "alice")
	c := smtpSession(t, w.addr(t, "submission"))
	c.expect(authPlain("alice@"+testDomain), "235")
	c.expect("MAIL FROM:<alice@"+testDomain+">", "250")
	c.expect("RCPT TO:<a@remote.test>", "250")
	c.expect("RCPT TO:<b@remote.test>", "250")
	c.expect("RCPT TO:<c@remote.test>", "450 4.7.1")
	c.data("From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n", "250")
	c.expect("MAIL FROM:<alice@"+testDomain+">", "450 4.7.1")
}

// No open relay: neither the MX port nor the submission ports relay
// without authentication.
func TestSendingNoOpenRelay(t *testing.T) {
	w := startSendingWorld(t, nil, "alice")
	mx := smtpSession(t, w.addr(t, "smtp"))
	mx.expect("MAIL FROM:<alice@"+testDomain+">", "250")
	mx.expect("RCPT TO:<friend@remote.test>", "554 5.7.1")
	mx.expect("RCPT TO:<friend%remote.test@"+testDomain+">", "554 5.7.1")
	mx.expect("RCPT TO:<@"+testDomain+":friend@remote.test>", "554 5.7.1")
	for _, port := range []string{"submission", "submissions"} {
		var c *lineConn
		if port == "submissions" {
			conn, err := tls.Dial("tcp", w.addr(t, port), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			c = dialLineConn(t, conn)
			c.expect("", "220")
			c.expect("EHLO client.test", "250")
		} else {
			c = smtpSession(t, w.addr(t, port))
		}
		c.expect("MAIL FROM:<alice@"+testDomain+">", "530 5.7.0")
		c.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice@"+testDomain+"\x00wrong")), "535")
		c.expect("MAIL FROM:<alice@"+testDomain+">", "530 5.7.0")
	}
	if n := w.mx.count(); n != 0 {
		t.Errorf("%d messages relayed", n)
	}
}
