package e2e

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/queue/dsn"
	"mailport/internal/server"
)

// scriptedMX is a remote MX whose answer to RCPT the test scripts: the
// n-th RCPT (1-based) gets rcptReply(n); nil accepts.
type scriptedMX struct {
	port      int
	rcptReply func(n int) error

	mu       sync.Mutex
	rcpts    int
	accepted []string // message bodies taken
}

func startScriptedMX(t *testing.T, rcptReply func(n int) error) *scriptedMX {
	t.Helper()
	mx := &scriptedMX{rcptReply: rcptReply}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &scriptedSession{mx: mx}, nil }))
	srv.Domain = "mx.remote.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mx
}

func (m *scriptedMX) counts() (rcpts, accepted int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rcpts, len(m.accepted)
}

type scriptedSession struct {
	mx *scriptedMX
	ok bool
}

func (s *scriptedSession) Reset()                               { s.ok = false }
func (s *scriptedSession) Logout() error                        { return nil }
func (s *scriptedSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *scriptedSession) Rcpt(string, *smtp.RcptOptions) error {
	s.mx.mu.Lock()
	s.mx.rcpts++
	n := s.mx.rcpts
	s.mx.mu.Unlock()
	if err := s.mx.rcptReply(n); err != nil {
		return err
	}
	s.ok = true
	return nil
}
func (s *scriptedSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mx.mu.Lock()
	s.mx.accepted = append(s.mx.accepted, string(b))
	s.mx.mu.Unlock()
	return nil
}

// startRetryWorld starts a whole mailport (alice@example.test) whose
// queue reaches remote.test at mx, retrying after shortBackoff.
func startRetryWorld(t *testing.T, mx *scriptedMX) *testServer {
	t.Helper()
	zone := &dns.Mock{}
	zone.AddMX("remote.test", "mx.remote.test", 10)
	zone.AddIP("mx.remote.test", "127.0.0.1")
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	return startInstance(t, instanceConfig{
		hostname: testHostname, ip: "127.0.0.1", queuePort: mx.port, dnsAddr: dsrv.Addr,
		domain: testDomain, users: []string{"alice"},
		opts: []server.Option{server.WithQueueBackoff(shortBackoff)},
	})
}

// waitQueueEmpty waits until the server's queue holds nothing.
func waitQueueEmpty(t *testing.T, ts *testServer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := ts.Queue().List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d entries: %+v", len(l), l[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Acceptance 3 of issue 4, first half: a destination that answers 451
// three times and then accepts gets the message once, on the fourth
// attempt, and the queue is then empty.
func TestRetryUntilAcceptedDeliveredOnce(t *testing.T) {
	mx := startScriptedMX(t, func(n int) error {
		if n <= 3 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	})
	ts := startRetryWorld(t, mx)
	msg := testMessage("alice@"+testDomain, "friend@remote.test", "retried message", "Hello after a while.")
	if err := submit(ts.addr(t, "submission"), "alice@"+testDomain, "alice@"+testDomain, []string{"friend@remote.test"}, msg); err != nil {
		t.Fatal(err)
	}
	waitQueueEmpty(t, ts)
	rcpts, accepted := mx.counts()
	if rcpts != 4 || accepted != 1 {
		t.Fatalf("MX saw %d RCPTs and took %d messages, want 4 and 1", rcpts, accepted)
	}
	mx.mu.Lock()
	body := mx.accepted[0]
	mx.mu.Unlock()
	if !strings.Contains(body, "Subject: retried message") {
		t.Fatalf("delivered message:\n%s", body)
	}
	// Nothing came back to the sender: no bounce, no delay notice.
	if in := (&sendingWorld{testServer: ts}).inbox(t, "alice@"+testDomain); len(in) != 0 {
		t.Fatalf("sender got %d messages:\n%s", len(in), in[0])
	}
}

// Acceptance 3, second half: a destination that answers 550 makes the
// queue send the sender a DSN (RFC 3464) that parses and names the
// recipient, the failure and the remote MTA.
func TestPermanentFailureDSNToSender(t *testing.T) {
	mx := startScriptedMX(t, func(int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	})
	ts := startRetryWorld(t, mx)
	msg := testMessage("alice@"+testDomain, "nobody@remote.test", "doomed message", "This will bounce.")
	if err := submit(ts.addr(t, "submission"), "alice@"+testDomain, "alice@"+testDomain, []string{"nobody@remote.test"}, msg); err != nil {
		t.Fatal(err)
	}
	bounce := waitInbox(t, ts, "alice@"+testDomain, 1)[0]
	rep, err := dsn.Parse(strings.NewReader(bounce))
	if err != nil {
		t.Fatalf("the bounce is not a DSN: %v\n%s", err, bounce)
	}
	if rep.ReportingMTA != testHostname || len(rep.Recipients) != 1 {
		t.Fatalf("report %+v", rep)
	}
	r := rep.Recipients[0]
	if r.FinalRecipient != "nobody@remote.test" || r.Action != dsn.Failed || r.Status != "5.1.1" ||
		r.RemoteMTA != "mx.remote.test" || !strings.Contains(r.DiagnosticCode, "550") {
		t.Errorf("recipient group %+v", r)
	}
	if !strings.Contains(string(rep.OriginalHeader), "Subject: doomed message") {
		t.Errorf("original header part: %q", rep.OriginalHeader)
	}
	// A bounce has the null sender (RFC 5321 section 4.5.5), so it can
	// never cause another one.
	if rp := headerFields(bounce, "Return-Path"); len(rp) != 1 || rp[0] != "<>" {
		t.Errorf("Return-Path of the bounce: %q", rp)
	}
	waitQueueEmpty(t, ts)
	if rcpts, accepted := mx.counts(); rcpts != 1 || accepted != 0 {
		t.Fatalf("MX saw %d RCPTs and took %d messages, want 1 and 0", rcpts, accepted)
	}
}
