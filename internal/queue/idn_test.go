package queue

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"mailport/internal/queue/dsn"
)

// recordingPolicy records the domains whose MTA-STS policy was asked for
// and has none.
type recordingPolicy struct {
	mu      sync.Mutex
	domains []string
}

func (p *recordingPolicy) Policy(ctx context.Context, domain string) (*Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.domains = append(p.domains, domain)
	return nil, nil
}

// idnEnv is a queue whose DNS knows bücher.example only by its A-labels,
// as real DNS does, with an MX that announces SMTPUTF8 or not.
func idnEnv(t *testing.T, smtputf8 bool) (*mxServer, *env, *Queue, *recordingPolicy) {
	t.Helper()
	mx := startMX(t, "127.0.0.1", 0, nil, func(s *smtp.Server) { s.EnableSMTPUTF8 = smtputf8 })
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("xn--bcher-kva.example", "mx.xn--bcher-kva.example", 10)
	e.dns.addIP("mx.xn--bcher-kva.example", "127.0.0.1")
	policy := &recordingPolicy{}
	e.cfg.Policy = policy
	q := e.open()
	return mx, e, q, policy
}

// A recipient domain in U-labels (from an SMTPUTF8 submission) is looked
// up in A-labels, and a next hop without SMTPUTF8 gets it in A-labels.
func TestIDNRecipientToServerWithoutSMTPUTF8(t *testing.T) {
	mx, e, q, policy := idnEnv(t, false)
	enqueue(t, q, "alice@local.test", "user@Bücher.example", "other@xn--bcher-kva.example")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	m := mx.messages()
	if len(m) != 1 || !slices.Equal(m[0].rcpts, []string{"user@xn--bcher-kva.example", "other@xn--bcher-kva.example"}) || m[0].mail.UTF8 {
		t.Fatalf("delivered %+v; want both recipients in one transaction in A-labels, without SMTPUTF8", m)
	}
	policy.mu.Lock()
	defer policy.mu.Unlock()
	if !slices.Equal(policy.domains, []string{"xn--bcher-kva.example"}) {
		t.Errorf("MTA-STS policy asked for %q, want the A-label domain once", policy.domains)
	}
}

// A next hop with SMTPUTF8 gets the address as it was given.
func TestIDNRecipientToServerWithSMTPUTF8(t *testing.T) {
	mx, e, q, _ := idnEnv(t, true)
	enqueue(t, q, "alice@local.test", "jürgen@bücher.example")
	e.run(q)
	mx.wait(1)
	waitEmpty(t, q)
	m := mx.messages()
	if len(m) != 1 || !slices.Equal(m[0].rcpts, []string{"jürgen@bücher.example"}) || !m[0].mail.UTF8 {
		t.Fatalf("delivered %+v; want the address as given, with SMTPUTF8", m)
	}
}

// A non-ASCII local part cannot reach a server without SMTPUTF8: that
// recipient fails with X.6.7 and a reason that says why, the others of the
// transaction are delivered.
func TestIDNLocalPartWithoutSMTPUTF8Fails(t *testing.T) {
	mx, e, q, _ := idnEnv(t, false)
	enqueue(t, q, "alice@local.test", "jürgen@bücher.example", "user@bücher.example")
	e.run(q)
	mx.wait(1)
	raw := e.waitLocal()
	waitEmpty(t, q)
	if m := mx.messages(); len(m) != 1 || !slices.Equal(m[0].rcpts, []string{"user@xn--bcher-kva.example"}) {
		t.Errorf("delivered %+v", m)
	}
	rep, err := dsn.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("DSN does not parse: %v\n%s", err, raw)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("DSN recipients %+v", rep.Recipients)
	}
	r := rep.Recipients[0]
	if r.Action != dsn.Failed || r.Status != "5.6.7" || !strings.Contains(r.DiagnosticCode, "does not support SMTPUTF8") {
		t.Errorf("DSN recipient %+v, want failed 5.6.7 naming SMTPUTF8", r)
	}
}

// A sender with a non-ASCII local part fails the whole message toward a
// server without SMTPUTF8, without MAIL being sent.
func TestIDNSenderWithoutSMTPUTF8Fails(t *testing.T) {
	mx, e, q, _ := idnEnv(t, false)
	enqueue(t, q, "jürgen@local.test", "user@bücher.example")
	e.run(q)
	raw := e.waitLocal()
	waitEmpty(t, q)
	if m := mx.messages(); len(m) != 0 {
		t.Errorf("delivered %+v", m)
	}
	rep, err := dsn.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("DSN does not parse: %v\n%s", err, raw)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].Status != "5.6.7" || !strings.Contains(rep.Recipients[0].DiagnosticCode, "sender") {
		t.Errorf("DSN recipients %+v", rep.Recipients)
	}
}

func TestWireAddress(t *testing.T) {
	for _, tc := range []struct {
		in       string
		smtputf8 bool
		want     string
		ok       bool
	}{
		{"bob@remote.test", false, "bob@remote.test", true},
		{"", false, "", true},
		{"user@Bücher.example", false, "user@xn--bcher-kva.example", true},
		{"user@Bücher.example", true, "user@Bücher.example", true},
		{"jürgen@bücher.example", true, "jürgen@bücher.example", true},
		{"jürgen@bücher.example", false, "", false},
		{"user@bü_cher.example", false, "", false}, // no A-label form
	} {
		got, ok := wireAddress(tc.in, tc.smtputf8)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wireAddress(%q, %v) = %q, %v; want %q, %v", tc.in, tc.smtputf8, got, ok, tc.want, tc.ok)
		}
	}
}
