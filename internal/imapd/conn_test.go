package imapd

// The test connection harness (mox style, STYLE.md): a server runs
// in-process on 127.0.0.1:0 over a temporary sqlite store and blob
// directory; a testConn sends commands over a real socket and asserts the
// tagged and untagged responses:
//
//	ts := newTestServer(t)
//	c := ts.conn()
//	c.login()
//	c.cmd("a1 SELECT INBOX").untagged("* 0 EXISTS").ok()
//	c.cmd("a2 STORE 1 +FLAGS (\\Seen)").xuntagged(`* 1 FETCH (FLAGS (\Seen))`).ok()
//
// Helpers keep a stable API; the FETCH/SEARCH/SORT/THREAD tests use it too.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/certs"
	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/notify"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// Test account credentials.
const (
	testUser     = "mjl@example.org"
	testPassword = "correct horse battery"
	testUser2    = "other@example.org"
)

// testTimeout only keeps a broken test from hanging; no test asserts on
// timing.
const testTimeout = 20 * time.Second

// testServer is a running server with its storage.
type testServer struct {
	t         testing.TB
	srv       *Server
	addr      string // plain listener (STARTTLS offered)
	tlsAddr   string // implicit TLS listener
	st        *sqlite.DB
	blobs     *blob.Store
	bus       *notify.Bus
	committer *delivery.Committer
	dir       *directory.Service
	acct      store.Account // testUser
	acct2     store.Account // testUser2
	clientTLS *tls.Config
}

