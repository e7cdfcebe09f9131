package smtpd

import (
	"context"
	"strings"
	"testing"

	"mailport/internal/directory"
)

// idnWorld adds the domain bücher.test (kept as xn--bcher-kva.test) with
// the mailbox user.
func idnWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.dirs.AddDomain(ctx, "bücher.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.dirs.AddUser(ctx, directory.NewUser{Address: "user@bücher.test", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestIDNRecipients: mail for an internationalized domain reaches its
// mailbox whether the client writes the domain in A-labels (it must
// without SMTPUTF8: only SMTPUTF8, RFC 6531, allows U-labels) or in
// U-labels with SMTPUTF8, which the server announces.
func TestIDNRecipients(t *testing.T) {
	w := idnWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	if ehlo := c.cmd("EHLO client.test", 250, ""); !strings.Contains(ehlo, "SMTPUTF8") {
		t.Fatalf("EHLO does not announce SMTPUTF8: %q", ehlo)
	}
	for _, tc := range []struct{ mail, rcpt string }{
		{"MAIL FROM:<s@remote.test>", "RCPT TO:<user@xn--bcher-kva.test>"},
		{"MAIL FROM:<s@remote.test>", "RCPT TO:<USER@XN--BCHER-KVA.TEST>"},
		{"MAIL FROM:<s@remote.test> SMTPUTF8", "RCPT TO:<user@bücher.test>"},
		{"MAIL FROM:<s@bücher.example> SMTPUTF8", "RCPT TO:<User@BÜCHER.test>"},
	} {
		c.cmd(tc.mail, 250, "")
		c.cmd(tc.rcpt, 250, "")
		c.cmd("DATA", 354, "")
		c.cmd("Subject: "+tc.rcpt+"\r\n\r\nbody\r\n.", 250, "")
	}
	if n := len(w.inbox(t, "user@xn--bcher-kva.test")); n != 4 {
		t.Errorf("the mailbox has %d messages, want 4", n)
	}
	// The other form of an unknown address is as unknown.
	c.cmd("MAIL FROM:<s@remote.test> SMTPUTF8", 250, "")
	c.cmd("RCPT TO:<nobody@bücher.test>", 550, "5.1.1")
}

// TestIDNSubmission: the user of an internationalized domain logs in with
// either form of its address and sends as either form, in the envelope
// and in From (RFC 6532 allows U-labels there).
func TestIDNSubmission(t *testing.T) {
	w := idnWorld(t)
	cfg := w.config()
	cfg.Submission = true
	cfg.Outbound = &queueRecorder{}
	_, addr := start(t, cfg, false)
	for _, tc := range []struct{ login, mail, from string }{
		{"user@bücher.test", "MAIL FROM:<user@bücher.test> SMTPUTF8", "user@bücher.test"},
		{"USER@XN--BCHER-KVA.TEST", "MAIL FROM:<user@xn--bcher-kva.test>", "User <user@xn--bcher-kva.test>"},
		{"user@xn--bcher-kva.test", "MAIL FROM:<user@xn--bcher-kva.test> SMTPUTF8", "user@BÜCHER.test"},
	} {
		c := submitAs(t, addr, tc.login)
		c.cmd(tc.mail, 250, "")
		c.cmd("RCPT TO:<bob@example.test>", 250, "")
		c.cmd("DATA", 354, "")
		c.cmd("From: "+tc.from+"\r\nTo: bob@example.test\r\nSubject: s\r\n\r\nbody\r\n.", 250, "")
	}
	// Someone else's address in the other form is still someone else's.
	c := submitAs(t, addr, "user@bücher.test")
	c.cmd("MAIL FROM:<alice@EXAMPLE.test>", 553, "5.7.1")
	if n := len(w.inbox(t, "bob@example.test")); n != 3 {
		t.Errorf("bob has %d messages, want 3", n)
	}
}
