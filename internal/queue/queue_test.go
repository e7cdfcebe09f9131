package queue

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailport/internal/queue/dsn"
)

// One connection carries every recipient of a domain, over opportunistic
// STARTTLS, with our name in EHLO; the entry and its blob are gone after.
func TestDeliverOneConnectionPerDomain(t *testing.T) {
	srvTLS, _ := testTLS(t, "mx.remote.test")
	mx := startMX(t, "127.0.0.1", 0, srvTLS)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test", "carol@REMOTE.test", "dan@remote.test", "bob@remote.TEST")
	ent, err := q.Get(context.Background(), id)
	if err != nil || len(ent.Recipients) != 3 {
		t.Fatalf("entry %+v, %v (duplicate recipient not merged?)", ent, err)
	}
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	msgs := mx.messages()
	if len(msgs) != 1 || mx.connections() != 1 {
		t.Fatalf("%d messages over %d connections, want 1 and 1", len(msgs), mx.connections())
	}
	m := msgs[0]
	if m.from != "alice@local.test" || !slices.Equal(m.rcpts, []string{"bob@remote.test", "carol@REMOTE.test", "dan@remote.test"}) {
		t.Errorf("envelope: from %q rcpts %q", m.from, m.rcpts)
	}
	if !sameBody(m.data) {
		t.Errorf("body changed in transit:\n%q", m.data)
	}
	if !m.tls || m.helo != "mx.local.test" {
		t.Errorf("tls %v, helo %q", m.tls, m.helo)
	}
	// The row goes first and the file right after it.
	waitFor(t, "the delivered entry's blob removed", func() bool { return !e.blobs.Exists(ent.BlobID) })
}

// Two domains: two connections, each with only its own recipients.
func TestDeliverGroupsByDomain(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e := newEnv(t, mx.port)
	for _, d := range []string{"one.test", "two.test"} {
		e.dns.addMX(d, "mx."+d, 10)
		e.dns.addIP("mx."+d, "127.0.0.1")
	}
	q := e.open()
	enqueue(t, q, "alice@local.test", "a@one.test", "b@two.test", "c@one.test")
	e.run(q)
	mx.wait(2)
	waitEmpty(t, q)
	var sets []string
	for _, m := range mx.messages() {
		sets = append(sets, strings.Join(m.rcpts, ","))
		if m.tls {
			t.Error("TLS without a server certificate?")
		}
	}
	sort.Strings(sets)
	if !slices.Equal(sets, []string{"a@one.test,c@one.test", "b@two.test"}) {
		t.Errorf("recipient groups %q", sets)
	}
}

// RFC 5321 section 5.1: MX hosts in preference order, the next one when a
// host is down.
func TestMXPreferenceOrder(t *testing.T) {
	low := startMX(t, "127.0.0.1", 0, nil)
	// The preferred MX listens on another loopback address, same port.
	probe, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(low.port)))
	if err != nil {
		t.Skipf("cannot bind 127.0.0.3 on the same port: %v", err)
	}
	probe.Close()
	pref := startMX(t, "127.0.0.3", low.port, nil)
	e := newEnv(t, low.port)
	e.dns.addMX("remote.test", "mx-c.remote.test", 30)
	e.dns.addMX("remote.test", "mx-down.remote.test", 5) // nothing listens on 127.0.0.2
	e.dns.addMX("remote.test", "mx-b.remote.test", 10)
	e.dns.addIP("mx-down.remote.test", "127.0.0.2")
	e.dns.addIP("mx-b.remote.test", "127.0.0.3")
	e.dns.addIP("mx-c.remote.test", "127.0.0.1")
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	pref.wait(1)
	waitEmpty(t, q)
	if len(low.messages()) != 0 || low.connections() != 0 {
		t.Errorf("the least preferred MX was used")
	}
}

