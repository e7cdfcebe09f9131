package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"mailport/internal/queue/dsn"
)

// TestDSNNotify submits over the submission port with the DSN parameters
// of RFC 3461 on the wire (the Debian swaks, 20201014, predates its
// --dsn-* options, so the commands are written here) and reads the
// notices that come back to the local sender's INBOX:
//   - NOTIFY=NEVER to a domain that does not exist (a permanent failure
//     at once: no MX, no address) brings no bounce, while the same
//     message with NOTIFY=FAILURE does, with the ENVID and ORCPT given;
//   - NOTIFY=SUCCESS,FAILURE with ENVID to a remote MX that does not
//     announce DSN brings a "relayed" notice carrying the ENVID.
func TestDSNNotify(t *testing.T) {
	w := startSendingWorld(t, nil, "dsnsender")
	sender := "dsnsender@" + testDomain
	c := dialLine(t, w.addr(t, "submission"))
	c.expect("", "220")
	ehlo := c.expect("EHLO client.sender.test", "250")
	if !strings.Contains(strings.Join(ehlo, "\n"), "250-DSN") && !strings.Contains(strings.Join(ehlo, "\n"), "250 DSN") {
		t.Fatalf("submission does not announce DSN: %q", ehlo)
	}
	c.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+sender+"\x00"+userPassword)), "235")
	send := func(mailParams, rcpt, rcptParams, subject string) {
		t.Helper()
		c.expect("MAIL FROM:<"+sender+">"+mailParams, "250")
		c.expect("RCPT TO:<"+rcpt+">"+rcptParams, "250")
		c.data(testMessage(sender, rcpt, subject, "DSN test."), "250")
	}

	// NOTIFY=NEVER first: the failure notice of the second message
	// then shows that the first one has been given up already.
	send(" ENVID=never-1", "nobody@nowhere.test", " NOTIFY=NEVER", "dsn never")
	send(" RET=HDRS ENVID=fail+2B2", "nobody@nowhere.test", " NOTIFY=FAILURE ORCPT=rfc822;list@example.org", "dsn failure")
	send(" ENVID=QQ314159", "carol@remote.test", " NOTIFY=SUCCESS,FAILURE", "dsn success")
	c.expect("QUIT", "221")

	w.mx.wait(t, 1)
	// Every message was queued before its 250, and a notice is queued
	// before the entry it reports on goes: an empty queue means every
	// notice there will be has been delivered.
	waitQueueEmpty(t, w.testServer)
	in := waitInbox(t, w.testServer, sender, 2)
	if len(in) != 2 {
		t.Fatalf("the sender got %d notices, want 2 (none for NOTIFY=NEVER)", len(in))
	}
	byEnvID := map[string]*dsn.Report{}
	for _, m := range in {
		rep, err := dsn.Parse(strings.NewReader(m))
		if err != nil {
			t.Fatalf("notice does not parse: %v\n%s", err, m)
		}
		byEnvID[rep.OriginalEnvelopeID] = rep
	}
	if _, ok := byEnvID["never-1"]; ok {
		t.Error("a notice came back for NOTIFY=NEVER")
	}
	fail := byEnvID["fail+2"]
	if fail == nil || len(fail.Recipients) != 1 {
		t.Fatalf("no failure notice with ENVID fail+2: %v", byEnvID)
	}
	if r := fail.Recipients[0]; r.Action != dsn.Failed || r.FinalRecipient != "nobody@nowhere.test" || r.OriginalRecipient != "rfc822; list@example.org" {
		t.Errorf("failure notice: %+v", r)
	}
	if fail.OriginalMessage != nil || !strings.Contains(string(fail.OriginalHeader), "Subject: dsn failure") {
		t.Errorf("RET=HDRS: the notice returns the header only")
	}
	ok := byEnvID["QQ314159"]
	if ok == nil || len(ok.Recipients) != 1 {
		t.Fatalf("no success notice with ENVID QQ314159: %v", byEnvID)
	}
	if r := ok.Recipients[0]; r.Action != dsn.Relayed || r.FinalRecipient != "carol@remote.test" {
		t.Errorf("success notice: %+v", r)
	}
}
