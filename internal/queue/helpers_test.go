package queue

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailport/internal/blob"
	"mailport/internal/certs"
	"mailport/internal/dns"
)

// fakeDNS is an in-memory zone implementing dns.Resolver. Names missing
// from the maps are ErrNotFound; names in fail give a temporary error.
type fakeDNS struct {
	mu   sync.Mutex
	mx   map[string][]*net.MX
	ip   map[string][]net.IP
	fail map[string]bool
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{mx: map[string][]*net.MX{}, ip: map[string][]net.IP{}, fail: map[string]bool{}}
}

func norm(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }

func (f *fakeDNS) addMX(domain, host string, pref uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mx[norm(domain)] = append(f.mx[norm(domain)], &net.MX{Host: host, Pref: pref})
}

func (f *fakeDNS) addIP(name, ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ip[norm(name)] = append(f.ip[norm(name)], net.ParseIP(ip))
}

func (f *fakeDNS) setFail(name string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[norm(name)] = fail
}

func (f *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[norm(name)] {
		return nil, errors.New("SERVFAIL")
	}
	mx, ok := f.mx[norm(name)]
	if !ok {
		return nil, dns.ErrNotFound
	}
	out := make([]*net.MX, len(mx))
	for i, m := range mx {
		c := *m
		out[i] = &c
	}
	return out, nil
}

func (f *fakeDNS) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[norm(name)] {
		return nil, errors.New("SERVFAIL")
	}
	ips, ok := f.ip[norm(name)]
	if !ok {
		return nil, dns.ErrNotFound
	}
	return append([]net.IP(nil), ips...), nil
}

func (f *fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return nil, dns.ErrNotFound
}

func (f *fakeDNS) LookupAddr(ctx context.Context, ip string) ([]string, error) {
	return nil, dns.ErrNotFound
}

// received is one message a test MX accepted.
type received struct {
	helo  string
	tls   bool
	from  string
	rcpts []string
	data  []byte
	// mail and rcpt are the parameters of MAIL and of each RCPT.
	mail smtp.MailOptions
	rcpt []smtp.RcptOptions
}

// mxServer is a remote MX for tests: a go-smtp server on a loopback
// address whose answers the test controls.
type mxServer struct {
	t    *testing.T
	addr string
	port int
	srv  *smtp.Server

	mu    sync.Mutex
	conns int
	rcpts int // RCPT commands seen
	msgs  []received
	// rcptReply, when set, answers RCPT (nil accepts); n counts RCPTs so far.
	rcptReply func(rcpt string, n int) error
	// dataStarted, when set, gets a value when DATA begins; DATA then
	// waits for dataRelease.
	dataStarted chan struct{}
	dataRelease chan struct{}
	// auth, when set, is the accepted username and password.
	auth [2]string

	got chan struct{} // one value per accepted message
}

// startMX starts a test MX on ip:port (port 0 picks one); opts change
// its go-smtp server before it serves (EnableDSN, ...).
func startMX(t *testing.T, ip string, port int, tlsCfg *tls.Config, opts ...func(*smtp.Server)) *mxServer {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	m := &mxServer{t: t, addr: l.Addr().String(), port: l.Addr().(*net.TCPAddr).Port, got: make(chan struct{}, 100)}
	// NewSession runs per EHLO (again after STARTTLS), so connections are
	// counted where they are accepted.
	m.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mxSession{m: m, c: c}, nil
	}))
	m.srv.Domain = "mx.remote.test"
	m.srv.TLSConfig = tlsCfg
	m.srv.AllowInsecureAuth = false
	m.srv.ReadTimeout = time.Minute
	m.srv.WriteTimeout = time.Minute
	m.srv.ErrorLog = log4test{}
	for _, o := range opts {
		o(m.srv)
	}
	go m.srv.Serve(countingListener{l, m})
	t.Cleanup(func() { m.srv.Close() })
	return m
}

type countingListener struct {
	net.Listener
	m *mxServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.m.mu.Lock()
		l.m.conns++
		l.m.mu.Unlock()
	}
	return c, err
}

type log4test struct{}

func (log4test) Printf(string, ...any) {}
func (log4test) Println(...any)        {}

// ready publishes the fields a test set after startMX (rcptReply,
// dataStarted, auth, ...) to the server goroutines, which read them under
// m.mu: a connection from another process carries no happens-before edge
// the race detector could see.
func (m *mxServer) ready() {
	m.mu.Lock()
	//lint:ignore SA2001 the lock/unlock pair is the happens-before edge itself
	m.mu.Unlock()
}

