package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Split domain routing: an unknown user of the split domain is relayed to
// the other server, a local user stays local; a local user reaches a
// colleague not yet migrated through submission.
func TestSendingSplitDomainRouting(t *testing.T) {
	w := startSendingWorld(t, nil, "alice")
	ctx := context.Background()
	if err := w.Directory.SetSDR(ctx, testDomain, "127.0.0.1", w.mx.port); err != nil {
		t.Fatal(err)
	}
	c := smtpSession(t, w.addr(t, "smtp"))
	c.expect("MAIL FROM:<carol@sender.test>", "250")
	c.expect("RCPT TO:<notyet@"+testDomain+">", "250")
	c.expect("RCPT TO:<alice@"+testDomain+">", "250")
	c.data("From: carol@sender.test\r\nSubject: sdr\r\n\r\nbody\r\n", "250")
	got := w.mx.wait(t, 1)
	if strings.Join(got.rcpts, ",") != "notyet@"+testDomain || got.from != "carol@sender.test" {
		t.Errorf("other server got MAIL FROM %q RCPT %v", got.from, got.rcpts)
	}
	if n := len(w.inbox(t, "alice@"+testDomain)); n != 1 {
		t.Errorf("local user has %d messages", n)
	}

	s := smtpSession(t, w.addr(t, "submission"))
	s.expect(authPlain("alice@"+testDomain), "235")
	s.expect("MAIL FROM:<alice@"+testDomain+">", "250")
	s.expect("RCPT TO:<colleague@"+testDomain+">", "250")
	s.data("From: alice@example.test\r\nSubject: hi colleague\r\n\r\nbody\r\n", "250")
	if got := w.mx.wait(t, 2); strings.Join(got.rcpts, ",") != "colleague@"+testDomain {
		t.Errorf("colleague mail went to %v", got.rcpts)
	}
}

// Relay domain: known recipients accepted, unknown refused at RCPT, mail
// queued while the destination is down and delivered when it is up.
func TestSendingRelayDomain(t *testing.T) {
	w := startSendingWorld(t, nil)
	ctx := context.Background()
	// A port with nothing listening: reserve one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := w.Directory.AddRelayDomain(ctx, "backup.test", "127.0.0.1", port, []string{"known@backup.test"}); err != nil {
		t.Fatal(err)
	}
	c := smtpSession(t, w.addr(t, "smtp"))
	c.expect("MAIL FROM:<carol@sender.test>", "250")
	c.expect("RCPT TO:<stranger@backup.test>", "550 5.1.1")
	c.expect("RCPT TO:<known@backup.test>", "250")
	c.data("From: carol@sender.test\r\nSubject: relay\r\n\r\nbody\r\n", "250")

	q := w.Queue()
	var id string
	deadline := time.Now().Add(60 * time.Second)
	for id == "" {
		entries, err := q.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 1 && entries[0].Attempts > 0 {
			id = entries[0].ID
			if entries[0].Route == nil || entries[0].Route.Port != port {
				t.Fatalf("entry route %+v", entries[0].Route)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded: %+v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The destination comes up; a retry delivers.
	mx := &testMX{got: make(chan struct{}, 10)}
	srv := smtp.NewServer(mxBackend{mx})
	srv.Domain = "backup.internal"
	l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", port, err)
	}
	go srv.Serve(l2)
	t.Cleanup(func() { srv.Close() })
	if err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	got := mx.wait(t, 1)
	if strings.Join(got.rcpts, ",") != "known@backup.test" || !strings.Contains(got.data, "Subject: relay") {
		t.Errorf("destination got %v:\n%s", got.rcpts, got.data)
	}
}
