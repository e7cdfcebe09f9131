package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/config"
	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/store"
)

// remoteMessage is what the test MX received in one transaction.
type remoteMessage struct {
	from  string
	rcpts []string
	data  string
}

// testMX is a go-smtp server on 127.0.0.1:0 standing in for every remote
// MX: the DNS zone points the remote domains at it and the queue's
// smtp_port at its port.
type testMX struct {
	port int
	mu   sync.Mutex
	msgs []remoteMessage
	got  chan struct{}
}

func startTestMX(t *testing.T) *testMX {
	t.Helper()
	mx := &testMX{got: make(chan struct{}, 100)}
	srv := smtp.NewServer(mxBackend{mx})
	srv.Domain = "mx.remote.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mx
}

// wait returns the n-th message (1-based) once it has arrived.
func (m *testMX) wait(t *testing.T, n int) remoteMessage {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		m.mu.Lock()
		if len(m.msgs) >= n {
			msg := m.msgs[n-1]
			m.mu.Unlock()
			return msg
		}
		m.mu.Unlock()
		select {
		case <-m.got:
		case <-deadline:
			t.Fatalf("the remote MX did not receive message %d", n)
		}
	}
}

func (m *testMX) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

type mxBackend struct{ mx *testMX }

func (b mxBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &mxSession{mx: b.mx}, nil }

type mxSession struct {
	mx  *testMX
	cur remoteMessage
}

func (s *mxSession) Reset()        { s.cur = remoteMessage{} }
func (s *mxSession) Logout() error { return nil }
func (s *mxSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur = remoteMessage{from: from}
	return nil
}
func (s *mxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}
func (s *mxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.mx.mu.Lock()
	s.mx.msgs = append(s.mx.msgs, s.cur)
	s.mx.mu.Unlock()
	s.mx.got <- struct{}{}
	return nil
}

// sendingWorld is a whole mailport with a DNS server and a remote MX: the
// zone names remote.test and sender.test as served by the test MX on
// 127.0.0.1, and the server asks that DNS server ([dns] servers) and
// reaches remote MX hosts at the test MX port ([queue] smtp_port).
type sendingWorld struct {
	*testServer
	zone *dns.Mock
	mx   *testMX
}

func startSendingWorld(t *testing.T, configure func(*config.Config), mailboxes ...string) *sendingWorld {
	t.Helper()
	zone := &dns.Mock{}
	for _, d := range []string{"remote.test", "sender.test"} {
		zone.AddMX(d, "mx."+d, 10)
		zone.AddIP("mx."+d, "127.0.0.1")
	}
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	mx := startTestMX(t)
	ts := startServer(t, func(c *config.Config) {
		c.DNS.Servers = []string{dsrv.Addr}
		c.Queue.SMTPPort = mx.port
		if configure != nil {
			configure(c)
		}
	}, mailboxes...)
	return &sendingWorld{testServer: ts, zone: zone, mx: mx}
}

// publishDKIM generates a key for domain and puts its records in the zone.
func (w *sendingWorld) publishDKIM(t *testing.T, domain string) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.Directory.GenerateDKIM(ctx, domain, "ed25519", "s1"); err != nil {
		t.Fatal(err)
	}
	recs, err := w.Directory.DKIMRecords(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == "TXT" {
			w.zone.AddTXT(r.Name, r.Value)
		}
	}
}

// inbox returns the stored messages of a mailbox's INBOX, in full.
func (w *sendingWorld) inbox(t *testing.T, addr string) []string {
	t.Helper()
	ctx := context.Background()
	a, err := w.Store.GetAccountByAddress(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := w.Store.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := w.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, w.read(t, m))
	}
	return out
}

func (w *sendingWorld) read(t *testing.T, m store.Message) string {
	t.Helper()
	f, err := w.Blobs.Open(m.BlobID)
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

// smtpSession opens a raw SMTP session and says EHLO.
func smtpSession(t *testing.T, addr string) *lineConn {
	t.Helper()
	c := dialLine(t, addr)
	c.expect("", "220")
	c.expect("EHLO client.sender.test", "250")
	return c
}

// data sends DATA, the message (dot-stuffing not needed for the test
// messages) and the terminator, requiring the final reply prefix.
func (c *lineConn) data(msg, prefix string) []string {
	c.t.Helper()
	c.expect("DATA", "354")
	c.send(msg)
	if !strings.HasSuffix(msg, "\r\n") {
		c.send("\r\n")
	}
	return c.expect(".", prefix)
}

// dialLineConn wraps an established connection (implicit TLS) as a
// lineConn.
func dialLineConn(t *testing.T, conn net.Conn) *lineConn {
	t.Helper()
	t.Cleanup(func() { conn.Close() })
	return &lineConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}
