package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"mailport/internal/queue/dsn"
)

// TestDSNLocalAndAliases follows NOTIFY=SUCCESS into our own mailboxes
// and aliases, over the submission port with the commands written here
// (Debian's swaks has no --dsn-* options):
//   - to a local mailbox, stored at SMTP time without the queue: a
//     "delivered" notice (RFC 3461 section 5.2.3) with the ENVID and
//     the ORCPT given;
//   - to an alias with one target: the parameters pass on (section
//     5.2.7.2), so the target's "delivered" notice names the mailbox and,
//     as ORCPT, the alias;
//   - to an alias with a local and a remote target: one "expanded"
//     notice for the alias (section 5.2.7.3 (c)) and nothing from the
//     targets, which got NOTIFY without SUCCESS (the remote MX has no
//     DSN, so SUCCESS would have brought a "relayed" notice).
func TestDSNLocalAndAliases(t *testing.T) {
	w := startSendingWorld(t, nil, "dsnsender", "carol", "dave")
	ctx := context.Background()
	if _, err := w.Directory.AddAlias(ctx, "team@"+testDomain, []string{"carol@" + testDomain, "friend@remote.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Directory.AddAlias(ctx, "solo@"+testDomain, []string{"dave@" + testDomain}); err != nil {
		t.Fatal(err)
	}
	sender := "dsnsender@" + testDomain
	c := dialLine(t, w.addr(t, "submission"))
	c.expect("", "220")
	c.expect("EHLO client.sender.test", "250")
	c.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+sender+"\x00"+userPassword)), "235")
	send := func(envid, rcpt, rcptParams, subject string) {
		t.Helper()
		c.expect("MAIL FROM:<"+sender+"> ENVID="+envid, "250")
		c.expect("RCPT TO:<"+rcpt+">"+rcptParams, "250")
		c.data(testMessage(sender, rcpt, subject, "DSN test."), "250")
	}
	send("local-1", "carol@"+testDomain, " NOTIFY=SUCCESS ORCPT=rfc822;Carol@"+testDomain, "dsn local")
	send("solo-1", "solo@"+testDomain, " NOTIFY=SUCCESS", "dsn solo")
	send("team-1", "team@"+testDomain, " NOTIFY=SUCCESS,FAILURE", "dsn team")
	c.expect("QUIT", "221")

	if got := w.mx.wait(t, 1); len(got.rcpts) != 1 || got.rcpts[0] != "friend@remote.test" {
		t.Errorf("remote target got %v", got.rcpts)
	}
	// Every notice was queued before its 250: an empty queue means all
	// have been delivered.
	waitQueueEmpty(t, w.testServer)
	in := waitInbox(t, w.testServer, sender, 3)
	if len(in) != 3 {
		t.Fatalf("the sender got %d notices, want 3", len(in))
	}
	byEnvID := map[string]*dsn.Report{}
	for _, m := range in {
		rep, err := dsn.Parse(strings.NewReader(m))
		if err != nil {
			t.Fatalf("notice does not parse: %v\n%s", err, m)
		}
		if len(rep.Recipients) != 1 {
			t.Errorf("notice %s reports on %d recipients: %+v", rep.OriginalEnvelopeID, len(rep.Recipients), rep.Recipients)
		}
		byEnvID[rep.OriginalEnvelopeID] = rep
	}
	check := func(envid string, action dsn.Action, final, orcpt, subject string) {
		t.Helper()
		rep := byEnvID[envid]
		if rep == nil || len(rep.Recipients) == 0 {
			t.Errorf("no notice with ENVID %s: %v", envid, byEnvID)
			return
		}
		if r := rep.Recipients[0]; r.Action != action || r.FinalRecipient != final || r.OriginalRecipient != orcpt || r.Status != "2.0.0" {
			t.Errorf("notice %s: %+v, want %s for %s (ORCPT %q)", envid, r, action, final, orcpt)
		}
		if !strings.Contains(string(rep.OriginalHeader), "Subject: "+subject) || rep.OriginalMessage != nil {
			t.Errorf("notice %s returns %q, want the header of %q only", envid, rep.OriginalHeader, subject)
		}
	}
	check("local-1", dsn.Delivered, "carol@"+testDomain, "rfc822; Carol@"+testDomain, "dsn local")
	check("solo-1", dsn.Delivered, "dave@"+testDomain, "rfc822; solo@"+testDomain, "dsn solo")
	check("team-1", dsn.Expanded, "team@"+testDomain, "", "dsn team")
	if n := len(w.inbox(t, "carol@"+testDomain)); n != 2 {
		t.Errorf("carol has %d messages, want 2 (direct and through team)", n)
	}
}
