package queue

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/queue/dsn"
	"mailport/internal/testutil"
)

// delayEnv is a queue whose remote MX answers every RCPT with 451 4.7.1,
// with back-off of backoff, a 4 h delay warning and a fake clock.
func delayEnv(t *testing.T, backoff time.Duration) (*env, *testutil.Clock) {
	t.Helper()
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcptReply = func(string, int) error { return smtpErr(451, [3]int{4, 7, 1}, "greylisted") }
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	clock := testutil.NewClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	e.cfg.Now = clock.Now
	e.cfg.Backoff = func(int) time.Duration { return backoff }
	e.cfg.DelayWarning = 4 * time.Hour
	return e, clock
}

// round waits for the end of the next delivery attempt at id, started by
// step (which advances the clock or starts Run).
func round(t *testing.T, q *Queue, id string, step func()) Entry {
	t.Helper()
	ch, stop := q.WatchAttempt(id)
	defer stop()
	step()
	q.Wake()
	select {
	case ent := <-ch:
		return ent
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery attempt at %s", id)
		return Entry{}
	}
}

// noLocal checks that no notice reached a local sender.
func noLocal(t *testing.T, e *env, when string) {
	t.Helper()
	select {
	case <-e.localGot:
		t.Errorf("%s: a notice was sent", when)
	default:
	}
}

// A message still undelivered after the delay warning gets one notice,
// listing every pending recipient with Action delayed, the last 4.x.x
// status and Will-Retry-Until, and the original header only; later
// rounds, and a restart, send no second one.
func TestDelayNoticeOncePerMessage(t *testing.T) {
	e, clock := delayEnv(t, time.Hour)
	q := e.open()
	start := clock.Now()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test", "carol@remote.test")

	ent := round(t, q, id, func() { e.run(q) })
	if ent.DelayNotified || ent.Attempts != 1 {
		t.Fatalf("after the first round: %+v", ent)
	}
	noLocal(t, e, "first round")

	ent = round(t, q, id, func() { clock.Advance(4 * time.Hour) })
	if !ent.DelayNotified {
		t.Fatalf("no delay notice marked after 4 h: %+v", ent)
	}
	raw := e.waitLocal()
	e.mu.Lock()
	from := e.localFrom[0]
	e.mu.Unlock()
	if from != "" {
		t.Errorf("notice sent from %q, want the null sender", from)
	}
	rep, err := dsn.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("notice does not parse: %v\n%s", err, raw)
	}
	if rep.To != "<alice@local.test>" || len(rep.Recipients) != 2 {
		t.Fatalf("notice: %+v", rep)
	}
	for i, want := range []string{"bob@remote.test", "carol@remote.test"} {
		r := rep.Recipients[i]
		if r.FinalRecipient != want || r.Action != dsn.Delayed || r.Status != "4.7.1" || !strings.Contains(r.DiagnosticCode, "451 4.7.1 greylisted") {
			t.Errorf("recipient group %d: %+v", i, r)
		}
	}
	until := start.Add(5 * 24 * time.Hour).Format(time.RFC1123Z)
	if n := bytes.Count(raw, []byte("Will-Retry-Until: "+until)); n != 2 {
		t.Errorf("%d Will-Retry-Until: %s fields, want 2:\n%s", n, until, raw)
	}
	if !strings.Contains(rep.HumanText, "keeps trying until "+start.Add(5*24*time.Hour).Format(time.RFC1123Z)) {
		t.Errorf("human text: %q", rep.HumanText)
	}
	if !strings.Contains(string(rep.OriginalHeader), "Subject: test message") || bytes.Contains(raw, []byte("Hello.")) {
		t.Errorf("original header part: %q", rep.OriginalHeader)
	}
	if !strings.Contains(string(raw), "Subject: Delayed Mail") {
		t.Errorf("notice subject:\n%s", raw)
	}

	round(t, q, id, func() { clock.Advance(2 * time.Hour) })
	noLocal(t, e, "round after the notice")

	// A restart reads the mark from queue.db.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := e.open()
	ent = round(t, q2, id, func() { clock.Advance(2 * time.Hour); e.run(q2) })
	if !ent.DelayNotified || ent.Recipients[0].State != Pending {
		t.Errorf("after restart: %+v", ent)
	}
	noLocal(t, e, "round after a restart")
}

