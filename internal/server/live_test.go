package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"mailport/internal/directory"
)

// TestApplyLimits: after Apply, a new SMTP session announces the new
// SIZE, the queue's next attempt uses the new smarthost, new SMTP, POP3
// and IMAP connections meet the new per-IP limits, a new POP3 session the
// new autologout timer and an IMAP login the new per-user limit. (The
// IMAP autologout timer is at least 30 minutes here; imapd's
// TestSetConnLimits shows SetConnLimits changing it.)
func TestApplyLimits(t *testing.T) {
	s := startTestServer(t, nil)
	ctx := context.Background()
	if _, err := s.Directory.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	const user, password = "kim@example.test", "kim-Secret-1234"
	if _, err := s.Directory.AddUser(ctx, directory.NewUser{Address: user, Password: password}); err != nil {
		t.Fatal(err)
	}
	cfg := s.Running()
	cfg.Limits.MaxMessageBytes = 12345678
	cfg.Queue.Smarthost = "relay.example.net:2525"
	cfg.Limits.MaxConnsPerIP = 1
	cfg.Limits.POP3TimeoutSecs = 1
	cfg.Limits.IMAPConnsPerIP = 2
	cfg.Limits.IMAPConnsPerUser = 1
	cfg.Limits.IMAPIdleMinutes = 45
	run, err := s.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if run.Limits != cfg.Limits || run.Queue.Smarthost != cfg.Queue.Smarthost {
		t.Fatalf("running = %+v %+v", run.Limits, run.Queue)
	}
	c, err := smtp.Dial(s.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, size := c.Extension("SIZE"); !ok || strings.TrimSpace(size) != "12345678" {
		t.Fatalf("SIZE = %v %q, want 12345678", ok, size)
	}
	sh := s.Queue().Routing().Smarthost
	if sh == nil || sh.Host != "relay.example.net" || sh.Port != 2525 {
		t.Fatalf("queue smarthost = %+v", sh)
	}

	// max_connections_per_ip: one SMTP connection is open, so the next
	// is turned away; POP3 shares the limit.
	if _, line := dialLine(t, s.Addr("smtp")); !strings.HasPrefix(line, "421") {
		t.Fatalf("second SMTP connection: %q", line)
	}
	pop, popR := dialLine(t, s.Addr("pop3"))
	if !strings.HasPrefix(popR, "+OK") {
		t.Fatalf("POP3 greeting: %q", popR)
	}
	if _, line := dialLine(t, s.Addr("pop3")); !strings.HasPrefix(line, "-ERR") {
		t.Fatalf("second POP3 connection: %q", line)
	}

	imap1, _ := dialLine(t, s.Addr("imap"))
	imap2, _ := dialLine(t, s.Addr("imap"))
	if _, line := dialLine(t, s.Addr("imap")); !strings.HasPrefix(line, "* BYE") {
		t.Fatalf("third IMAP connection: %q", line)
	}
	login := ` LOGIN "` + user + `" "` + password + `"`
	if line := imapCommand(t, imap1, "a"+login); !strings.HasPrefix(line, "a OK") {
		t.Fatalf("first login: %q", line)
	}
	if line := imapCommand(t, imap2, "b"+login); !strings.HasPrefix(line, "b NO [LIMIT]") {
		t.Fatalf("second login of the user: %q", line)
	}

	// pop3_timeout_seconds: RFC 1939 section 3, the autologout closes the
	// connection without a response, long before the old 10 minutes.
	pop.conn.SetReadDeadline(time.Now().Add(time.Minute))
	if line, err := pop.r.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("idle POP3 session: %q %v, want it closed", line, err)
	}

	// Keys not live stay as started.
	cfg.Limits.ShutdownWaitSecs = run.Limits.ShutdownWaitSecs + 7
	if run, _ := s.Apply(cfg); run.Limits.ShutdownWaitSecs == cfg.Limits.ShutdownWaitSecs {
		t.Fatal("shutdown_wait_seconds applied live")
	}
}

// lineConn is a client connection read line by line.
type lineConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialLine connects to addr and returns the connection with the first
// line the server sent (a greeting or a refusal).
func dialLine(t *testing.T, addr string) (*lineConn, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &lineConn{conn: conn, r: bufio.NewReader(conn)}
	return c, c.line(t)
}

func (c *lineConn) line(t *testing.T) string {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %q %v", line, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// imapCommand sends the tagged command line and returns the tagged
// response, skipping untagged ones.
func imapCommand(t *testing.T, c *lineConn, cmd string) string {
	t.Helper()
	if _, err := io.WriteString(c.conn, cmd+"\r\n"); err != nil {
		t.Fatal(err)
	}
	tag, _, _ := strings.Cut(cmd, " ")
	for {
		if line := c.line(t); strings.HasPrefix(line, tag+" ") {
			return line
		}
	}
}
