package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/metrics"
	"mailport/internal/notify"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
	"mailport/internal/testutil"
)

const testPassword = "correct horse battery"

// world is one mail system: store, directory, delivery, and accounts:
// alice (unlimited), bob (quota 2000 octets), carol (disabled); aliases
// team -> alice, bob; chain1 -> chain2 -> alice; loop1 <-> loop2;
// ext -> someone@remote.test; domain alias alias.test -> example.test.
type world struct {
	st    store.Store
	blobs *blob.Store
	dirs  *directory.Service
	com   *delivery.Committer
	dl    *delivery.Deliverer
	auth  *auth.Authenticator
	tls   *tls.Config
}

var quiet = slog.New(slog.DiscardHandler)

func newWorld(t testing.TB) *world {
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
	w := &world{st: st, blobs: blobs}
	w.dirs = directory.New(st, blobs, directory.Options{PlusSeparator: "+", Logger: quiet})
	w.com = delivery.NewCommitter(st, blobs, notify.NewBus(), quiet)
	w.dl = delivery.NewDeliverer(delivery.Config{Hostname: "mx.example.test", Store: st, Blobs: blobs, Committer: w.com, Logger: quiet})
	w.auth = &auth.Authenticator{Store: st}
	w.tls = selfSigned(t)
	t.Cleanup(func() {
		w.com.Close()
		st.Close()
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.dirs.AddDomain(ctx, "example.test")
	must(err)
	must(w.dirs.AddDomainAlias(ctx, "alias.test", "example.test"))
	for _, u := range []directory.NewUser{
		{Address: "alice@example.test", Password: testPassword},
		{Address: "bob@example.test", Password: testPassword, QuotaBytes: 2000},
		{Address: "carol@example.test", Password: testPassword},
	} {
		_, err := w.dirs.AddUser(ctx, u)
		must(err)
	}
	carol, err := st.GetAccountByAddress(ctx, "carol@example.test")
	must(err)
	carol.Enabled = false
	must(st.UpdateAccount(ctx, carol))
	for _, a := range []struct {
		addr    string
		targets []string
	}{
		{"team@example.test", []string{"alice@example.test", "bob@example.test"}},
		{"chain2@example.test", []string{"alice@example.test"}},
		{"chain1@example.test", []string{"chain2@example.test"}},
		{"loop1@example.test", []string{"loop2@example.test"}},
		{"loop2@example.test", []string{"loop1@example.test"}},
		{"ext@example.test", []string{"someone@remote.test"}},
	} {
		_, err := w.dirs.AddAlias(ctx, a.addr, a.targets)
		must(err)
	}
	return w
}

func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	c, _ := testutil.Cert(t, "mx.example.test")
	return &tls.Config{Certificates: []tls.Certificate{c}}
}

func (w *world) config() Config {
	return Config{
		Hostname: "mx.example.test", TLS: w.tls, Directory: w.dirs, Deliverer: w.dl,
		Auth: w.auth, Metrics: metrics.New(), Logger: quiet,
	}
}

// start serves cfg on 127.0.0.1:0 (implicit TLS when tlsPort) and shuts
// down at the end of the test.
func start(t testing.TB, cfg Config, tlsPort bool, wrap ...func(net.Listener) net.Listener) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = ln
	for _, f := range wrap {
		l = f(l)
	}
	s := New(cfg)
	done := make(chan error, 1)
	go func() {
		if tlsPort {
			done <- s.ServeTLS(l)
		} else {
			done <- s.Serve(l)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// client is a raw SMTP client for exact protocol checks.
type client struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	cl := &client{t: t, conn: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	cl.expect(220, "")
	return cl
}

// reply reads one (possibly multi-line) reply.
func (c *client) reply() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("reading reply: %v", err)
	}
	return code, msg
}

// expect reads a reply and checks its code and that it contains want.
func (c *client) expect(code int, want string) string {
	c.t.Helper()
	got, msg := c.reply()
	if got != code || !strings.Contains(msg, want) {
		c.t.Fatalf("reply %d %q, want %d containing %q", got, msg, code, want)
	}
	return msg
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends one command line and checks the reply.
func (c *client) cmd(line string, code int, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(code, want)
}

// closed reports whether the server closes the connection, reading and
// ignoring any last replies (go-smtp says goodbye to an over-long line).
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, io.LimitReader(c.tp.R, 4096))
	if err != nil {
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return n < 4096 // EOF before the limit
}

func (w *world) inbox(t testing.TB, addr string) []store.Message {
	t.Helper()
	ctx := context.Background()
	a, err := w.st.GetAccountByAddress(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := w.st.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := w.st.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func (w *world) body(t testing.TB, m store.Message) string {
	t.Helper()
	f, err := w.blobs.Open(m.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeRemote makes accepted connections look as if they came from
// 192.0.2.1, to test what loopback clients are allowed and others not.
type fakeRemote struct{ net.Listener }

type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4242} }

func (l fakeRemote) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{c}, nil
}

// fakeOutbound records what the outbound seam is given.
type fakeOutbound struct {
	mu     sync.Mutex
	remote [][]string
}

func (o *fakeOutbound) Enqueue(_ context.Context, d *delivery.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.remote = append(o.remote, append([]string(nil), d.Envelope.Remote...))
	return nil
}

// subMsg is a message alice submits.
const subMsg = "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: test\r\n\r\nHello there.\r\n"

const msg = "From: sender@remote.test\r\nTo: alice@example.test\r\nSubject: test\r\n\r\nHello there.\r\n"

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitBusy waits until some connection of s is inside a message transfer.
func waitBusy(t testing.TB, s *Server) {
	t.Helper()
	for {
		if _, busy := s.conns.Count(); busy > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// waitConns waits until s has n open connections.
func waitConns(t testing.TB, s *Server, n int) {
	t.Helper()
	for {
		if open, _ := s.conns.Count(); open == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// sendMail delivers with go-smtp's client over plain SMTP (SendMail would
// insist on verifying our self-signed certificate after STARTTLS).
func sendMail(addr, from string, rcpts []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(wc, body); err != nil {
		return err
	}
	if err := wc.Close(); err != nil {
		return err
	}
	return c.Quit()
}