func TestOrderMX(t *testing.T) {
	mxs := []*net.MX{{Host: "c.test.", Pref: 20}, {Host: "a.test.", Pref: 10}, {Host: "b.test.", Pref: 10}, {Host: "A.test", Pref: 30}, {Host: "d.test", Pref: 5}}
	seenFirst := map[string]bool{}
	for range 200 {
		hosts, err := orderMX(mxs)
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 4 || hosts[0] != "d.test" || hosts[3] != "c.test" {
			t.Fatalf("order %q", hosts)
		}
		seenFirst[hosts[1]] = true
	}
	// Equal preferences are shuffled (RFC 5321 section 5.1).
	if !seenFirst["a.test"] || !seenFirst["b.test"] {
		t.Errorf("equal-preference hosts never reordered: %v", seenFirst)
	}
	for name, in := range map[string][]*net.MX{
		"null MX":    {{Host: ".", Pref: 0}},
		"empty host": {{Host: "", Pref: 0}},
	} {
		if _, err := orderMX(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A null MX beside real ones is ignored.
	if hosts, err := orderMX([]*net.MX{{Host: ".", Pref: 0}, {Host: "mx.test.", Pref: 10}}); err != nil || !slices.Equal(hosts, []string{"mx.test"}) {
		t.Errorf("null MX beside a real one: %q %v", hosts, err)
	}
}

// RFC 5321 section 5.1: no MX records, the domain's address is the MX.
func TestNoMXFallsBackToAddress(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addIP("remote.test", "127.0.0.1")
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
}

// Permanent failures return a DSN to the (local) sender.
func TestPermanentFailuresBounce(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(e *env, mx *mxServer)
		wantStatus string
		wantDiag   string
	}{
		{"null MX", func(e *env, mx *mxServer) {
			e.dns.addMX("remote.test", ".", 0)
		}, "5.1.10", "null MX"},
		{"550 user unknown", func(e *env, mx *mxServer) {
			e.dns.addMX("remote.test", "mx.remote.test", 10)
			e.dns.addIP("mx.remote.test", "127.0.0.1")
			mx.rcptReply = func(string, int) error { return smtpErr(550, [3]int{5, 1, 1}, "no such user here") }
		}, "5.1.1", "550 5.1.1 no such user here"},
		{"no MX no address", func(e *env, mx *mxServer) {}, "5.1.2", "no MX and no address"},
		{"lifetime over", func(e *env, mx *mxServer) {
			e.dns.addMX("remote.test", "mx.remote.test", 10)
			e.dns.addIP("mx.remote.test", "127.0.0.1")
			mx.rcptReply = func(string, int) error { return smtpErr(451, [3]int{4, 7, 1}, "greylisted") }
			e.cfg.Lifetime = time.Nanosecond
		}, "5.4.7", "451 4.7.1 greylisted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mx := startMX(t, "127.0.0.1", 0, nil)
			e := newEnv(t, mx.port)
			tc.setup(e, mx)
			mx.ready()
			q := e.open()
			id := enqueue(t, q, "alice@local.test", "bob@remote.test")
			e.run(q)
			raw := e.waitLocal()
			waitEmpty(t, q)
			e.mu.Lock()
			from := e.localFrom[0]
			e.mu.Unlock()
			if from != "" {
				t.Errorf("DSN sent from %q, want the null sender", from)
			}
			rep, err := dsn.Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("DSN does not parse: %v\n%s", err, raw)
			}
			if rep.ReportingMTA != "mx.local.test" || rep.ArrivalDate == "" || rep.To != "<alice@local.test>" {
				t.Errorf("report: %+v", rep)
			}
			if len(rep.Recipients) != 1 {
				t.Fatalf("recipients %+v", rep.Recipients)
			}
			r := rep.Recipients[0]
			if r.FinalRecipient != "bob@remote.test" || r.Action != dsn.Failed || r.Status != tc.wantStatus || !strings.Contains(r.DiagnosticCode, tc.wantDiag) {
				t.Errorf("recipient group %+v, want status %s and diagnostic with %q", r, tc.wantStatus, tc.wantDiag)
			}
			if !strings.Contains(string(rep.OriginalHeader), "Subject: test message") || strings.Contains(string(rep.OriginalHeader), "Hello.") {
				t.Errorf("original header part: %q", rep.OriginalHeader)
			}
			if len(mx.messages()) != 0 {
				t.Error("message delivered despite the failure")
			}
			_ = id
		})
	}
}