func (m *mxServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

func (m *mxServer) connections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

// wait waits for n more accepted messages.
func (m *mxServer) wait(n int) {
	m.t.Helper()
	for range n {
		select {
		case <-m.got:
		case <-time.After(30 * time.Second):
			m.t.Fatalf("MX %s: no message arrived", m.addr)
		}
	}
}

type mxSession struct {
	m        *mxServer
	c        *smtp.Conn
	from     string
	rcpts    []string
	mailOpts smtp.MailOptions
	rcptOpts []smtp.RcptOptions
	authed   bool
}

func (s *mxSession) AuthMechanisms() []string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.auth[0] == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mxSession) Auth(mech string) (sasl.Server, error) {
	s.m.mu.Lock()
	auth := s.m.auth
	s.m.mu.Unlock()
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != auth[0] || password != auth[1] {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mxSession) Mail(from string, opts *smtp.MailOptions) error {
	s.m.mu.Lock()
	needAuth := s.m.auth[0] != ""
	s.m.mu.Unlock()
	if needAuth && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	if opts != nil {
		s.mailOpts = *opts
	}
	return nil
}

func (s *mxSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.m.mu.Lock()
	s.m.rcpts++
	n := s.m.rcpts
	reply := s.m.rcptReply
	s.m.mu.Unlock()
	if reply != nil {
		if err := reply(to, n); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	var ro smtp.RcptOptions
	if opts != nil {
		ro = *opts
	}
	s.rcptOpts = append(s.rcptOpts, ro)
	return nil
}

func (s *mxSession) Data(r io.Reader) error {
	s.m.mu.Lock()
	started, release := s.m.dataStarted, s.m.dataRelease
	s.m.mu.Unlock()
	if started != nil {
		started <- struct{}{}
		<-release
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, received{helo: s.c.Hostname(), tls: isTLS, from: s.from, rcpts: s.rcpts, data: b, mail: s.mailOpts, rcpt: s.rcptOpts})
	s.m.mu.Unlock()
	s.m.got <- struct{}{}
	return nil
}

func (s *mxSession) Reset() {
	s.from, s.rcpts, s.mailOpts, s.rcptOpts = "", nil, smtp.MailOptions{}, nil
}
func (s *mxSession) Logout() error { return nil }

// smtpErr builds a reply for rcptReply.
func smtpErr(code int, enh [3]int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: msg}
}

// testTLS returns a server TLS config for names and a pool trusting it.
func testTLS(t *testing.T, name string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned(name, cf, kf); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(cf)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool
}

// env is a queue under test with its blob store and resolver.
type env struct {
	t     *testing.T
	dir   string
	blobs *blob.Store
	dns   *fakeDNS
	cfg   Config

	mu        sync.Mutex
	local     [][]byte // messages LocalDeliver received
	localFrom []string
	localGot  chan struct{}
}

func newEnv(t *testing.T, port int) *env {
	t.Helper()
	dir := t.TempDir()
	bs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, blobs: bs, dns: newFakeDNS(), localGot: make(chan struct{}, 100)}
	e.cfg = Config{
		Dir:          dir,
		Blobs:        bs,
		Resolver:     e.dns,
		Hostname:     "mx.local.test",
		SMTPPort:     port,
		Backoff:      func(int) time.Duration { return 0 },
		PollInterval: 50 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		IsLocal:      func(a string) bool { return domainOf(a) == "local.test" },
		LocalDeliver: func(ctx context.Context, from, rcpt string, body io.Reader) error {
			b, err := io.ReadAll(body)
			if err != nil {
				return err
			}
			e.mu.Lock()
			e.local = append(e.local, b)
			e.localFrom = append(e.localFrom, from)
			e.mu.Unlock()
			e.localGot <- struct{}{}
			return nil
		},
	}
	return e
}

func (e *env) open() *Queue {
	e.t.Helper()
	q, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

// run starts q.Run and stops it (then closes q) at the end of the test.
func (e *env) run(q *Queue) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.Run(ctx)
		close(done)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
		q.Close()
	})
}

// waitLocal waits for one message delivered through LocalDeliver.
func (e *env) waitLocal() []byte {
	e.t.Helper()
	select {
	case <-e.localGot:
	case <-time.After(30 * time.Second):
		e.t.Fatal("no local delivery")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.local[len(e.local)-1]
}

// waitEmpty waits until the queue holds no entry.
func waitEmpty(t *testing.T, q *Queue) {
	t.Helper()
	waitFor(t, "queue empty", func() bool {
		l, err := q.List(context.Background())
		return err == nil && len(l) == 0
	})
}

// waitFor polls cond (state kept in SQLite has no change signal to wait on).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const testMessage = "From: alice@local.test\r\nTo: bob@remote.test\r\nSubject: test message\r\nMessage-ID: <m1@local.test>\r\n\r\nHello.\r\n.leading dot line\r\n"

func enqueue(t *testing.T, q *Queue, from string, rcpts ...string) string {
	t.Helper()
	id, err := q.Enqueue(context.Background(), from, rcpts, strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sameBody(got []byte) bool {
	return bytes.Equal(got, []byte(testMessage))
}

// deferredPair queues two messages for remote.test whose MX cannot be
// resolved, with back-off of an hour, runs the queue and waits for both
// first attempts to be deferred; retries then need the caller's
// e.dns.setFail("mx.remote.test", false).
func deferredPair(t *testing.T) (mx *mxServer, e *env, q *Queue, id1, id2 string) {
	t.Helper()
	mx = startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e = newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	e.dns.setFail("mx.remote.test", true)
	e.cfg.Backoff = func(int) time.Duration { return time.Hour }
	q = e.open()
	id1 = enqueue(t, q, "alice@local.test", "bob@remote.test")
	id2 = enqueue(t, q, "alice@local.test", "carol@remote.test")
	e.run(q)
	waitFor(t, "two deferred first attempts", func() bool {
		l, _ := q.List(context.Background())
		return len(l) == 2 && l[0].Attempts == 1 && l[1].Attempts == 1
	})
	return mx, e, q, id1, id2
}
