package smtpd

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
)

// envelopeRecorder is an Outbound that keeps the envelope of the last
// queued delivery.
type envelopeRecorder struct {
	mu  sync.Mutex
	env *delivery.Envelope
}

func (q *envelopeRecorder) Enqueue(_ context.Context, d *delivery.Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.env = d.Envelope
	return nil
}

func (q *envelopeRecorder) last(t *testing.T) *delivery.Envelope {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.env == nil {
		t.Fatal("nothing queued")
	}
	return q.env
}

// Both ports announce DSN (RFC 3461 section 4), and bad parameters get
// 501 5.5.4 while the transaction goes on.
func TestDSNAnnouncedAndChecked(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Outbound = &envelopeRecorder{}
	_, mx := start(t, cfg, false)
	cfg.Submission = true
	_, sub := start(t, cfg, false)

	c := dialRaw(t, sub)
	if ehlo := c.cmd("EHLO client.test", 250, ""); !slices.Contains(strings.Split(ehlo, "\n"), "DSN") {
		t.Errorf("submission EHLO does not list DSN: %q", ehlo)
	}
	c = dialRaw(t, mx)
	if ehlo := c.cmd("EHLO client.test", 250, ""); !slices.Contains(strings.Split(ehlo, "\n"), "DSN") {
		t.Errorf("MX EHLO does not list DSN: %q", ehlo)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, line := range []string{
		"MAIL FROM:<sender@remote.test> RET=SOME",
		"MAIL FROM:<sender@remote.test> ENVID=" + long(101),
		// 34 octets that xtext doubles past the limit: "+" is "+2B".
		"MAIL FROM:<sender@remote.test> ENVID=" + strings.Repeat("+2B", 34),
		"MAIL FROM:<sender@remote.test> ENVID=bad+2",
	} {
		c.cmd(line, 501, "5.5.4")
	}
	c.cmd("MAIL FROM:<sender@remote.test> RET=HDRS ENVID="+long(100), 250, "")
	for _, line := range []string{
		"RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS",
		"RCPT TO:<alice@example.test> NOTIFY=SOMETIMES",
		"RCPT TO:<alice@example.test> NOTIFY=",
		"RCPT TO:<alice@example.test> ORCPT=alice@example.test",
		"RCPT TO:<alice@example.test> ORCPT=rfc822;" + long(494),
	} {
		c.cmd(line, 501, "5.5.4")
	}
	c.cmd("RCPT TO:<alice@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;"+long(493), 250, "")
	c.cmd("RCPT TO:<bob@example.test> NOTIFY=NEVER", 250, "")
}

// RET and ENVID of MAIL and NOTIFY and ORCPT of RCPT reach the queue
// for the outside targets of an alias.
func TestDSNParametersReachTheQueue(t *testing.T) {
	w := newWorld(t)
	out := &envelopeRecorder{}
	cfg := w.config()
	cfg.Outbound = out
	_, addr := start(t, cfg, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test> RET=FULL ENVID=QQ+2B314", 250, "")
	c.cmd("RCPT TO:<ext@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ext+2Bx@example.test", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")

	env := out.last(t)
	if env.Return != smtp.DSNReturnFull || env.EnvelopeID != "QQ+314" {
		t.Errorf("RET %q ENVID %q", env.Return, env.EnvelopeID)
	}
	d, ok := env.RecipientDSN("someone@remote.test")
	if !ok || !slices.Equal(d.Notify, []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}) ||
		d.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || d.OriginalRecipient != "ext+x@example.test" {
		t.Errorf("alias target's parameters: %+v (%v)", d, ok)
	}
	if _, ok := env.RecipientDSN("alice@example.test"); ok {
		t.Error("parameters recorded for a local mailbox, which the queue never sees")
	}
}
