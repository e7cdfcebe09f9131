package smtpd

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
)

// noticeRecorder is an Outbound and SuccessNotifier that keeps the
// envelope it queued and the success notices it was asked for.
type noticeRecorder struct {
	envelopeRecorder
	mu      sync.Mutex
	notices [][]delivery.Success
}

func (n *noticeRecorder) NotifySuccess(_ context.Context, _ *delivery.Delivery, s []delivery.Success) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, s)
	return nil
}

// What a RCPT's NOTIFY and ORCPT become for the addresses it leads to
// (RFC 3461 section 5.2.7): an alias with one target passes them on, with
// its own address as ORCPT; one with several owes an "expanded" notice
// and its targets get NOTIFY without SUCCESS; a mailbox with SUCCESS
// owes a "delivered" one; all in one notice per message.
func TestDSNThroughAliases(t *testing.T) {
	w := newWorld(t)
	if _, err := w.dirs.AddAlias(context.Background(), "mixed@example.test", []string{"alice@example.test", "friend@remote.test"}); err != nil {
		t.Fatal(err)
	}
	out := &noticeRecorder{}
	cfg := w.config()
	cfg.Outbound = out
	_, addr := start(t, cfg, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test> ENVID=E1", 250, "")
	c.cmd("RCPT TO:<Mixed@example.test> NOTIFY=SUCCESS,FAILURE", 250, "")
	c.cmd("RCPT TO:<ext@example.test> NOTIFY=SUCCESS", 250, "")
	c.cmd("RCPT TO:<bob@example.test> NOTIFY=SUCCESS ORCPT=rfc822;Bob@example.test", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")

	env := out.last(t)
	for _, tc := range []struct {
		addr   string
		notify []smtp.DSNNotify
		orcpt  string
	}{
		{"friend@remote.test", []smtp.DSNNotify{smtp.DSNNotifyFailure}, "Mixed@example.test"},
		{"someone@remote.test", []smtp.DSNNotify{smtp.DSNNotifySuccess}, "ext@example.test"},
	} {
		d, ok := env.RecipientDSN(tc.addr)
		if !ok || !slices.Equal(d.Notify, tc.notify) || d.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || d.OriginalRecipient != tc.orcpt {
			t.Errorf("%s: %+v (%v), want NOTIFY %v ORCPT %s", tc.addr, d, ok, tc.notify, tc.orcpt)
		}
	}
	for _, r := range env.Recipients {
		if r.Account.Address == "alice@example.test" && slices.Contains(r.DSN.Notify, smtp.DSNNotifySuccess) {
			t.Errorf("alice, a target of an alias with two, kept SUCCESS: %v", r.DSN.Notify)
		}
	}

	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.notices) != 1 {
		t.Fatalf("%d success notices, want 1", len(out.notices))
	}
	got := out.notices[0]
	if len(got) != 2 || got[0].Address != "bob@example.test" || got[0].Expanded || got[0].DSN.OriginalRecipient != "Bob@example.test" ||
		got[1].Address != "Mixed@example.test" || !got[1].Expanded || got[1].DSN.OriginalRecipient != "" {
		t.Errorf("notice recipients: %+v", got)
	}
}
