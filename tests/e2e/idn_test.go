package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"mailport/internal/msgauth/dkim"
)

// TestIDNDomain: a domain an admin adds in U-labels (bücher.example)
// receives mail written to its A-label form by a client without SMTPUTF8
// (swaks, as most MTAs write it) and to its U-label form over SMTPUTF8
// (RFC 6531); its user logs in over POP3, IMAP and SMTP AUTH with either
// form, and mail it sends is DKIM-signed with d= in A-labels, which the
// receiver verifies against the record `mailport dns` names; mail to a
// U-label remote domain reaches its MX, to a server without SMTPUTF8 in
// A-labels.
func TestIDNDomain(t *testing.T) {
	swaks := requirePeer(t, "swaks", "swaks")
	ctx := context.Background()
	w := startSendingWorld(t, nil)
	if _, err := w.Directory.AddDomain(ctx, "bücher.example"); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "user@bücher.example")
	host, port := hostPort(t, w.addr(t, "smtp"))

	out, err := exec.Command(swaks, "--server", host, "--port", port, "--helo", "client.e2e.test", "--timeout", "30",
		"--from", "sender@remote.test", "--to", "user@xn--bcher-kva.example",
		"--header", "Subject: swaks to the A-label form").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<-  250 ") {
		t.Fatalf("swaks to the A-label form: %v\n%s", err, out)
	}

	c := dialLine(t, w.addr(t, "smtp"))
	c.expect("", "220 ")
	if ehlo := c.expect("EHLO client.e2e.test", "250 "); !strings.Contains(strings.Join(ehlo, "\n"), "SMTPUTF8") {
		t.Fatalf("EHLO does not announce SMTPUTF8: %q", ehlo)
	}
	c.expect("MAIL FROM:<sender@remote.test> SMTPUTF8", "250 ")
	c.expect("RCPT TO:<User@BÜCHER.example>", "250 ")
	c.expect("DATA", "354 ")
	c.send(testMessage("sender@remote.test", "user@bücher.example", "SMTPUTF8 to the U-label form", "Grüße."))
	c.expect(".", "250 ")
	c.expect("QUIT", "221 ")

	for _, login := range []string{"user@bücher.example", "USER@XN--BCHER-KVA.EXAMPLE"} {
		msgs := pop3Messages(t, w.addr(t, "pop3"), login, userPassword)
		if len(msgs) != 2 || !strings.Contains(msgs[0], "Subject: swaks to the A-label form") || !strings.Contains(msgs[1], "Subject: SMTPUTF8 to the U-label form") {
			t.Fatalf("POP3 as %s: %d messages %q", login, len(msgs), msgs)
		}
	}
	ic := imapLogin(t, w.addr(t, "imap"), "user@xn--bcher-kva.example", nil)
	if got := mailboxContents(t, ic, "INBOX"); len(got) != 2 {
		t.Errorf("IMAP INBOX holds %d messages, want 2", len(got))
	}

	// Sending: login in U-labels, envelope and From in A-labels as a
	// client without SMTPUTF8 writes them; the key is made through the
	// upper-case U-label form.
	w.publishDKIM(t, "BÜCHER.example")
	s := smtpSession(t, w.addr(t, "submission"))
	s.expect(authPlain("user@bücher.example"), "235")
	s.expect("MAIL FROM:<user@xn--bcher-kva.example>", "250")
	s.expect("RCPT TO:<friend@remote.test>", "250")
	s.data("From: User <user@xn--bcher-kva.example>\r\nTo: friend@remote.test\r\nSubject: from an IDN domain\r\nMessage-ID: <idn@xn--bcher-kva.example>\r\n\r\nHallo.\r\n", "250")
	got := w.mx.wait(t, 1)
	if got.from != "user@xn--bcher-kva.example" {
		t.Errorf("remote MX got MAIL FROM %q", got.from)
	}
	res, err := dkim.Verify(ctx, strings.NewReader(got.data), w.zone)
	if err != nil || len(res) != 1 || res[0].Status != dkim.StatusPass || res[0].Domain != "xn--bcher-kva.example" {
		t.Fatalf("DKIM at the receiver: %+v, %v\n%s", res, err, got.data)
	}

	// To an internationalized remote domain, submitted in U-labels with
	// SMTPUTF8: the queue finds its MX under the A-labels DNS holds (RFC
	// 5891 section 5), and the remote MX, which lacks SMTPUTF8, gets both
	// envelope domains as A-labels (RFC 6531 section 3.2).
	w.zone.AddMX("xn--mnchen-3ya.test", "mx.remote.test", 10)
	s.expect("MAIL FROM:<user@bücher.example> SMTPUTF8", "250")
	s.expect("RCPT TO:<freund@München.test>", "250")
	s.data("From: user@bücher.example\r\nTo: freund@münchen.test\r\nSubject: to an IDN domain\r\nMessage-ID: <idn2@xn--bcher-kva.example>\r\n\r\nHallo.\r\n", "250")
	got = w.mx.wait(t, 2)
	if got.from != "user@xn--bcher-kva.example" || len(got.rcpts) != 1 || got.rcpts[0] != "freund@xn--mnchen-3ya.test" {
		t.Errorf("remote MX got MAIL FROM %q, RCPT %q; want both domains in A-labels", got.from, got.rcpts)
	}

	// Someone else's address is refused in either form.
	s.expect("MAIL FROM:<other@bücher.example> SMTPUTF8", "553 5.7.1")
}
