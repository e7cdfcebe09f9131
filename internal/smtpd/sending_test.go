package smtpd

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/delivery"
	"mailport/internal/srs"
)

// queueRecorder is an Outbound that keeps each delivery's outside
// recipients and relay copy.
type queueRecorder struct {
	mu        sync.Mutex
	remote    [][]string
	forwarded [][]string
	copies    []string
}

func (q *queueRecorder) Enqueue(_ context.Context, d *delivery.Delivery) error {
	r, err := d.OpenRelayCopy()
	if err != nil {
		return err
	}
	defer r.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.remote = append(q.remote, append([]string(nil), d.Envelope.Remote...))
	q.forwarded = append(q.forwarded, append([]string(nil), d.Envelope.Forwarded...))
	q.copies = append(q.copies, b.String())
	return nil
}

func (q *queueRecorder) last(t *testing.T) (remote, forwarded []string) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.remote) == 0 {
		t.Fatal("nothing queued")
	}
	return q.remote[len(q.remote)-1], q.forwarded[len(q.forwarded)-1]
}

func submitAs(t *testing.T, addr, login string) *client {
	t.Helper()
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("AUTH PLAIN "+b64("\x00"+login+"\x00"+testPassword), 235, "")
	return c
}

func TestSubmissionSenderChecks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.dirs.AddSender(ctx, "alice@example.test", "sales@example.test"); err != nil {
		t.Fatal(err)
	}
	cfg := w.config()
	cfg.Submission = true
	cfg.Outbound = &queueRecorder{}
	_, addr := start(t, cfg, false)

	cases := []struct {
		name     string
		mailFrom string
		from     string
		mailCode int
		dataCode int
	}{
		{"own address", "alice@example.test", "alice@example.test", 250, 250},
		{"own address other case", "Alice@Example.TEST", "ALICE@example.test", 250, 250},
		{"sender address", "sales@example.test", "sales@example.test", 250, 250},
		{"domain alias of own address", "alice@alias.test", "alice@alias.test", 250, 250},
		{"domain alias of sender address", "sales@alias.test", "sales@alias.test", 250, 250},
		{"someone else's envelope", "bob@example.test", "alice@example.test", 553, 0},
		{"outside envelope", "alice@remote.test", "alice@example.test", 553, 0},
		{"null sender", "", "alice@example.test", 553, 0},
		{"someone else's From", "alice@example.test", "bob@example.test", 250, 553},
		{"second From address", "alice@example.test", "alice@example.test, bob@example.test", 250, 553},
		{"no From", "alice@example.test", "", 250, 553},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := submitAs(t, addr, "alice@example.test")
			reply := c.cmd("MAIL FROM:<"+tc.mailFrom+">", tc.mailCode, "")
			if tc.mailCode == 553 {
				if !strings.HasPrefix(reply, "5.7.1") || !strings.Contains(reply, "alice@example.test, sales@alias.test, sales@example.test") {
					t.Errorf("refusal %q does not list the allowed addresses", reply)
				}
				return
			}
			c.cmd("RCPT TO:<bob@example.test>", 250, "")
			c.cmd("DATA", 354, "")
			hdr := ""
			if tc.from != "" {
				hdr = "From: " + tc.from + "\r\n"
			}
			reply = c.cmd(hdr+"To: bob@example.test\r\nSubject: s\r\n\r\nbody\r\n.", tc.dataCode, "")
			if tc.dataCode == 553 && (!strings.HasPrefix(reply, "5.7.1") || !strings.Contains(reply, "alice@alias.test")) {
				t.Errorf("From refusal %q", reply)
			}
		})
	}
	// Only the accepted messages reached bob.
	if n := len(w.inbox(t, "bob@example.test")); n != 5 {
		t.Errorf("bob has %d messages, want 5", n)
	}
}

