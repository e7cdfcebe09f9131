package e2e

import (
	"context"
	"strings"
	"testing"

	"mailport/internal/msgauth/dkim"
	"mailport/internal/srs"
)

// signFor signs msg for domain with a fresh key published in the zone.
func (w *sendingWorld) signFor(t *testing.T, domain, msg string) string {
	t.Helper()
	key, err := dkim.GenerateKey(dkim.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.DNSRecord(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	w.zone.AddTXT(dkim.RecordName("k1", domain), rec)
	field, err := dkim.Sign(strings.NewReader(msg), domain, "k1", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return field + msg
}

// Inbound mail gets an Authentication-Results field with SPF, DKIM and
// DMARC results; a DMARC p=reject failure is refused at end of data.
func TestSendingInboundAuthenticationResults(t *testing.T) {
	w := startSendingWorld(t, nil, "alice")
	w.zone.AddTXT("sender.test", "v=spf1 ip4:127.0.0.1 -all")
	w.zone.AddTXT("_dmarc.sender.test", "v=DMARC1; p=reject")
	w.zone.AddTXT("forged.test", "v=spf1 ip4:192.0.2.1 -all")
	w.zone.AddTXT("_dmarc.forged.test", "v=DMARC1; p=reject")

	msg := "From: Carol <carol@sender.test>\r\nTo: alice@example.test\r\nSubject: signed\r\nMessage-ID: <s1@sender.test>\r\n\r\nHello Alice.\r\n"
	c := smtpSession(t, w.addr(t, "smtp"))
	c.expect("MAIL FROM:<carol@sender.test>", "250")
	c.expect("RCPT TO:<alice@"+testDomain+">", "250")
	c.data(w.signFor(t, "sender.test", msg), "250")

	in := w.inbox(t, "alice@"+testDomain)
	if len(in) != 1 {
		t.Fatalf("%d messages", len(in))
	}
	hdr := in[0][:strings.Index(in[0], "\r\n\r\n")]
	ar := ""
	for _, f := range strings.Split(strings.ReplaceAll(hdr, "\r\n\t", " "), "\r\n") {
		if strings.HasPrefix(f, "Authentication-Results:") {
			ar = f
		}
	}
	for _, want := range []string{"Authentication-Results: " + testHostname, "spf=pass", "smtp.mailfrom=carol@sender.test",
		"dkim=pass", "header.d=sender.test", "dmarc=pass", "header.from=sender.test"} {
		if !strings.Contains(ar, want) {
			t.Errorf("Authentication-Results lacks %q: %q", want, ar)
		}
	}

	// From forged.test, sent from an address its SPF does not allow and
	// without a signature: DMARC fails under p=reject.
	c.expect("MAIL FROM:<someone@forged.test>", "250")
	c.expect("RCPT TO:<alice@"+testDomain+">", "250")
	reply := c.data("From: boss@forged.test\r\nSubject: pay this\r\n\r\nurgent\r\n", "550 5.7.1")
	if !strings.Contains(reply[len(reply)-1], "DMARC") {
		t.Errorf("refusal %q does not say why", reply)
	}
	if n := len(w.inbox(t, "alice@"+testDomain)); n != 1 {
		t.Errorf("rejected message stored: %d messages", n)
	}
}

// An alias with an external target and a forward without keep-copy go
// through the queue with an SRS sender; a bounce to that SRS address comes
// back to the original sender; a forged SRS address is refused.
func TestSendingForwardsWithSRS(t *testing.T) {
	w := startSendingWorld(t, nil, "alice", "bob")
	ctx := context.Background()
	if _, err := w.Directory.AddAlias(ctx, "ext@"+testDomain, []string{"friend@remote.test"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Directory.AddForward(ctx, "alice@"+testDomain, "alice@remote.test", false); err != nil {
		t.Fatal(err)
	}
	if err := w.Directory.AddForward(ctx, "bob@"+testDomain, "bob@remote.test", true); err != nil {
		t.Fatal(err)
	}
	w.zone.AddTXT("sender.test", "v=spf1 ip4:127.0.0.1 -all")

	c := smtpSession(t, w.addr(t, "smtp"))
	for i, rcpt := range []string{"ext", "alice", "bob"} {
		c.expect("MAIL FROM:<carol@sender.test>", "250")
		c.expect("RCPT TO:<"+rcpt+"@"+testDomain+">", "250")
		c.data("From: carol@sender.test\r\nSubject: to "+rcpt+"\r\n\r\nbody\r\n", "250")
		got := w.mx.wait(t, i+1)
		if !strings.HasPrefix(got.from, "SRS0=") || !strings.HasSuffix(got.from, "=sender.test=carol@"+testHostname) {
			t.Errorf("%s: forwarded with MAIL FROM %q, want an SRS0 address", rcpt, got.from)
		}
		if want := map[string]string{"ext": "friend@remote.test", "alice": "alice@remote.test", "bob": "bob@remote.test"}[rcpt]; strings.Join(got.rcpts, ",") != want {
			t.Errorf("%s: forwarded to %v", rcpt, got.rcpts)
		}
		if !strings.Contains(got.data, "Authentication-Results:") || !strings.Contains(got.data, "Subject: to "+rcpt) {
			t.Errorf("%s: forwarded copy:\n%s", rcpt, got.data)
		}
	}
	if n := len(w.inbox(t, "alice@"+testDomain)); n != 0 {
		t.Errorf("forward without keep-copy stored %d local copies", n)
	}
	if n := len(w.inbox(t, "bob@"+testDomain)); n != 1 {
		t.Errorf("forward with keep-copy stored %d local copies", n)
	}

	// The remote side bounces the first forward to its SRS sender.
	srsAddr := w.mx.wait(t, 1).from
	c.expect("MAIL FROM:<>", "250")
	c.expect("RCPT TO:<"+strings.Replace(srsAddr, "=sender.test=", "=victim.test=", 1)+">", "550 5.1.1")
	c.expect("RCPT TO:<"+srsAddr+">", "250")
	c.data("From: MAILER-DAEMON@mx.remote.test\r\nSubject: Undelivered Mail\r\n\r\nfailed\r\n", "250")
	back := w.mx.wait(t, 4)
	if back.from != "" || strings.Join(back.rcpts, ",") != "carol@sender.test" {
		t.Errorf("bounce routed as MAIL FROM %q RCPT %v, want <> to carol@sender.test", back.from, back.rcpts)
	}
	// A null sender is never rewritten.
	c.expect("MAIL FROM:<>", "250")
	c.expect("RCPT TO:<ext@"+testDomain+">", "250")
	c.data("From: MAILER-DAEMON@sender.test\r\nSubject: bounce\r\n\r\nx\r\n", "250")
	if got := w.mx.wait(t, 5); got.from != "" {
		t.Errorf("null sender forwarded as %q", got.from)
	}
	if _, err := srs.LoadOrCreateKey(w.Dir); err != nil {
		t.Errorf("SRS key in the data dir: %v", err)
	}
}