// One recipient refused, one accepted: the DSN names only the refused one,
// and the accepted one gets the message once.
func TestPartialFailure(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcptReply = func(rcpt string, _ int) error {
		if strings.HasPrefix(rcpt, "ghost@") {
			return smtpErr(550, [3]int{5, 1, 1}, "unknown")
		}
		return nil
	}
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	enqueue(t, q, "alice@local.test", "ghost@remote.test", "bob@remote.test")
	e.run(q)
	mx.wait(1)
	raw := e.waitLocal()
	waitEmpty(t, q)
	if m := mx.messages(); len(m) != 1 || !slices.Equal(m[0].rcpts, []string{"bob@remote.test"}) {
		t.Errorf("delivered: %+v", m)
	}
	rep, err := dsn.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].FinalRecipient != "ghost@remote.test" || rep.Recipients[0].Status != "5.1.1" {
		t.Errorf("DSN recipients %+v", rep.Recipients)
	}
}

// 451 for the first attempts, then accepted: delivered exactly once.
func TestTemporaryFailureRetriedThenDeliveredOnce(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcptReply = func(_ string, n int) error {
		if n <= 3 {
			return smtpErr(451, [3]int{4, 7, 1}, "try again later")
		}
		return nil
	}
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	var backoffs []int
	e.cfg.Backoff = func(n int) time.Duration { backoffs = append(backoffs, n); return 0 }
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	if n := len(mx.messages()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
	if mx.connections() != 4 {
		t.Errorf("%d connections, want 4 (3 refused + 1 accepted)", mx.connections())
	}
	if !slices.Equal(backoffs, []int{1, 2, 3}) {
		t.Errorf("back-off asked for attempts %v", backoffs)
	}
	select {
	case <-e.localGot:
		t.Error("a DSN was sent for a delivered message")
	default:
	}
}

// A deferred entry shows its state, is retried on Retry, and Remove drops
// it with its blob and without a bounce.
func TestListRetryRemove(t *testing.T) {
	mx, e, q, id, id2 := deferredPair(t)
	ctx := context.Background()
	ent, err := q.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r := ent.Recipients[0]
	if r.State != Pending || r.Attempts != 1 || !strings.Contains(r.LastError, "SERVFAIL") || r.Status != "4.4.3" {
		t.Errorf("recipient after a DNS failure: %+v", r)
	}
	if !ent.NextAttempt.After(time.Now().Add(50 * time.Minute)) {
		t.Errorf("next attempt %v, want about an hour ahead", ent.NextAttempt)
	}
	// Retry reaches a running Run through a second handle on the same
	// file, as `mailport queue retry` does from another process.
	e.dns.setFail("mx.remote.test", false)
	other := e.open()
	defer other.Close()
	if err := other.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	mx.wait(1)
	waitFor(t, "retried entry gone", func() bool {
		_, err := q.Get(ctx, id)
		return errors.Is(err, ErrNotFound)
	})
	ent2, err := other.Get(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Remove(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if e.blobs.Exists(ent2.BlobID) {
		t.Error("blob of a removed entry still exists")
	}
	for _, err := range []error{other.Remove(ctx, id2), other.Retry(ctx, "nope"), func() error { _, err := other.Get(ctx, "nope"); return err }()} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}
	}
	if l, _ := q.List(ctx); len(l) != 0 {
		t.Errorf("left in the queue: %+v", l)
	}
	if len(mx.messages()) != 1 {
		t.Errorf("%d messages delivered, want 1", len(mx.messages()))
	}
}

// A failed message with the null sender (a bounce) is not bounced again.
func TestNullSenderNeverBounced(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcptReply = func(string, int) error { return smtpErr(550, [3]int{5, 1, 1}, "unknown") }
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	enqueue(t, q, "", "bob@remote.test")
	e.run(q)
	waitFor(t, "refusal", func() bool {
		mx.mu.Lock()
		defer mx.mu.Unlock()
		return mx.rcpts == 1
	})
	waitEmpty(t, q)
	select {
	case <-e.localGot:
		t.Error("a bounce was bounced")
	default:
	}
}

// A message survives Close and reopening, and is then delivered.
func TestPersistsAcrossRestart(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	id, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(testMessage), DKIMSigned())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(context.Background(), "a@local.test", []string{"b@remote.test"}, strings.NewReader("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
	q2 := e.open()
	ent, err := q2.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !ent.DKIMSigned || ent.From != "alice@local.test" || ent.Size != int64(len(testMessage)) || ent.Recipients[0].State != Pending {
		t.Errorf("reopened entry %+v", ent)
	}
	e.run(q2)
	mx.wait(1)
	waitEmpty(t, q2)
	if m := mx.messages(); len(m) != 1 || !sameBody(m[0].data) {
		t.Errorf("after restart: %+v", m)
	}
}

// A process dying mid-delivery (nothing recorded) leads to a new attempt
// after restart: at least once.
func TestCrashMidDeliveryRedelivers(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.dataStarted = make(chan struct{}, 10)
	mx.dataRelease = make(chan struct{})
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	<-mx.dataStarted
	// The crash: the queue file is gone from under the process before
	// it can record anything; then the process stops.
	q.db.close()
	close(mx.dataRelease)
	mx.wait(1) // the remote got it, but we never learned
	cancel()
	<-done

	q2 := e.open()
	ent, err := q2.Get(context.Background(), id)
	if err != nil || ent.Recipients[0].State != Pending {
		t.Fatalf("after the crash: %+v %v", ent, err)
	}
	e.run(q2)
	mx.wait(1)
	waitEmpty(t, q2)
	if n := len(mx.messages()); n != 2 {
		t.Errorf("%d deliveries, want 2 (the crash window duplicates)", n)
	}
}

// Shutdown during a delivery leaves the entry due at once, not backed off.
func TestShutdownDoesNotCountAsAttempt(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.dataStarted = make(chan struct{}, 10)
	mx.dataRelease = make(chan struct{})
	defer close(mx.dataRelease)
	mx.ready()
	e := newEnv(t, mx.port)
	e.cfg.Backoff = func(int) time.Duration { return time.Hour }
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "bob@remote.test")
	done := make(chan struct{})
	go func() { q.Run(context.Background()); close(done) }()
	<-mx.dataStarted
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	q2 := e.open()
	defer q2.Close()
	ent, err := q2.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ent.Attempts != 0 || ent.NextAttempt.After(time.Now()) || ent.Recipients[0].State != Pending {
		t.Errorf("after shutdown: attempts %d, next %v, state %s", ent.Attempts, ent.NextAttempt, ent.Recipients[0].State)
	}
}

// The smarthost gets all mail, over verified STARTTLS with AUTH.
func TestSmarthost(t *testing.T) {
	srvTLS, pool := testTLS(t, "relay.test")
	mx := startMX(t, "127.0.0.1", 0, srvTLS)
	mx.auth = [2]string{"user", "secret"}
	mx.ready()
	e := newEnv(t, 1) // MX port unused
	e.dns.addIP("relay.test", "127.0.0.1")
	e.cfg.Smarthost = &Smarthost{Host: "relay.test", Port: mx.port, Username: "user", Password: "secret"}
	e.cfg.TLSConfig = &tls.Config{RootCAs: pool, InsecureSkipVerify: true}
	q := e.open()
	enqueue(t, q, "alice@local.test", "a@one.test", "b@two.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	m := mx.messages()[0]
	if !m.tls || !slices.Equal(m.rcpts, []string{"a@one.test", "b@two.test"}) {
		t.Errorf("smarthost got %+v", m)
	}
}

// With a smarthost whose certificate does not verify, nothing is sent and
// the mail waits.
func TestSmarthostCertificateMustVerify(t *testing.T) {
	srvTLS, _ := testTLS(t, "relay.test")
	mx := startMX(t, "127.0.0.1", 0, srvTLS)
	e := newEnv(t, 1)
	e.dns.addIP("relay.test", "127.0.0.1")
	e.cfg.Smarthost = &Smarthost{Host: "relay.test", Port: mx.port}
	e.cfg.Backoff = func(int) time.Duration { return time.Hour }
	q := e.open()
	id := enqueue(t, q, "alice@local.test", "a@one.test")
	e.run(q)
	waitFor(t, "deferred", func() bool {
		ent, err := q.Get(context.Background(), id)
		return err == nil && ent.Attempts == 1
	})
	ent, _ := q.Get(context.Background(), id)
	if ent.Recipients[0].State != Pending || !strings.Contains(ent.Recipients[0].LastError, "certificate") {
		t.Errorf("recipient %+v", ent.Recipients[0])
	}
	if len(mx.messages()) != 0 {
		t.Error("delivered over an unverified connection")
	}
}

// Route sends a domain to a fixed destination (relay domains, SDR).
func TestRoute(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, 1)
	e.cfg.Route = func(ctx context.Context, domain string) (*Destination, error) {
		if domain == "split.test" {
			return &Destination{Host: "127.0.0.1", Port: mx.port}, nil
		}
		return nil, nil
	}
	q := e.open()
	enqueue(t, q, "alice@local.test", "x@split.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
}

// MTA-STS enforce: only matching MX hosts, and only with verified TLS.
func TestMTASTSPolicyEnforced(t *testing.T) {
	srvTLS, pool := testTLS(t, "mx.remote.test")
	mx := startMX(t, "127.0.0.1", 0, srvTLS)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "evil.other.test", 1)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("evil.other.test", "127.0.0.1")
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	e.cfg.TLSConfig = &tls.Config{RootCAs: pool, InsecureSkipVerify: true}
	e.cfg.Policy = staticPolicy{"remote.test": {Mode: ModeEnforce, MX: []string{"*.remote.test"}}}
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	if mx.connections() != 1 || !mx.messages()[0].tls {
		t.Errorf("%d connections, tls %v: the policy was not applied", mx.connections(), mx.messages()[0].tls)
	}
}

type staticPolicy map[string]*Policy

func (s staticPolicy) Policy(ctx context.Context, domain string) (*Policy, error) {
	return s[domain], nil
}

func TestPolicyMatches(t *testing.T) {
	p := &Policy{Mode: ModeEnforce, MX: []string{"mx1.example.test", "*.mail.example.test"}}
	for host, want := range map[string]bool{
		"mx1.example.test": true, "MX1.example.test.": true, "a.mail.example.test": true,
		"a.b.mail.example.test": false, "mail.example.test": false, "mx2.example.test": false,
	} {
		if p.Matches(host) != want {
			t.Errorf("Matches(%q) = %v", host, !want)
		}
	}
}

func TestEnqueueValidation(t *testing.T) {
	e := newEnv(t, 25)
	e.cfg.MaxMessageBytes = 100
	e.cfg.MaxRecipients = 2
	q := e.open()
	defer q.Close()
	ctx := context.Background()
	cases := []struct {
		name  string
		from  string
		rcpts []string
		body  string
	}{
		{"no recipients", "a@local.test", nil, "x"},
		{"too many recipients", "a@local.test", []string{"a@x.test", "b@x.test", "c@x.test"}, "x"},
		{"bad recipient", "a@local.test", []string{"not-an-address"}, "x"},
		{"recipient with CRLF", "a@local.test", []string{"a@x.test\r\nRCPT TO:<b@y.test>"}, "x"},
		{"recipient with bracket", "a@local.test", []string{"a>@x.test"}, "x"},
		{"bad sender", "sender", []string{"a@x.test"}, "x"},
		{"too large", "a@local.test", []string{"a@x.test"}, strings.Repeat("x", 101)},
		{"long address", "a@local.test", []string{strings.Repeat("a", 250) + "@x.test"}, "x"},
	}
	for _, tc := range cases {
		if _, err := q.Enqueue(ctx, tc.from, tc.rcpts, strings.NewReader(tc.body)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if l, _ := q.List(ctx); len(l) != 0 {
		t.Errorf("refused messages were queued: %+v", l)
	}
	// 8-bit content is noted for BODY=8BITMIME.
	id, err := q.Enqueue(ctx, "", []string{"a@x.test"}, strings.NewReader("Subject: caf\xc3\xa9\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ent, _ := q.Get(ctx, id); !ent.EightBit || ent.From != "" {
		t.Errorf("entry %+v", ent)
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour}
	for i, w := range want {
		if got := DefaultBackoff(i + 1); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestDiagnostic(t *testing.T) {
	for _, tc := range []struct {
		r    Recipient
		want string
	}{
		{Recipient{Status: "5.1.1", LastError: "mx.test[127.0.0.1]: 550 5.1.1 no"}, "550 5.1.1 no"},
		{Recipient{Status: "5.1.10", LastError: "remote.test: domain does not accept mail"}, "550 5.1.10 remote.test: domain does not accept mail"},
		{Recipient{Status: "5.4.7", LastError: "delivery time expired after 3 attempts; last error: mx[1.2.3.4]: 451 4.7.1 later"}, "451 4.7.1 later"},
	} {
		if got := diagnostic(tc.r); got != tc.want {
			t.Errorf("diagnostic(%q) = %q, want %q", tc.r.LastError, got, tc.want)
		}
	}
}

// RFC 7435: when the STARTTLS handshake fails, opportunistic delivery goes
// on in the clear rather than waiting.
func TestSTARTTLSFailureFallsBackToPlain(t *testing.T) {
	srvTLS, _ := testTLS(t, "mx.remote.test")
	srvTLS.MaxVersion = tls.VersionTLS11 // the client insists on TLS 1.2
	mx := startMX(t, "127.0.0.1", 0, srvTLS)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addIP("remote.test", "127.0.0.1")
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	if m := mx.messages(); len(m) != 1 || m[0].tls || mx.connections() != 2 {
		t.Errorf("%d connections, messages %+v", mx.connections(), m)
	}
}

// Via: an entry's own route wins over MX lookup, the smarthost and
// Config.Route, and survives a reopen of the queue file.
func TestVia(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, 1)
	e.cfg.Route = func(ctx context.Context, domain string) (*Destination, error) {
		return &Destination{Host: "192.0.2.1", Port: 1}, nil
	}
	q := e.open()
	id, err := q.Enqueue(context.Background(), "alice@local.test", []string{"x@relay.test", "y@other.test"},
		strings.NewReader(testMessage), Via("127.0.0.1", mx.port))
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	q = e.open()
	ent, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ent.Route == nil || ent.Route.Host != "127.0.0.1" || ent.Route.Port != mx.port {
		t.Fatalf("route after reopen: %+v", ent.Route)
	}
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	if mx.connections() != 1 || len(mx.messages()[0].rcpts) != 2 {
		t.Errorf("%d connections, message %+v: want both recipients in one transaction", mx.connections(), mx.messages()[0])
	}
}