func TestSubmissionLimits(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	cfg.Outbound = &queueRecorder{}
	cfg.MaxMessagesPerHour = 2
	cfg.MaxSubmissionRecipients = 3
	s, addr := start(t, cfg, false)
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	s.rate.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }

	c := submitAs(t, addr, "alice@example.test")
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
	for _, r := range []string{"a@remote.test", "b@remote.test", "c@remote.test"} {
		c.cmd("RCPT TO:<"+r+">", 250, "")
	}
	if reply := c.cmd("RCPT TO:<d@remote.test>", 450, "4.7.1"); !strings.Contains(reply, "3 recipients") {
		t.Errorf("recipient limit reply %q", reply)
	}
	c.cmd("DATA", 354, "")
	c.cmd(subMsg+".", 250, "")
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
	c.cmd("RCPT TO:<a@remote.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(subMsg+".", 250, "")
	if reply := c.cmd("MAIL FROM:<alice@example.test>", 450, "4.7.1"); !strings.Contains(reply, "2 messages per hour") {
		t.Errorf("rate limit reply %q", reply)
	}
	// Another user has a budget of its own.
	b := submitAs(t, addr, "bob@example.test")
	b.cmd("MAIL FROM:<bob@example.test>", 250, "")

	// The window slides: an hour later alice may send again.
	clock.Lock()
	now = now.Add(time.Hour)
	clock.Unlock()
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
}

