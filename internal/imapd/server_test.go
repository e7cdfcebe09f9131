package imapd

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"mailport/internal/metrics"
	"mailport/internal/testutil"
)

func TestShutdown(t *testing.T) {
	ts := newTestServer(t)
	waiting := ts.conn().login()
	idling := ts.conn().login()
	idling.cmd("a SELECT INBOX").ok()
	idling.write("b IDLE\r\n")
	idling.expect("+ idling")

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waiting.expect("* BYE server shutting down")
	idling.expect("* BYE server shutting down")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Serve(ln); err != ErrServerClosed {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestAutologout(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IdleTimeout = 50 * time.Millisecond })
	c := ts.conn()
	c.expect("* BYE autologout; idle for too long")
	d := ts.conn().login()
	d.write("a IDLE\r\n")
	d.expect("+ idling")
	d.expect("* BYE autologout; idle for too long")
}

// SetConnLimits: logins from then on meet the new per-user limit and
// sessions started from then on get the new autologout timer, while a
// session already open keeps its own.
func TestSetConnLimits(t *testing.T) {
	ts := newTestServer(t)
	old := ts.conn()
	ts.srv.SetConnLimits(0, 1, 0)
	first := ts.conn().login()
	ts.conn().cmd("a LOGIN " + testUser + ` "` + testPassword + `"`).no().code("LIMIT")

	ts.srv.SetConnLimits(0, 1, 50*time.Millisecond)
	ts.conn().expect("* BYE autologout; idle for too long")
	// Both waited longer than the new timer without being logged out.
	old.cmd("b NOOP").ok()
	first.cmd("b NOOP").ok()
}

// Garbage gets BAD and the connection survives; what cannot be resynced
// (a line beyond the limit) gets BYE.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn()
	for _, line := range []string{
		"", "*", "a", "a NOSUCHCOMMAND", "a LOGIN", "a FETCH", "a SELECT", "a LOGIN \"unterminated",
		"a UID", "a UID NOOP", "\x00\x01\x02", "a LIST ((((", "a ENABLE", strings.Repeat("(", 100),
	} {
		c.write(line + "\r\n")
		got := c.readLine()
		if !strings.Contains(got, " BAD ") {
			t.Fatalf("line %q: got %q", line, got)
		}
	}
	c.login()
	c.cmd("a SELECT INBOX").ok()
	for _, cmd := range []string{"b FETCH 1:x FLAGS", "b FETCH 1 (NOSUCH)", "b STORE 1 FLAGS", "b SEARCH NOSUCH",
		"b COPY", "b UID EXPUNGE x", "b SEARCH " + strings.Repeat("NOT ", 200) + "ALL"} {
		c.cmd(cmd).bad()
	}
	c.cmd("c NOOP").ok()

	// A line longer than the limit cannot be skipped safely.
	d := ts.conn()
	d.write("a " + strings.Repeat("x", 70<<10) + "\r\n")
	for {
		line := d.readLine()
		if strings.HasPrefix(line, "* BYE") {
			break
		}
	}
}

func TestLogsAndMetrics(t *testing.T) {
	var logs testutil.SyncBuffer
	m := metrics.New()
	ts := newTestServer(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Metrics = m
	})
	c := ts.conn().login()
	c.cmd("a LOGOUT").ok()
	ts.conn().cmd("b LOGIN " + testUser + " wrong").no()

	var dm dto.Metric
	if err := m.Connections.WithLabelValues("imap").Write(&dm); err != nil {
		t.Fatal(err)
	}
	if got := dm.GetCounter().GetValue(); got != 2 {
		t.Errorf("connections counted %v, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ts.srv.Shutdown(ctx)
	out := logs.String()
	if !strings.Contains(out, "imap: logged in") {
		t.Fatalf("no login logged:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, " cid=") {
			t.Errorf("log line without cid: %s", line)
		}
	}
}
