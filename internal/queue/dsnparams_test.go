package queue

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"mailport/internal/queue/dsn"
)

// dsnEnv is a queue whose remote.test MX answers RCPT with rcptReply (nil
// accepts) and announces DSN when withDSN is set.
func dsnEnv(t *testing.T, withDSN bool, rcptReply func(string, int) error) (*env, *mxServer) {
	t.Helper()
	mx := startMX(t, "127.0.0.1", 0, nil, func(s *smtp.Server) { s.EnableDSN = withDSN })
	mx.rcptReply = rcptReply
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	return e, mx
}

// dsnOptions are the RFC 3461 parameters of one test message to
// bob@remote.test.
func dsnOptions(ret smtp.DSNReturn, notify ...smtp.DSNNotify) []Option {
	return []Option{Return(ret), EnvelopeID("QQ314159"), Notify("bob@remote.test", notify),
		OriginalRecipient("bob@remote.test", smtp.DSNAddressTypeRFC822, "team@local.test")}
}

// notice waits for the notice the queue delivers to the local sender and
// parses it.
func (e *env) notice() *dsn.Report {
	e.t.Helper()
	rep, err := dsn.Parse(bytes.NewReader(e.waitLocal()))
	if err != nil {
		e.t.Fatalf("notice does not parse: %v", err)
	}
	return rep
}

// RFC 3461 section 5.2.1: a next hop that announces DSN gets RET, ENVID,
// NOTIFY and ORCPT, and reports from there on: no notice from us, even
// for NOTIFY=SUCCESS.
func TestDSNParametersRelayedToNextHop(t *testing.T) {
	e, mx := dsnEnv(t, true, nil)
	q := e.open()
	if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage),
		dsnOptions(smtp.DSNReturnFull, smtp.DSNNotifySuccess, smtp.DSNNotifyFailure)...); err != nil {
		t.Fatal(err)
	}
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	got := mx.messages()[0]
	if got.mail.Return != smtp.DSNReturnFull || got.mail.EnvelopeID != "QQ314159" {
		t.Errorf("MAIL parameters at the next hop: RET=%q ENVID=%q", got.mail.Return, got.mail.EnvelopeID)
	}
	r := got.rcpt[0]
	if !slices.Equal(r.Notify, []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}) ||
		r.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || r.OriginalRecipient != "team@local.test" {
		t.Errorf("RCPT parameters at the next hop: %+v", r)
	}
	noLocal(t, e, "next hop with DSN")
}

// RFC 3461 section 5.2.2: a next hop without DSN gets none of the
// parameters, and a NOTIFY=SUCCESS recipient gets a "relayed" notice with
// the ENVID and ORCPT, and only the header even for RET=FULL (section
// 4.3: RET is about notices of failure).
func TestRelayedNoticeWhenNextHopLacksDSN(t *testing.T) {
	e, mx := dsnEnv(t, false, nil)
	q := e.open()
	if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage),
		dsnOptions(smtp.DSNReturnFull, smtp.DSNNotifySuccess)...); err != nil {
		t.Fatal(err)
	}
	e.run(q)
	rep := e.notice()
	waitEmpty(t, q)
	if got := mx.messages()[0]; got.mail.EnvelopeID != "" || got.rcpt[0].Notify != nil {
		t.Errorf("parameters sent to a server without DSN: %+v %+v", got.mail, got.rcpt)
	}
	if rep.OriginalEnvelopeID != "QQ314159" || len(rep.Recipients) != 1 {
		t.Fatalf("notice: %+v", rep)
	}
	r := rep.Recipients[0]
	if r.Action != dsn.Relayed || r.Status != "2.0.0" || r.FinalRecipient != "bob@remote.test" || r.OriginalRecipient != "rfc822; team@local.test" {
		t.Errorf("recipient group: %+v", r)
	}
	if rep.OriginalMessage != nil || !bytes.Contains(rep.OriginalHeader, []byte("Subject: test message")) {
		t.Errorf("a success notice returns the header only; message %q header %q", rep.OriginalMessage, rep.OriginalHeader)
	}
	if !strings.HasPrefix(rep.Subject, "Delivery Status Notification") {
		t.Errorf("subject %q", rep.Subject)
	}
}

