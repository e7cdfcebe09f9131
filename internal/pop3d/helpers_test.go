package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/notify"
	"mailport/internal/store"
	"mailport/internal/testutil"
)

// fakeStore implements the store methods the POP3 server uses, in memory.
// The embedded nil Store makes any other method panic, which fails the test.
type fakeStore struct {
	store.Store
	mu          sync.Mutex
	accounts    map[string]store.Account
	mailboxes   map[int64]*store.Mailbox
	messages    map[int64][]store.Message // by mailbox ID, in UID order
	failList    bool
	failExpunge bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		accounts:  make(map[string]store.Account),
		mailboxes: make(map[int64]*store.Mailbox),
		messages:  make(map[int64][]store.Message),
	}
}

func (f *fakeStore) GetAccountByAddress(_ context.Context, address string) (store.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[address]
	if !ok {
		return store.Account{}, fmt.Errorf("account %q: %w", address, store.ErrNotFound)
	}
	return a, nil
}

// ReplaceCredentials is where the Authenticator stores the SCRAM
// credential it derives at a PLAIN or USER/PASS login.
func (f *fakeStore) ReplaceCredentials(_ context.Context, id int64, oldHash, newHash, newSCRAM string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for addr, a := range f.accounts {
		if a.ID == id && a.PasswordHash == oldHash {
			a.PasswordHash, a.SCRAMSHA256 = newHash, newSCRAM
			f.accounts[addr] = a
			return true, nil
		}
	}
	return false, nil
}

// InstanceSecret is the key for SCRAM's mock salts.
func (f *fakeStore) InstanceSecret(context.Context, string) ([]byte, error) {
	return []byte("pop3d test instance secret"), nil
}

func (f *fakeStore) GetMailbox(_ context.Context, accountID int64, name string) (store.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, mb := range f.mailboxes {
		if mb.AccountID == accountID && mb.Name == name {
			return *mb, nil
		}
	}
	return store.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, store.ErrNotFound)
}

func (f *fakeStore) GetMailboxByID(_ context.Context, id int64) (store.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mb, ok := f.mailboxes[id]
	if !ok {
		return store.Mailbox{}, fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return *mb, nil
}

func (f *fakeStore) ListMessages(_ context.Context, mailboxID int64) ([]store.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failList {
		return nil, errors.New("database is locked")
	}
	return slices.Clone(f.messages[mailboxID]), nil
}

func (f *fakeStore) Expunge(_ context.Context, mailboxID int64, uids []uint32) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failExpunge {
		return nil, errors.New("disk full")
	}
	mb := f.mailboxes[mailboxID]
	var blobs []string
	f.messages[mailboxID] = slices.DeleteFunc(f.messages[mailboxID], func(m store.Message) bool {
		if slices.Contains(uids, m.UID) {
			blobs = append(blobs, m.BlobID)
			return true
		}
		return false
	})
	mb.HighestModSeq++
	mb.Messages = uint32(len(f.messages[mailboxID]))
	return blobs, nil
}

func (f *fakeStore) uids(mailboxID int64) []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var u []uint32
	for _, m := range f.messages[mailboxID] {
		u = append(u, m.UID)
	}
	return u
}

// Test fixtures.
const (
	alicePassword = "alice-Secret-1"
	aliceInbox    = int64(10)
	aliceID       = int64(1)
	uidValidity   = 12345
)

// testEnv is a POP3 server on 127.0.0.1:0 over a fake store and a real
// blob directory.
type testEnv struct {
	t      testing.TB
	store  *fakeStore
	blobs  *blob.Store
	bus    *notify.Bus
	srv    *Server
	addr   string
	pool   *x509.CertPool // trusts the server's certificate
	logs   *testutil.SyncBuffer
	served chan error
}

// envOption adjusts the Config or the server of a testEnv before it serves.
type envOption func(*Config, *Server)

func withConfig(f func(*Config)) envOption {
	return func(c *Config, s *Server) {
		if s == nil {
			f(c)
		}
	}
}

// withoutTLS leaves TLS unconfigured (no STLS, no ServeTLS).
var withoutTLS = withConfig(func(c *Config) { c.TLS = nil })

// withRemote makes the server see every client as coming from addr.
func withRemote(addr string) envOption {
	a := netip.MustParseAddr(addr)
	return func(_ *Config, s *Server) {
		if s == nil {
			return
		}
		s.remoteAddr = func(net.Conn) netip.Addr { return a }
	}
}

var (
	hashOnce  sync.Once
	aliceHash string
)

func passwordHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := auth.HashPassword(alicePassword)
		if err != nil {
			t.Fatal(err)
		}
		aliceHash = h
	})
	return aliceHash
}

func newTestEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	e := setupEnv(t, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { e.served <- e.srv.Serve(ln) }()
	t.Cleanup(e.shutdown)
	return e
}

// setupEnv builds the store, blobs and server without listening.
func setupEnv(t testing.TB, opts ...envOption) *testEnv {
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStore()
	st.accounts["alice@example.org"] = store.Account{ID: aliceID, Address: "alice@example.org", PasswordHash: passwordHash(t), Enabled: true}
	st.accounts["admin"] = store.Account{ID: 2, Address: "admin", PasswordHash: passwordHash(t), Enabled: true}
	st.mailboxes[aliceInbox] = &store.Mailbox{ID: aliceInbox, AccountID: aliceID, Name: "INBOX", UIDValidity: uidValidity, UIDNext: 1}
	st.mailboxes[11] = &store.Mailbox{ID: 11, AccountID: aliceID, Name: "Sent", UIDValidity: 999, UIDNext: 1}

	cert, pool := selfSignedCert(t)
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := notify.NewBus()
	cfg := Config{
		Hostname: "pop.example.org",
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}},
		Auth:     &auth.Authenticator{Store: st, Limiter: auth.NewLimiter(), Logger: logger},
		Store:    st,
		Blobs:    blobs,
		Bus:      bus,
		Logger:   logger,
	}
	for _, o := range opts {
		o(&cfg, nil)
	}
	srv := NewServer(cfg)
	for _, o := range opts {
		o(&cfg, srv)
	}
	return &testEnv{t: t, store: st, blobs: blobs, bus: bus, srv: srv, pool: pool, logs: logs, served: make(chan error, 1)}
}

func (e *testEnv) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	if err := <-e.served; !errors.Is(err, ErrServerClosed) {
		e.t.Errorf("Serve returned %v; want ErrServerClosed", err)
	}
}

// addMessage stores content as the next message of alice's INBOX.
func (e *testEnv) addMessage(content string) store.Message {
	e.t.Helper()
	id, size, err := e.blobs.Put(context.Background(), strings.NewReader(content), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	mb := e.store.mailboxes[aliceInbox]
	mb.UIDNext++
	m := store.Message{ID: int64(mb.UIDNext), MailboxID: aliceInbox, UID: mb.UIDNext - 1, Size: size, BlobID: id}
	e.store.messages[aliceInbox] = append(e.store.messages[aliceInbox], m)
	return m
}

// waitSessionsGone waits until the server has no session left, so a test
// can look at the store after a client went away.
func (e *testEnv) waitSessionsGone() {
	e.t.Helper()
	for range 3000 {
		n, _ := e.srv.conns.Count()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("sessions still running")
}

// selfSignedCert makes a certificate for 127.0.0.1 and localhost.
func selfSignedCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	return testutil.Cert(t, "pop.example.org", "localhost", "127.0.0.1")
}

// client is a minimal POP3 client for the tests.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects and checks the greeting.
func (e *testEnv) dial() *client {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c := newClient(e.t, conn)
	if g := c.line(); !strings.HasPrefix(g, "+OK ") {
		e.t.Fatalf("greeting %q", g)
	}
	return c
}

func newClient(t testing.TB, conn net.Conn) *client {
	// A generous safety net so a broken server fails the test instead of
	// hanging it; no test depends on this duration.
	conn.SetDeadline(time.Now().Add(time.Minute))
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one response line without its CRLF, failing on a bare LF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends a command and returns the status line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// ok sends a command and fails unless the answer is +OK.
func (c *client) ok(line string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, "+OK") {
		c.t.Fatalf("%q: got %q; want +OK", line, r)
	}
	return r
}

// errResp sends a command and fails unless the answer starts with want
// (an "-ERR" prefix, maybe with a response code).
func (c *client) errResp(line, want string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, want) {
		c.t.Fatalf("%q: got %q; want prefix %q", line, r, want)
	}
	return r
}

// multi reads the lines of a multi-line response up to the "." line, as
// they are on the wire (still byte-stuffed).
func (c *client) multi() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

// multiOK sends a command expecting +OK and a multi-line body.
func (c *client) multiOK(line string) (status string, body []string) {
	c.t.Helper()
	status = c.ok(line)
	return status, c.multi()
}

// login logs in as alice with USER/PASS.
func (c *client) login() {
	c.t.Helper()
	c.ok("USER alice@example.org")
	c.ok("PASS " + alicePassword)
}

// expectClosed fails unless the server closes the connection without
// sending anything more.
func (c *client) expectClosed() {
	c.t.Helper()
	if l, err := c.r.ReadString('\n'); err == nil || l != "" {
		c.t.Fatalf("expected close, got %q, %v", l, err)
	}
}
