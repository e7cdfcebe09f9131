package delivery

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

var (
	notifySuccess        = []smtp.DSNNotify{smtp.DSNNotifySuccess}
	notifySuccessFailure = []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}
)

// What an RCPT's NOTIFY and ORCPT become for the addresses it leads to
// (RFC 3461 sections 5.2.1 (d), 5.2.7.2 and 5.2.7.3 (c)).
func TestExpansionFor(t *testing.T) {
	orcpt := RecipientDSN{Notify: notifySuccessFailure, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "Team@Example.test"}
	cases := []struct {
		name    string
		rcpt    string
		d       RecipientDSN
		targets int
		target  string
		want    RecipientDSN
	}{
		{"the mailbox itself, in another case", "Alice@Example.TEST", RecipientDSN{Notify: notifySuccess}, 1, "alice@example.test",
			RecipientDSN{Notify: notifySuccess}},
		{"single-target alias passes NOTIFY on and names itself in ORCPT", "team@example.test", RecipientDSN{Notify: notifySuccess}, 1, "bob@remote.test",
			RecipientDSN{Notify: notifySuccess, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "team@example.test"}},
		{"several targets lose SUCCESS", "team@example.test", RecipientDSN{Notify: notifySuccessFailure}, 2, "bob@remote.test",
			RecipientDSN{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "team@example.test"}},
		{"SUCCESS alone becomes NEVER", "team@example.test", RecipientDSN{Notify: notifySuccess}, 3, "alice@example.test",
			RecipientDSN{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "team@example.test"}},
		{"the client's ORCPT stays", "team@example.test", orcpt, 2, "bob@remote.test",
			RecipientDSN{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "Team@Example.test"}},
		{"no NOTIFY stays none", "team@example.test", RecipientDSN{}, 2, "bob@remote.test",
			RecipientDSN{OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "team@example.test"}},
		{"internationalized alias", "équipe@example.test", RecipientDSN{}, 1, "bob@remote.test",
			RecipientDSN{OriginalRecipientType: smtp.DSNAddressTypeUTF8, OriginalRecipient: "équipe@example.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.d.Notify)
			x := NewExpansion(tc.rcpt, tc.d, tc.targets)
			got := x.For(tc.target)
			if !slices.Equal(got.Notify, tc.want.Notify) || got.OriginalRecipientType != tc.want.OriginalRecipientType ||
				got.OriginalRecipient != tc.want.OriginalRecipient {
				t.Errorf("For(%s) = %+v, want %+v", tc.target, got, tc.want)
			}
			if !slices.Equal(tc.d.Notify, before) {
				t.Errorf("the RCPT's own NOTIFY changed to %v", tc.d.Notify)
			}
			if x.Expanded() != (tc.targets > 1) {
				t.Errorf("Expanded() = %v with %d targets", x.Expanded(), tc.targets)
			}
		})
	}
}

// notifierOutbound is a SuccessNotifier that records what it is asked
// and what the mailboxes held at that moment.
type notifierOutbound struct {
	e        *env
	t        *testing.T
	err      error
	calls    [][]Success
	stored   int    // copies in alice's INBOX when the notice was asked
	spoolHdr string // the spooled message's start, read during the call
}

func (o *notifierOutbound) Enqueue(context.Context, *Delivery) error { return nil }

func (o *notifierOutbound) NotifySuccess(_ context.Context, d *Delivery, s []Success) error {
	o.calls = append(o.calls, s)
	o.stored = len(o.e.inbox(o.t, "alice@example.test"))
	id, skip, err := d.RelayBlob()
	if err != nil {
		return err
	}
	o.spoolHdr = o.e.read(o.t, id)[skip:]
	return o.err
}

// The "outbound" stage asks for one success notice after the copies are
// stored and before Deliver returns: the mailboxes whose NOTIFY has
// SUCCESS ("delivered") and the expanded aliases; none when nobody asked.
// A notice that cannot be queued refuses the message with 451.
func TestSuccessNoticeAfterStore(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	e.user(t, "bob@example.test", 0)
	out := &notifierOutbound{e: e, t: t}
	dl := e.deliverer(t, nil, 0)
	if err := dl.InsertBefore("store", OutboundStage(out)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newEnvelope := func() *Envelope {
		en := &Envelope{MailFrom: "sender@remote.test", RcptTo: []string{"Alice@example.test", "team@example.test", "bob@example.test"}}
		for _, addr := range []string{"alice@example.test", "bob@example.test"} {
			res, err := e.dirs.Resolve(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			d := RecipientDSN{Notify: notifySuccess, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "Alice@example.test"}
			if addr == "bob@example.test" {
				d = RecipientDSN{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}}
			}
			en.AddLocal(res.Local[0], NewExpansion(addr, d, 1).For(addr))
		}
		en.AddExpansion(NewExpansion("team@example.test", RecipientDSN{Notify: notifySuccessFailure}, 2))
		return en
	}
	if err := dl.Deliver(ctx, dl.NewDelivery(newEnvelope(), strings.NewReader(testMessage))); err != nil {
		t.Fatal(err)
	}
	if len(out.calls) != 1 {
		t.Fatalf("%d notices asked for, want 1", len(out.calls))
	}
	want := []Success{
		{Address: "alice@example.test", DSN: RecipientDSN{Notify: notifySuccess, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "Alice@example.test"}},
		{Address: "team@example.test", Expanded: true, DSN: RecipientDSN{Notify: notifySuccessFailure}},
	}
	got := out.calls[0]
	if len(got) != len(want) {
		t.Fatalf("successes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Address != want[i].Address || got[i].Expanded != want[i].Expanded || !slices.Equal(got[i].DSN.Notify, want[i].DSN.Notify) ||
			got[i].DSN.OriginalRecipient != want[i].DSN.OriginalRecipient {
			t.Errorf("success %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if out.stored != 1 {
		t.Errorf("alice had %d stored copies when the notice was asked for, want 1", out.stored)
	}
	if strings.Contains(out.spoolHdr, "Return-Path") || !strings.HasSuffix(out.spoolHdr, testMessage) {
		t.Errorf("spooled message read by the notifier:\n%s", out.spoolHdr)
	}

	// Nobody asked: no notice.
	plain := &Envelope{MailFrom: "sender@remote.test"}
	e.resolve(t, plain, "alice@example.test")
	if err := dl.Deliver(ctx, dl.NewDelivery(plain, strings.NewReader(testMessage))); err != nil {
		t.Fatal(err)
	}
	if len(out.calls) != 1 {
		t.Errorf("%d notices asked for after a delivery without NOTIFY=SUCCESS", len(out.calls))
	}

	// A notice the queue cannot take: 451, so that the client's retry
	// brings it.
	out.err = errors.New("queue full")
	err := dl.Deliver(ctx, dl.NewDelivery(newEnvelope(), strings.NewReader(testMessage)))
	if de := AsError(err); de == nil || de.Code != 451 {
		t.Fatalf("Deliver = %v, want 451", err)
	}
}