func TestUnauthenticatedRelayRefused(t *testing.T) {
	w := newWorld(t)
	out := &queueRecorder{}
	mx := w.config()
	mx.Outbound = out
	_, mxAddr := start(t, mx, false)
	sub := w.config()
	sub.Submission = true
	sub.Outbound = out
	_, subAddr := start(t, sub, false)

	c := dialRaw(t, mxAddr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<alice@example.test>", 250, "")
	c.cmd("RCPT TO:<friend@remote.test>", 554, "5.7.1")
	c.cmd("RCPT TO:<friend%remote.test@example.test>", 554, "5.7.1")

	c = dialRaw(t, subAddr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<alice@example.test>", 530, "5.7.0")
	c.cmd("RCPT TO:<friend@remote.test>", 502, "5.5.1")
	if len(out.remote) != 0 {
		t.Errorf("queued %v", out.remote)
	}
}

func TestForwardsAndAliasesOutside(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.dirs.AddForward(ctx, "alice@example.test", "alice@elsewhere.test", true); err != nil {
		t.Fatal(err)
	}
	if err := w.dirs.AddForward(ctx, "bob@example.test", "bob@elsewhere.test", false); err != nil {
		t.Fatal(err)
	}
	out := &queueRecorder{}
	cfg := w.config()
	cfg.Outbound = out
	_, addr := start(t, cfg, false)

	cases := []struct {
		rcpt       string
		forwarded  []string
		aliceCopy  bool
		bobCopy    bool
		wantStored int
	}{
		{"alice@example.test", []string{"alice@elsewhere.test"}, true, false, 1},
		{"bob@example.test", []string{"bob@elsewhere.test"}, false, false, 0},
		{"ext@example.test", []string{"someone@remote.test"}, false, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.rcpt, func(t *testing.T) {
			beforeA, beforeB := len(w.inbox(t, "alice@example.test")), len(w.inbox(t, "bob@example.test"))
			c := dialRaw(t, addr)
			c.cmd("EHLO client.test", 250, "")
			c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
			c.cmd("RCPT TO:<"+tc.rcpt+">", 250, "")
			c.cmd("DATA", 354, "")
			c.cmd(msg+".", 250, "")
			remote, fwd := out.last(t)
			if len(remote) != 0 || strings.Join(fwd, ",") != strings.Join(tc.forwarded, ",") {
				t.Errorf("queued remote %v forwarded %v, want forwarded %v", remote, fwd, tc.forwarded)
			}
			gotA := len(w.inbox(t, "alice@example.test")) - beforeA
			gotB := len(w.inbox(t, "bob@example.test")) - beforeB
			if (gotA == 1) != tc.aliceCopy || (gotB == 1) != tc.bobCopy {
				t.Errorf("local copies: alice %d bob %d", gotA, gotB)
			}
		})
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, cp := range out.copies {
		if strings.Contains(cp, "Return-Path") || !strings.HasSuffix(cp, msg) {
			t.Errorf("queued copy:\n%s", cp)
		}
	}
}

func TestSRSBounceRouting(t *testing.T) {
	w := newWorld(t)
	rw, err := srs.New([]byte("a secret of at least sixteen bytes"), "mx.example.test")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := rw.Forward("sender@remote.test")
	if err != nil {
		t.Fatal(err)
	}
	atLocalDomain := strings.Replace(valid, "@mx.example.test", "@example.test", 1)
	out := &queueRecorder{}
	cfg := w.config()
	cfg.Outbound = out
	cfg.SRS = rw
	_, addr := start(t, cfg, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<>", 250, "")
	c.cmd("RCPT TO:<"+strings.Replace(valid, "=remote.test=", "=evil.test=", 1)+">", 550, "5.1.1")
	c.cmd("RCPT TO:<SRS0=AAAAAA=AA=evil.test=x@mx.example.test>", 550, "5.1.1")
	c.cmd("RCPT TO:<"+valid+">", 250, "")
	c.cmd("RCPT TO:<"+atLocalDomain+">", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd("From: MAILER-DAEMON@remote.test\r\nSubject: bounce\r\n\r\nfailed\r\n.", 250, "")
	remote, fwd := out.last(t)
	if strings.Join(remote, ",") != "sender@remote.test" || len(fwd) != 0 {
		t.Errorf("bounce routed to %v (forwarded %v)", remote, fwd)
	}
	// SRS at a domain that is not ours is not ours to reverse.
	c.cmd("MAIL FROM:<>", 250, "")
	c.cmd("RCPT TO:<"+strings.Replace(valid, "@mx.example.test", "@remote.test", 1)+">", 554, "5.7.1")
}

// queueRelayed is a queueRecorder that also keeps relayed recipients.
type relayRecorder struct {
	queueRecorder
	relayed [][]delivery.RelayedRecipient
}

func (q *relayRecorder) Enqueue(ctx context.Context, d *delivery.Delivery) error {
	q.mu.Lock()
	q.relayed = append(q.relayed, append([]delivery.RelayedRecipient(nil), d.Envelope.Relayed...))
	q.mu.Unlock()
	return q.queueRecorder.Enqueue(ctx, d)
}

func TestSplitRoutingAndRelayDomains(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.dirs.SetSDR(ctx, "example.test", "old.example.test", 2525); err != nil {
		t.Fatal(err)
	}
	if _, err := w.dirs.AddRelayDomain(ctx, "backup.test", "10.0.0.9", 25, []string{"known@backup.test"}); err != nil {
		t.Fatal(err)
	}
	out := &relayRecorder{}
	cfg := w.config()
	cfg.Outbound = out
	_, addr := start(t, cfg, false)
	sub := w.config()
	sub.Submission = true
	sub.Outbound = out
	_, subAddr := start(t, sub, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<unknown@backup.test>", 550, "5.1.1")
	c.cmd("RCPT TO:<notmigrated@example.test>", 250, "")
	c.cmd("RCPT TO:<known@backup.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")
	out.mu.Lock()
	got := out.relayed[len(out.relayed)-1]
	out.mu.Unlock()
	want := []delivery.RelayedRecipient{
		{Address: "notmigrated@example.test", Host: "old.example.test", Port: 2525},
		{Address: "known@backup.test", Host: "10.0.0.9", Port: 25},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("relayed %+v, want %+v", got, want)
	}
	if len(w.inbox(t, "alice@example.test")) != 1 {
		t.Error("local user of the split domain did not get the local copy")
	}

	// A local user writing to a colleague not yet migrated.
	s := submitAs(t, subAddr, "alice@example.test")
	s.cmd("MAIL FROM:<alice@example.test>", 250, "")
	s.cmd("RCPT TO:<colleague@example.test>", 250, "")
	s.cmd("DATA", 354, "")
	s.cmd(subMsg+".", 250, "")
	out.mu.Lock()
	got = out.relayed[len(out.relayed)-1]
	out.mu.Unlock()
	if len(got) != 1 || got[0].Host != "old.example.test" {
		t.Errorf("submission relayed %+v", got)
	}
}
