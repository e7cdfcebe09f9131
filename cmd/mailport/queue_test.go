package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/blob"
	"mailport/internal/dns"
	"mailport/internal/queue"
)

// switchDNS fails every lookup (SERVFAIL) until up is set, then answers
// every name with 127.0.0.1 and no MX (so the domain is its own MX).
type switchDNS struct{ up atomic.Bool }

func (d *switchDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if !d.up.Load() {
		return nil, errors.New("SERVFAIL")
	}
	return nil, dns.ErrNotFound
}

func (d *switchDNS) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	if !d.up.Load() {
		return nil, errors.New("SERVFAIL")
	}
	return []net.IP{net.IPv4(127, 0, 0, 1)}, nil
}

func (d *switchDNS) LookupTXT(context.Context, string) ([]string, error) { return nil, dns.ErrNotFound }
func (d *switchDNS) LookupAddr(context.Context, string) ([]string, error) {
	return nil, dns.ErrNotFound
}

// sinkMX accepts every message and counts them.
type sinkMX struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sinkMX) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s     *sinkMX
	rcpts []string
}

func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpts = append(x.rcpts, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, strings.Join(x.rcpts, ","))
	x.s.mu.Unlock()
	return nil
}
func (x *sinkSession) Reset()        { x.rcpts = nil }
func (x *sinkSession) Logout() error { return nil }

func (s *sinkMX) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func TestQueueCommands(t *testing.T) {
	d := newDataDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinkMX{}
	srv := smtp.NewServer(sink)
	srv.Domain = "sink.test"
	go srv.Serve(l)
	defer srv.Close()

	// The "server": a queue running in this process on the data
	// directory, while the commands below open it again, as they would
	// from another process next to `mailport serve`.
	blobs, err := blob.Open(filepath.Join(d, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(d)
	resolver := &switchDNS{}
	q, err := queue.New(queue.Config{
		Dir: abs, Blobs: blobs, Resolver: resolver, Hostname: "mx.example.test",
		SMTPPort:     l.Addr().(*net.TCPAddr).Port,
		Backoff:      func(int) time.Duration { return time.Hour },
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; q.Close() }()

	msg := "Subject: hi\r\n\r\nbody\r\n"
	id1, err := q.Enqueue(ctx, "alice@example.test", []string{"bob@remote.test", "carol@remote.test"}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	id2, err := q.Enqueue(ctx, "", []string{"dan@remote.test"}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	// Both are tried once, fail on DNS and wait an hour.
	deadline := time.Now().Add(30 * time.Second)
	for {
		es, err := q.List(ctx)
		if err == nil && len(es) == 2 && es[0].Attempts == 1 && es[1].Attempts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries not tried: %+v %v", es, err)
		}
		time.Sleep(5 * time.Millisecond)
	}

	r := ok(t, mp(t, "", "queue", "list", "--data", d))
	for _, want := range []string{"ID", "LAST ERROR", id1, id2, "alice@example.test", "<>", "bob@remote.test (pending)", "carol@remote.test (pending)", "SERVFAIL", "in 1h"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("queue list lacks %q:\n%s", want, r.stdout)
		}
	}
	r = ok(t, mp(t, "", "queue", "show", id1, "--data", d))
	for _, want := range []string{"id:           " + id1, "from:         alice@example.test", "attempts:     1", "size:         " + "21",
		"bob@remote.test  pending  attempts 1  status 4.4.3", "last error: MX lookup for remote.test: SERVFAIL"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("queue show lacks %q:\n%s", want, r.stdout)
		}
	}

	// retry from "another process" reaches the running queue.
	resolver.up.Store(true)
	r = ok(t, mp(t, "", "queue", "retry", id1, "--data", d))
	if !strings.Contains(r.stdout, "due now") {
		t.Errorf("retry output %q", r.stdout)
	}
	for sink.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("retried entry not delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		if _, err := q.Get(ctx, id1); errors.Is(err, queue.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delivered entry not removed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	r = ok(t, mp(t, "", "queue", "remove", id2, "--data", d))
	if !strings.Contains(r.stdout, "removed") {
		t.Errorf("remove output %q", r.stdout)
	}
	if r := ok(t, mp(t, "", "queue", "list", "--data", d)); strings.Contains(r.stdout, id2) || strings.Contains(r.stdout, id1) {
		t.Errorf("list after remove:\n%s", r.stdout)
	}
	if n := sink.count(); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}

	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"queue", "show", "nope"}, exitFail, "no such queue entry"},
		{[]string{"queue", "retry", id2}, exitFail, "no such queue entry"},
		{[]string{"queue", "remove", id2}, exitFail, "no such queue entry"},
		{[]string{"queue", "show"}, exitUsage, "usage: mailport queue show ID"},
		{[]string{"queue", "list", "extra"}, exitUsage, "usage"},
		{[]string{"queue", "frob"}, exitUsage, "unknown subcommand"},
		{[]string{"queue"}, exitUsage, "missing subcommand"},
	}
	for _, c := range cases {
		r := mp(t, "", append(c.args, "--data", d)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}