// The back-off does not delay the notice: a round is scheduled when the
// delay warning runs out.
func TestDelayNoticeSchedulesRound(t *testing.T) {
	e, clock := delayEnv(t, 10*time.Hour)
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test")
	ent := round(t, q, id, func() { e.run(q) })
	if want := ent.Created.Add(4 * time.Hour); !ent.NextAttempt.Equal(want) {
		t.Errorf("next attempt %v, want the delay warning time %v", ent.NextAttempt, want)
	}
	ent = round(t, q, id, func() { clock.Advance(4 * time.Hour) })
	if !ent.DelayNotified {
		t.Errorf("no notice at the delay warning time: %+v", ent)
	}
	if want := clock.Now().Add(10 * time.Hour); !ent.NextAttempt.Equal(want) {
		t.Errorf("next attempt after the notice %v, want the back-off's %v", ent.NextAttempt, want)
	}
	e.waitLocal()
}

// NOTIFY decides who is listed (RFC 3461 section 4.1): NEVER and a list
// without DELAY are left out, no NOTIFY counts as FAILURE,DELAY; when
// nobody asks, and for a null sender, no notice goes out, and a 0 delay
// warning sends none.
func TestDelayNoticeRespectsEnvelope(t *testing.T) {
	cases := []struct {
		name  string
		from  string
		warn  time.Duration
		opts  []Option
		rcpts []string
		want  []string // listed recipients; nil: no notice
	}{
		{"NOTIFY", "alice@local.test", 4 * time.Hour, []Option{
			Notify("bob@remote.test", []smtp.DSNNotify{smtp.DSNNotifyNever}),
			Notify("carol@REMOTE.test", []smtp.DSNNotify{smtp.DSNNotifyFailure}),
			Notify("dan@remote.test", []smtp.DSNNotify{smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed}),
		}, []string{"bob@remote.test", "carol@remote.test", "dan@remote.test", "erin@remote.test"},
			[]string{"dan@remote.test", "erin@remote.test"}},
		{"nobody asks", "alice@local.test", 4 * time.Hour, []Option{
			Notify("bob@remote.test", []smtp.DSNNotify{smtp.DSNNotifySuccess}),
		}, []string{"bob@remote.test"}, nil},
		{"null sender", "", 4 * time.Hour, nil, []string{"bob@remote.test"}, nil},
		{"disabled", "alice@local.test", 0, nil, []string{"bob@remote.test"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, clock := delayEnv(t, time.Hour)
			e.cfg.DelayWarning = tc.warn
			q := e.open()
			id, err := q.Enqueue(context.Background(), tc.from, tc.rcpts, strings.NewReader(testMessage), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			round(t, q, id, func() { e.run(q) })
			ent := round(t, q, id, func() { clock.Advance(5 * time.Hour) })
			if ent.DelayNotified != (tc.warn > 0) {
				t.Errorf("DelayNotified %v", ent.DelayNotified)
			}
			if tc.want == nil {
				// The notice would be queued before the attempt ends.
				if l, _ := q.List(context.Background()); len(l) != 1 {
					t.Errorf("%d entries, want only the message", len(l))
				}
				noLocal(t, e, "")
				return
			}
			rep, err := dsn.Parse(bytes.NewReader(e.waitLocal()))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rep.Recipients {
				got = append(got, r.FinalRecipient)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

// NOTIFY=NEVER also silences the failure notice, and the recipient is
// still marked reported so the entry can go.
func TestFailureNoticeRespectsNotify(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcptReply = func(string, int) error { return smtpErr(550, [3]int{5, 1, 1}, "unknown") }
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	_, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage),
		Notify("bob@remote.test", []smtp.DSNNotify{smtp.DSNNotifyNever}))
	if err != nil {
		t.Fatal(err)
	}
	e.run(q)
	waitEmpty(t, q)
	noLocal(t, e, "NOTIFY=NEVER")
}

// The notice and its mark commit together: when the mark cannot be made
// (the entry was removed meanwhile), no notice is queued either, so a
// notice never exists without the mark that stops a second one.
func TestNoticeCommitsWithItsMark(t *testing.T) {
	e, _ := delayEnv(t, time.Hour)
	q := e.open()
	defer q.Close()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test")
	ent, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ent.Recipients[0].Status, ent.Recipients[0].LastError = "4.7.1", "451 4.7.1 greylisted"
	if err := q.Remove(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := q.report(context.Background(), ent, noticeSet{delayed: []int{0}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report for a removed entry: %v", err)
	}
	if l, err := q.List(context.Background()); err != nil || len(l) != 0 {
		t.Errorf("queue holds %d entries (%v), want none: the notice must roll back with its mark", len(l), err)
	}
	if ent.DelayNotified {
		t.Error("entry marked notified although nothing was committed")
	}
}

// NotifyAccepted sends one notice through the queue about a message the
// queue never carried (stored at SMTP time, or expanded by an alias),
// built like the queue's own: ENVID, ORCPT, the original header, and only
// the recipients whose NOTIFY has SUCCESS (RFC 3461 sections 5.2.3,
// 5.2.7.3 and 5.2.8).
func TestNotifyAccepted(t *testing.T) {
	e := newEnv(t, 0)
	q := e.open()
	ctx := context.Background()
	// The stored copy starts with a Return-Path the notice leaves out.
	stored := "Return-Path: <alice@local.test>\r\n" + testMessage
	blobID, size, err := e.blobs.Put(ctx, strings.NewReader(stored), 0)
	if err != nil {
		t.Fatal(err)
	}
	skip := int64(len(stored) - len(testMessage))
	success := []smtp.DSNNotify{smtp.DSNNotifySuccess}
	arrived := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	a := Accepted{ID: "D1", From: "alice@local.test", EnvelopeID: "E-9", Arrived: arrived,
		BlobID: blobID, Offset: skip, Size: size - skip,
		Recipients: []Recipient{
			{Address: "carol@local.test", Success: dsn.Delivered, Notify: success,
				OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "Carol@Local.test"},
			{Address: "team@local.test", Success: dsn.Expanded, Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}},
			{Address: "dave@local.test", Success: dsn.Delivered, Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}},
		}}
	if err := q.NotifyAccepted(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A null sender gets no notice, and nothing is queued for it.
	null := a
	null.From = ""
	if err := q.NotifyAccepted(ctx, null); err != nil {
		t.Fatal(err)
	}
	if l, err := q.List(ctx); err != nil || len(l) != 1 || l[0].From != "" || l[0].Recipients[0].Address != "alice@local.test" {
		t.Fatalf("queue after two calls: %+v (%v), want the one notice to alice", l, err)
	}
	e.run(q)
	rep := e.notice()
	waitEmpty(t, q)
	if rep.OriginalEnvelopeID != "E-9" || rep.To != "<alice@local.test>" || len(rep.Recipients) != 2 {
		t.Fatalf("notice: %+v", rep)
	}
	if r := rep.Recipients[0]; r.Action != dsn.Delivered || r.FinalRecipient != "carol@local.test" ||
		r.OriginalRecipient != "rfc822; Carol@Local.test" || r.Status != "2.0.0" {
		t.Errorf("delivered group: %+v", r)
	}
	if r := rep.Recipients[1]; r.Action != dsn.Expanded || r.FinalRecipient != "team@local.test" || r.OriginalRecipient != "" {
		t.Errorf("expanded group: %+v", r)
	}
	if !strings.Contains(string(rep.OriginalHeader), "Subject: test message") || strings.Contains(string(rep.OriginalHeader), "Return-Path") {
		t.Errorf("original header: %q", rep.OriginalHeader)
	}
	if len(rep.OriginalMessage) != 0 {
		t.Error("a success notice returned the whole message")
	}
	if !strings.Contains(rep.HumanText, "several") || !strings.Contains(rep.HumanText, "<team@local.test>") {
		t.Errorf("human text does not explain the expansion: %q", rep.HumanText)
	}
	noLocal(t, e, "after the one notice")
}
