package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/dns"
	"mailport/internal/testutil"
)

// policyHost is an HTTPS server standing in for the mta-sts.DOMAIN hosts
// of several test domains: its certificate names each of them, and the
// answer for each Host is set by the test.
type policyHost struct {
	srv   *httptest.Server
	roots *x509.CertPool

	mu       sync.Mutex
	answers  map[string]func(w http.ResponseWriter, r *http.Request)
	requests map[string]int
}

const goodPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmx: *.mx.example.test\r\nmax_age: 86400\r\n"

// certDomains are the domains whose mta-sts host the certificate is valid for.
var certDomains = []string{"example.test", "other.test", "a.test", "b.test", "c.test"}

func startPolicyHost(t *testing.T) *policyHost {
	t.Helper()
	var names []string
	for _, d := range certDomains {
		names = append(names, "mta-sts."+d)
	}
	cert, roots := testutil.Cert(t, names...)
	h := &policyHost{roots: roots, answers: map[string]func(http.ResponseWriter, *http.Request){}, requests: map[string]int{}}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *policyHost) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests[r.Host]++
	answer := h.answers[r.Host]
	h.mu.Unlock()
	if answer == nil || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	answer(w, r)
}

// set makes the host of domain answer with status, content type and body.
func (h *policyHost) set(domain string, status int, contentType, body string) {
	h.setFunc(domain, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	})
}

func (h *policyHost) setFunc(domain string, f func(http.ResponseWriter, *http.Request)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answers["mta-sts."+domain] = f
}

func (h *policyHost) count(domain string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests["mta-sts."+domain]
}

// client is how a test injects the HTTP client: every host name is dialed
// at the test server, whose certificate is trusted. Redirects are refused
// as NewHTTPClient does.
func (h *policyHost) client() *http.Client {
	addr := h.srv.Listener.Addr().String()
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: h.roots},
		},
		CheckRedirect: noRedirects,
		Timeout:       10 * time.Second,
	}
}

func TestFetchPolicy(t *testing.T) {
	h := startPolicyHost(t)
	big := "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\n" + "x: " + strings.Repeat("y", MaxPolicySize) + "\n"
	cases := []struct {
		name    string
		setup   func(domain string)
		domain  string
		wantErr string // "" = the good policy
	}{
		{"ok", func(d string) { h.set(d, 200, "text/plain", goodPolicy) }, "example.test", ""},
		{"charset", func(d string) { h.set(d, 200, "text/plain; charset=utf-8", goodPolicy) }, "a.test", ""},
		{"not found", func(d string) { h.set(d, 404, "text/plain", goodPolicy) }, "b.test", "404"},
		{"html", func(d string) { h.set(d, 200, "text/html", goodPolicy) }, "c.test", "content type"},
		{"too large", func(d string) { h.set(d, 200, "text/plain", big) }, "other.test", "limit"},
		{"invalid", func(d string) { h.set(d, 200, "text/plain", "version: STSv1\nmode: enforce\n") }, "example.test", "max_age"},
		{"redirect", func(d string) {
			h.set("other.test", 200, "text/plain", goodPolicy)
			h.setFunc(d, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://mta-sts.other.test/.well-known/mta-sts.txt", http.StatusFound)
			})
		}, "a.test", "302"},
		// The certificate does not name mta-sts.wrong.test.
		{"certificate name", func(d string) { h.set(d, 200, "text/plain", goodPolicy) }, "wrong.test", "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(tc.domain)
			p, err := FetchPolicy(context.Background(), h.client(), tc.domain)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %+v, %v; want an error containing %q", p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != ModeEnforce || len(p.MX) != 2 || p.MaxAge != 24*time.Hour {
				t.Fatalf("policy %+v", p)
			}
		})
	}
	if n := h.count("other.test"); n != 1 {
		t.Errorf("the redirect target was fetched: %d requests to mta-sts.other.test, want 1 (the too-large case)", n)
	}
}

// The default client resolves the policy host through the given resolver
// (mailport's [dns] servers), verifies the certificate against the given
// roots and refuses redirects.
func TestHTTPClientResolves(t *testing.T) {
	h := startPolicyHost(t)
	h.set("example.test", 200, "text/plain", goodPolicy)
	h.setFunc("a.test", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/.well-known/mta-sts.txt", http.StatusMovedPermanently)
	})
	zone := &dns.Mock{}
	zone.AddIP("mta-sts.example.test", "127.0.0.1")
	zone.AddIP("mta-sts.a.test", "127.0.0.1")
	_, port, _ := net.SplitHostPort(h.srv.Listener.Addr().String())
	client := newHTTPClient(zone, &tls.Config{RootCAs: h.roots}, port)
	ctx := context.Background()
	p, err := FetchPolicy(ctx, client, "example.test")
	if err != nil || p.Mode != ModeEnforce {
		t.Fatalf("fetch through the resolver: %+v, %v", p, err)
	}
	if _, err := FetchPolicy(ctx, client, "a.test"); err == nil || !strings.Contains(err.Error(), "301") {
		t.Fatalf("redirect: %v, want the 301 reported", err)
	}
	if h.count("a.test") != 1 {
		t.Fatalf("redirect followed: %d requests", h.count("a.test"))
	}
	if _, err := FetchPolicy(ctx, client, "b.test"); err == nil || !strings.Contains(err.Error(), "resolve") {
		t.Fatalf("unresolvable host: %v", err)
	}
	// Without the test roots the self-signed certificate is refused.
	if _, err := FetchPolicy(ctx, newHTTPClient(zone, nil, port), "example.test"); err == nil {
		t.Fatal("fetch with an untrusted certificate succeeded")
	}
}
