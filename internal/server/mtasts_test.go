package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/config"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/mtasts"
	"mailport/internal/queue"
	"mailport/internal/testutil"
)

const testHostname = "mx.server.test"

// startTestServer initializes a data directory and starts a whole
// mailport with every listener on a free loopback port.
func startTestServer(t *testing.T, configure func(*config.Config), opts ...Option) *Server {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config.Default(testHostname)
	cfg.Listeners = map[string]string{}
	for name := range config.StandardPorts {
		cfg.Listeners[name] = "127.0.0.1:0"
	}
	if configure != nil {
		configure(&cfg)
	}
	if err := Init(ctx, dir, cfg, "admin-Secret-1234"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// Our own policy is served for mta-sts.DOMAIN of hosted domains and
// domain aliases, matches the id `mailport dns` publishes, and nothing is
// served for other hosts.
func TestMTASTSPolicyServed(t *testing.T) {
	s := startTestServer(t, nil)
	ctx := context.Background()
	if _, err := s.Directory.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Directory.AddDomainAlias(ctx, "alias.test", "example.test"); err != nil {
		t.Fatal(err)
	}
	want := dnsrecords.MTASTSPolicy(testHostname, "")
	recs := dnsrecords.Required("example.test", dnsrecords.Server{Hostname: testHostname}, nil, dnsrecords.Options{})
	var published string
	for _, r := range recs {
		if r.Kind == dnsrecords.KindMTASTS {
			published = r.Value
		}
	}
	rec, err := mtasts.ParseRecord(published)
	if err != nil {
		t.Fatalf("published record %q: %v", published, err)
	}

	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	cases := []struct {
		host   string
		status int
	}{
		{"mta-sts.example.test", 200},
		{"MTA-STS.Example.Test.", 200},
		{"mta-sts.example.test:443", 200},
		{"mta-sts.alias.test", 200},
		{"mta-sts.other.test", 404},
		{"example.test", 404},
		{"mta-sts.", 404},
		{"mta-sts.a..b", 404},
		{testHostname, 404},
	}
	for _, listener := range []string{"http", "https"} {
		scheme := listener
		client := http.DefaultClient
		if listener == "https" {
			client = httpsClient
		}
		for _, tc := range cases {
			t.Run(listener+" "+tc.host, func(t *testing.T) {
				req, err := http.NewRequest("GET", scheme+"://"+s.Addr(listener)+"/.well-known/mta-sts.txt", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = tc.host
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
				}
				if tc.status != 200 {
					return
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q", ct)
				}
				if string(body) != want {
					t.Fatalf("body %q, want %q", body, want)
				}
				p, err := mtasts.ParsePolicy(string(body))
				if err != nil || p.Mode != mtasts.ModeTesting || !p.Matches(testHostname) {
					t.Fatalf("served policy %+v, %v", p, err)
				}
				if dnsrecords.MTASTSID(string(body)) != rec.ID {
					t.Fatalf("served policy has id %s, DNS publishes %s", dnsrecords.MTASTSID(string(body)), rec.ID)
				}
			})
		}
	}
	// Only GET (and HEAD) are answered.
	resp, err := http.Post("http://"+s.Addr("http")+"/.well-known/mta-sts.txt", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
}

// recordingMX is a plain SMTP server (no STARTTLS) that records the
// recipients it accepted.
type recordingMX struct {
	port  int
	mu    sync.Mutex
	rcpts []string
}

func startRecordingMX(t *testing.T) *recordingMX {
	t.Helper()
	mx := &recordingMX{}
	srv := smtp.NewServer(mx)
	srv.Domain = "mx.remote.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mx
}

func (m *recordingMX) NewSession(*smtp.Conn) (smtp.Session, error) { return &mxSession{mx: m}, nil }

func (m *recordingMX) received() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.rcpts...)
}

type mxSession struct {
	mx    *recordingMX
	rcpts []string
}

func (s *mxSession) Reset()                               { s.rcpts = nil }
func (s *mxSession) Logout() error                        { return nil }
func (s *mxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *mxSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.mx.mu.Lock()
	s.mx.rcpts = append(s.mx.rcpts, s.rcpts...)
	s.mx.mu.Unlock()
	return nil
}

// policyServer is an HTTPS server with a certificate for the mta-sts
// hosts of the given domains, answering each with its policy text.
func policyServer(t *testing.T, policies map[string]string) *http.Client {
	t.Helper()
	var names []string
	for d := range policies {
		names = append(names, "mta-sts."+d)
	}
	cert, roots := testutil.Cert(t, names...)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := policies[strings.TrimPrefix(r.Host, "mta-sts.")]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, p)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// The queue of a running server fetches and enforces recipient domains'
// MTA-STS policies: an enforce policy that does not name the MX keeps the
// message queued (4.7.5), one that names it but cannot get verified TLS
// from it (the test MX offers no STARTTLS) does too; a testing policy and
// a domain without policy are delivered.
func TestQueueUsesMTASTS(t *testing.T) {
	mx := startRecordingMX(t)
	zone := &dns.Mock{}
	policies := map[string]string{}
	for _, d := range []string{"wrongmx.test", "notls.test", "testing.test", "nopolicy.test"} {
		zone.AddMX(d, "mx."+d, 10)
		zone.AddIP("mx."+d, "127.0.0.1")
	}
	for d, p := range map[string]*mtasts.Policy{
		"wrongmx.test": {Mode: mtasts.ModeEnforce, MX: []string{"other.wrongmx.test"}, MaxAge: time.Hour},
		"notls.test":   {Mode: mtasts.ModeEnforce, MX: []string{"*.notls.test"}, MaxAge: time.Hour},
		"testing.test": {Mode: mtasts.ModeTesting, MX: []string{"other.testing.test"}, MaxAge: time.Hour},
	} {
		zone.AddTXT("_mta-sts."+d, "v=STSv1; id=1")
		policies[d] = p.Text()
	}
	client := policyServer(t, policies)
	s := startTestServer(t, func(c *config.Config) { c.Queue.SMTPPort = mx.port },
		WithResolver(zone), WithMTASTSClient(client))
	ctx := context.Background()
	ids := map[string]string{}
	for _, d := range []string{"wrongmx.test", "notls.test", "testing.test", "nopolicy.test"} {
		id, err := s.Queue().Enqueue(ctx, "sender@example.test", []string{"user@" + d}, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids[d] = id
	}
	// Wait until every entry had its first round.
	deadline := time.Now().Add(30 * time.Second)
	for _, d := range []string{"wrongmx.test", "notls.test"} {
		for {
			e, err := s.Queue().Get(ctx, ids[d])
			if err != nil {
				t.Fatalf("%s: %v", d, err)
			}
			if e.Attempts > 0 {
				r := e.Recipients[0]
				if r.State != queue.Pending {
					t.Fatalf("%s: recipient %+v, want pending", d, r)
				}
				if d == "wrongmx.test" && !strings.Contains(r.LastError, "MTA-STS") {
					t.Errorf("%s: last error %q does not name MTA-STS", d, r.LastError)
				}
				if d == "notls.test" && !strings.Contains(strings.ToLower(r.LastError), "tls") {
					t.Errorf("%s: last error %q does not name TLS", d, r.LastError)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no delivery attempt", d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for {
		got := mx.received()
		if len(got) == 2 {
			if strings.Join(got, ",") != "user@testing.test,user@nopolicy.test" && strings.Join(got, ",") != "user@nopolicy.test,user@testing.test" {
				t.Fatalf("MX received %v", got)
			}
			break
		}
		if len(got) > 2 || time.Now().After(deadline) {
			t.Fatalf("MX received %v, want the testing.test and nopolicy.test recipients only", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