// RET=FULL returns the whole message with a failure; without RET the
// notice keeps to the header.
func TestFailureNoticeReturn(t *testing.T) {
	for _, tc := range []struct {
		ret  smtp.DSNReturn
		full bool
	}{{smtp.DSNReturnFull, true}, {smtp.DSNReturnHeaders, false}, {"", false}} {
		t.Run("RET="+string(tc.ret), func(t *testing.T) {
			e, _ := dsnEnv(t, false, func(string, int) error { return smtpErr(550, [3]int{5, 1, 1}, "no such user") })
			q := e.open()
			if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage),
				dsnOptions(tc.ret)...); err != nil {
				t.Fatal(err)
			}
			e.run(q)
			rep := e.notice()
			if rep.OriginalEnvelopeID != "QQ314159" || rep.Recipients[0].Action != dsn.Failed ||
				rep.Recipients[0].OriginalRecipient != "rfc822; team@local.test" {
				t.Errorf("notice: %+v", rep)
			}
			if got := sameBody(rep.OriginalMessage); got != tc.full {
				t.Errorf("whole message returned: %v, want %v (%q)", got, tc.full, rep.OriginalMessage)
			}
			if !tc.full && !bytes.Contains(rep.OriginalHeader, []byte("Subject: test message")) {
				t.Errorf("header not returned: %q", rep.OriginalHeader)
			}
		})
	}
}

// RFC 3461 section 5.2.3: local delivery of a NOTIFY=SUCCESS recipient
// gets a "delivered" notice; one without SUCCESS gets none.
func TestDeliveredNoticeForLocalDelivery(t *testing.T) {
	e := newEnv(t, 0)
	q := e.open()
	if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"carol@local.test", "dave@local.test"}, strings.NewReader(testMessage),
		EnvelopeID("E-7"), Notify("carol@local.test", []smtp.DSNNotify{smtp.DSNNotifySuccess}),
		Notify("dave@local.test", []smtp.DSNNotify{smtp.DSNNotifyFailure})); err != nil {
		t.Fatal(err)
	}
	e.run(q)
	e.waitLocal()
	e.waitLocal()
	rep := e.notice()
	waitEmpty(t, q)
	if rep.OriginalEnvelopeID != "E-7" || len(rep.Recipients) != 1 {
		t.Fatalf("notice: %+v", rep)
	}
	if r := rep.Recipients[0]; r.Action != dsn.Delivered || r.FinalRecipient != "carol@local.test" || r.OriginalRecipient != "" {
		t.Errorf("recipient group: %+v", r)
	}
	noLocal(t, e, "after the one notice")
}

// A queue file from before the DSN parameters gains their columns and
// keeps its entries.
func TestSchemaUpgradeAddsDSNColumns(t *testing.T) {
	e := newEnv(t, 0)
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test")
	q.Close()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`ALTER TABLE entries DROP COLUMN ret`, `ALTER TABLE entries DROP COLUMN envid`,
		`ALTER TABLE recipients DROP COLUMN orcpt`, `ALTER TABLE recipients DROP COLUMN success`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	q = e.open()
	defer q.Close()
	ent, err := q.Get(context.Background(), id)
	if err != nil || ent.Return != "" || ent.EnvelopeID != "" || ent.Recipients[0].OriginalRecipient != "" {
		t.Fatalf("entry after upgrade: %+v, %v", ent, err)
	}
	if _, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage),
		dsnOptions(smtp.DSNReturnFull)...); err != nil {
		t.Fatalf("enqueue with DSN parameters after upgrade: %v", err)
	}
}