// newTestServer starts a server; opts may change the Config before New.
func newTestServer(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	bus := notify.NewBus()
	committer := delivery.NewCommitter(st, blobs, bus, nil)
	ds := directory.New(st, blobs, directory.Options{})
	if _, err := ds.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	acct, err := ds.AddUser(ctx, directory.NewUser{Address: testUser, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	acct2, err := ds.AddUser(ctx, directory.NewUser{Address: testUser2, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned("localhost", certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	serverTLS, err := certs.Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}

	cfg := Config{
		Hostname:  "mail.example.org",
		TLS:       serverTLS,
		Auth:      &auth.Authenticator{Store: st},
		Store:     st,
		Blobs:     blobs,
		Bus:       bus,
		Committer: committer,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	go srv.ServeTLS(tln)
	ts := &testServer{
		t: t, srv: srv, addr: ln.Addr().String(), tlsAddr: tln.Addr().String(),
		st: st, blobs: blobs, bus: bus, committer: committer, dir: ds, acct: acct, acct2: acct2,
		clientTLS: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		committer.Close()
		st.Close()
	})
	return ts
}

// poseRemote makes the server see every client as coming from a
// non-loopback address, where plaintext logins are refused.
func (ts *testServer) poseRemote() {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	ts.srv.remoteAddr = func(net.Conn) netip.Addr { return netip.MustParseAddr("192.0.2.1") }
}

// mailbox returns a mailbox of testUser.
func (ts *testServer) mailbox(name string) store.Mailbox {
	ts.t.Helper()
	mb, err := ts.st.GetMailbox(context.Background(), ts.acct.ID, name)
	if err != nil {
		ts.t.Fatalf("mailbox %q: %v", name, err)
	}
	return mb
}

// deliver stores a message for testUser in mailbox the way delivery does
// (blob, parse once, group commit, change bus) and returns it.
func (ts *testServer) deliver(mailbox, raw string, flags ...string) store.Message {
	ts.t.Helper()
	return ts.deliverTo(ts.acct, mailbox, raw, flags...)
}

func (ts *testServer) deliverTo(acct store.Account, mailbox, raw string, flags ...string) store.Message {
	ts.t.Helper()
	ctx := context.Background()
	mb, err := ts.st.GetMailbox(ctx, acct.ID, mailbox)
	if err != nil {
		ts.t.Fatalf("mailbox %q: %v", mailbox, err)
	}
	raw = crlfText(raw)
	id, size, err := ts.blobs.Put(ctx, strings.NewReader(raw), 0)
	if err != nil {
		ts.t.Fatal(err)
	}
	parsed, err := delivery.MIMEParser.Parse(strings.NewReader(raw))
	if err != nil {
		ts.t.Fatal(err)
	}
	nm := store.NewMessage{
		MailboxID: mb.ID, Flags: flags, InternalDate: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Size: size, BlobID: id,
	}
	parsed.Fill(&nm)
	res, err := ts.committer.Submit(ctx, []delivery.Append{{AccountID: acct.ID, Message: nm}})
	if err != nil {
		ts.t.Fatal(err)
	}
	if res[0].Err != nil {
		ts.t.Fatal(res[0].Err)
	}
	return res[0].Message
}

// testMessage makes a small message with a subject.
func testMessage(subject string) string {
	return "From: Alice <alice@example.com>\nTo: mjl@example.org\nSubject: " + subject +
		"\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\nDate: Fri, 1 Mar 2024 12:00:00 +0000\n\nHello " + subject + ".\n"
}

// crlfText turns bare LF line ends into CRLF.
func crlfText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// testConn is one client connection.
type testConn struct {
	t        testing.TB
	ts       *testServer
	conn     net.Conn
	br       *bufio.Reader
	w        io.Writer
	greeting string

	// The last command's responses.
	lastUntagged []string
	lastTagged   string
}

// conn dials the plain listener and reads the greeting.
func (ts *testServer) conn() *testConn {
	ts.t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	return ts.wrap(nc)
}

// tlsConn dials the implicit-TLS listener and reads the greeting.
func (ts *testServer) tlsConn() *testConn {
	ts.t.Helper()
	nc, err := tls.Dial("tcp", ts.tlsAddr, ts.clientTLS)
	if err != nil {
		ts.t.Fatal(err)
	}
	return ts.wrap(nc)
}

func (ts *testServer) wrap(nc net.Conn) *testConn {
	ts.t.Helper()
	nc.SetDeadline(time.Now().Add(testTimeout))
	c := &testConn{t: ts.t, ts: ts, conn: nc, br: bufio.NewReader(nc), w: nc}
	ts.t.Cleanup(func() { nc.Close() })
	c.greeting = c.readLine()
	if !strings.HasPrefix(c.greeting, "* OK ") {
		ts.t.Fatalf("greeting %q", c.greeting)
	}
	return c
}

// login logs in as testUser (a loopback client may log in without TLS).
func (c *testConn) login() *testConn {
	c.t.Helper()
	return c.cmd("l1 LOGIN " + testUser + ` "` + testPassword + `"`).ok()
}

// loginAs logs in as another user.
func (c *testConn) loginAs(user string) *testConn {
	c.t.Helper()
	return c.cmd("l1 LOGIN " + user + ` "` + testPassword + `"`).ok()
}

// write sends raw bytes.
func (c *testConn) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.w, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	if f, ok := c.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			c.t.Fatalf("flush: %v", err)
		}
	}
}

// readLine reads one response line without CRLF; a literal that ends the
// line is read and appended, with what follows it, so one response is one
// string.
func (c *testConn) readLine() string {
	c.t.Helper()
	var sb strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, sb.String()+line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		sb.WriteString(line)
		n, ok := literalSuffix(line)
		if !ok {
			return sb.String()
		}
		sb.WriteString("\r\n")
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatalf("read literal: %v", err)
		}
		sb.Write(buf)
	}
}

