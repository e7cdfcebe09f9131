package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/config"
	"mailport/internal/directory"
	"mailport/internal/server"
)

const (
	testDomain    = "example.test"
	testHostname  = "mx.e2e.test"
	adminPassword = "e2e-Admin-Secret-7391"
	// userPassword is the password of every test mailbox.
	userPassword = "e2e-User-Secret-4826"
)

// requirePeer returns the path of a peer program. A missing peer skips the
// test, or fails it when CI=true: CI must run every test (DEVELOPERS.md).
func requirePeer(t *testing.T, name, debPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingPeer(t, fmt.Sprintf("%s not found: install it with 'apt-get install %s'", name, debPackage))
	}
	return p
}

func missingPeer(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// debianPython returns Debian's /usr/bin/python3 when it has poplib and
// ssl (the python3 first on PATH may be another build without them).
func debianPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import poplib, ssl, json").CombinedOutput(); err != nil {
		missingPeer(t, fmt.Sprintf("%s with poplib and ssl is needed: apt-get install python3 (%v: %s)", py, err, out))
	}
	return py
}

// syncBuffer collects the server's log; it is printed when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a whole mailport running in the test process.
type testServer struct {
	*server.Server
	Dir string
	log *syncBuffer
}

// loopbackListeners binds every listener to a free loopback port.
func loopbackListeners() map[string]string {
	ls := map[string]string{}
	for name := range config.StandardPorts {
		ls[name] = "127.0.0.1:0"
	}
	return ls
}

// startServer initializes a data directory in t.TempDir() (as `mailport
// init` does), adds the domain example.test with the given mailboxes
// (local parts) and starts the whole server with every listener on a free
// loopback port. configure, if set, changes the configuration first.
func startServer(t *testing.T, configure func(*config.Config), mailboxes ...string) *testServer {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config.Default(testHostname)
	cfg.Listeners = loopbackListeners()
	cfg.Log.Level = "debug"
	if configure != nil {
		configure(&cfg)
	}
	if err := server.Init(ctx, dir, cfg, adminPassword); err != nil {
		t.Fatalf("server.Init: %v", err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatalf("config.Load after Init: %v", err)
	}
	logBuf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	ts := &testServer{Server: srv, Dir: dir, log: logBuf}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	if len(mailboxes) > 0 {
		if _, err := srv.Directory.AddDomain(ctx, testDomain); err != nil {
			t.Fatalf("add domain: %v", err)
		}
		for _, lp := range mailboxes {
			ts.addUser(t, lp+"@"+testDomain)
		}
	}
	return ts
}

func (ts *testServer) addUser(t *testing.T, address string) {
	t.Helper()
	if _, err := ts.Directory.AddUser(context.Background(), directory.NewUser{Address: address, Password: userPassword}); err != nil {
		t.Fatalf("add user %s: %v", address, err)
	}
}

// addr returns the bound address of a listener, failing when it is not bound.
func (ts *testServer) addr(t *testing.T, name string) string {
	t.Helper()
	a := ts.Addr(name)
	if a == "" {
		t.Fatalf("listener %s is not bound", name)
	}
	return a
}

// hostPort splits a listener address for peers that take them apart.
func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	return h, p
}

// lineConn is a raw text-protocol connection (SMTP or POP3) for tests that
// must control every byte on the wire.
type lineConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialLine(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, conn: c, r: bufio.NewReader(c)}
}

// send writes raw bytes as they are (no line ending added).
func (c *lineConn) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// line reads one line without its CRLF.
func (c *lineConn) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// smtpReply reads a whole SMTP reply (RFC 5321 section 4.2: continuation
// lines have "-" after the code) and returns its lines.
func (c *lineConn) smtpReply() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// expect sends cmd (CRLF added when cmd is not empty) and requires the
// final reply line to start with prefix.
func (c *lineConn) expect(cmd, prefix string) []string {
	c.t.Helper()
	if cmd != "" {
		c.send(cmd + "\r\n")
	}
	reply := c.smtpReply()
	if last := reply[len(reply)-1]; !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("after %q: got %q, want a reply starting %q", cmd, reply, prefix)
	}
	return reply
}

// pop3Messages logs into POP3 at addr over plain loopback and returns every
// message (RETR, dot-unstuffed, CRLF line ends) in order.
func pop3Messages(t *testing.T, addr, user, pass string) []string {
	t.Helper()
	c := dialLine(t, addr)
	c.popOK("")
	c.popOK("USER " + user)
	c.popOK("PASS " + pass)
	stat := c.popOK("STAT")
	var n int
	var size int64
	if _, err := fmt.Sscanf(stat, "+OK %d %d", &n, &size); err != nil {
		t.Fatalf("STAT reply %q: %v", stat, err)
	}
	msgs := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		c.popOK(fmt.Sprintf("RETR %d", i))
		msgs = append(msgs, c.popMultiline())
	}
	c.popOK("QUIT")
	return msgs
}

// popOK sends cmd (unless empty) and requires a +OK status line.
func (c *lineConn) popOK(cmd string) string {
	c.t.Helper()
	if cmd != "" {
		c.send(cmd + "\r\n")
	}
	l := c.line()
	if !strings.HasPrefix(l, "+OK") {
		c.t.Fatalf("POP3 %q: got %q, want +OK", cmd, l)
	}
	return l
}

// popMultiline reads a multi-line POP3 response body (RFC 1939 section 3)
// up to the terminating ".", undoing dot-stuffing.
func (c *lineConn) popMultiline() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line()
		if l == "." {
			return b.String()
		}
		l = strings.TrimPrefix(l, ".")
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}

// testMessage is a small RFC 5322 message with CRLF line ends.
func testMessage(from, to, subject, body string) string {
	return "From: <" + from + ">\r\n" +
		"To: <" + to + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@e2e.test>\r\n" +
		"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
		"\r\n" + body + "\r\n"
}

// dotStuff doubles the dot that starts a line (RFC 5321 section 4.5.2);
// msg has CRLF line ends.
func dotStuff(msg string) string {
	if strings.HasPrefix(msg, ".") {
		msg = "." + msg
	}
	return strings.ReplaceAll(msg, "\r\n.", "\r\n..")
}

// rawDeliver sends one message over a raw SMTP dialogue and requires a 250
// after the final dot.
func rawDeliver(t *testing.T, addr, from, to, msg string) {
	t.Helper()
	c := dialLine(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.e2e.test", "250 ")
	c.expect("MAIL FROM:<"+from+">", "250 ")
	c.expect("RCPT TO:<"+to+">", "250 ")
	c.expect("DATA", "354 ")
	c.send(dotStuff(msg))
	c.expect(".", "250 ")
	c.expect("QUIT", "221 ")
}