// literalSuffix reports a line ending in "{n}" (or "~{n}").
func literalSuffix(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(line[i+1 : len(line)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// expect reads one line and checks it.
func (c *testConn) expect(want string) {
	c.t.Helper()
	if got := c.readLine(); got != want {
		c.t.Fatalf("got line %q, want %q", got, want)
	}
}

// cmd sends a command line (starting with its tag) and reads the
// responses up to the tagged one.
func (c *testConn) cmd(line string) *testConn {
	c.t.Helper()
	c.write(line + "\r\n")
	tag, _, _ := strings.Cut(line, " ")
	return c.readResponse(tag)
}

// cmdf is cmd with formatting.
func (c *testConn) cmdf(format string, args ...any) *testConn {
	c.t.Helper()
	return c.cmd(fmt.Sprintf(format, args...))
}

// readResponse reads untagged lines until the tagged response of tag.
func (c *testConn) readResponse(tag string) *testConn {
	c.t.Helper()
	c.lastUntagged = nil
	for {
		line := c.readLine()
		if strings.HasPrefix(line, tag+" ") {
			c.lastTagged = line
			return c
		}
		c.lastUntagged = append(c.lastUntagged, line)
	}
}

func (c *testConn) status(want string) *testConn {
	c.t.Helper()
	_, rest, _ := strings.Cut(c.lastTagged, " ")
	if !strings.HasPrefix(rest, want+" ") && rest != want {
		c.t.Fatalf("tagged response %q, want %s (untagged %q)", c.lastTagged, want, c.lastUntagged)
	}
	return c
}

// ok, no and bad assert the tagged status.
func (c *testConn) ok() *testConn  { c.t.Helper(); return c.status("OK") }
func (c *testConn) no() *testConn  { c.t.Helper(); return c.status("NO") }
func (c *testConn) bad() *testConn { c.t.Helper(); return c.status("BAD") }

// code asserts the tagged response carries "[code" (a prefix, so
// "APPENDUID 1" matches "[APPENDUID 1 5]").
func (c *testConn) code(code string) *testConn {
	c.t.Helper()
	if !strings.Contains(c.lastTagged, "["+code) {
		c.t.Fatalf("tagged response %q lacks code [%s]", c.lastTagged, code)
	}
	return c
}

// tagged returns the last tagged response line.
func (c *testConn) tagged() string { return c.lastTagged }

// untagged asserts that each line occurs among the untagged responses.
func (c *testConn) untagged(lines ...string) *testConn {
	c.t.Helper()
	for _, l := range lines {
		if !slices.Contains(c.lastUntagged, l) {
			c.t.Fatalf("untagged %q missing; got %q", l, c.lastUntagged)
		}
	}
	return c
}

// notUntagged asserts that no untagged response starts with prefix.
func (c *testConn) notUntagged(prefix string) *testConn {
	c.t.Helper()
	for _, l := range c.lastUntagged {
		if strings.HasPrefix(l, prefix) {
			c.t.Fatalf("unexpected untagged %q", l)
		}
	}
	return c
}

// xuntagged asserts the untagged responses are exactly lines, in order.
func (c *testConn) xuntagged(lines ...string) *testConn {
	c.t.Helper()
	if !slices.Equal(c.lastUntagged, lines) && !(len(lines) == 0 && len(c.lastUntagged) == 0) {
		c.t.Fatalf("untagged responses:\n got  %q\n want %q", c.lastUntagged, lines)
	}
	return c
}

// untaggedWith returns the untagged responses that start with prefix.
func (c *testConn) untaggedWith(prefix string) []string {
	var out []string
	for _, l := range c.lastUntagged {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// responses returns the untagged responses of the last command.
func (c *testConn) responses() []string { return c.lastUntagged }

// close closes the connection.
func (c *testConn) close() { c.conn.Close() }

// startTLS runs STARTTLS and switches the connection to TLS.
func (c *testConn) startTLS() *testConn {
	c.t.Helper()
	c.cmd("s1 STARTTLS").ok()
	tc := tls.Client(c.conn, c.ts.clientTLS)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("tls handshake: %v", err)
	}
	c.conn, c.br, c.w = tc, bufio.NewReader(tc), tc
	return c
}

// selectInbox logs in and selects INBOX.
func (c *testConn) selectInbox() *testConn {
	c.t.Helper()
	return c.cmd("s0 SELECT INBOX").ok()
}

// TestHarness checks the harness itself against the greeting and a
// literal in a response.
func TestHarness(t *testing.T) {
	ts := newTestServer(t)
	c := ts.conn()
	if !strings.Contains(c.greeting, "[CAPABILITY IMAP4rev1 IMAP4rev2") {
		t.Fatalf("greeting %q", c.greeting)
	}
	c.login()
	ts.deliver("INBOX", testMessage("one"))
	c.cmd("a1 SELECT INBOX").untagged("* 1 EXISTS").ok().code("READ-WRITE")
	c.cmd("a2 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]").ok()
	if got := c.responses(); len(got) != 1 || !bytes.Contains([]byte(got[0]), []byte("Subject: one")) {
		t.Fatalf("fetch: %q", got)
	}
	if got := c.tagged(); got != "a2 OK FETCH completed" {
		t.Fatalf("tagged %q", got)
	}
	c.close()
}

// dialRaw connects without reading the greeting.
func (ts *testServer) dialRaw() net.Conn {
	ts.t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(testTimeout))
	ts.t.Cleanup(func() { nc.Close() })
	return nc
}

func readRawLine(t testing.TB, nc net.Conn) string {
	t.Helper()
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(line, "\r\n")
}
