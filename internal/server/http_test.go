package server

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"

	"mailport/internal/dns"
	"net/http/httptest"
	"testing"
)

func TestPlainHTTP(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		name, remote, target, httpsPort string
		status                          int
		location                        string
	}{
		{"loopback API", "127.0.0.1:5000", "http://mx.test/api/v1/me", "443", 299, ""},
		{"loopback v6 portal", "[::1]:5000", "http://mx.test/", "443", 299, ""},
		{"remote API redirected", "192.0.2.1:5000", "http://mx.test/api/v1/me?x=1", "443", 301, "https://mx.test/api/v1/me?x=1"},
		{"remote portal on another port", "192.0.2.1:5000", "http://mx.test:10080/login", "10443", 301, "https://mx.test:10443/login"},
		{"remote ACME challenge", "192.0.2.1:5000", "http://mx.test/.well-known/acme-challenge/abc", "443", 299, ""},
		{"remote MTA-STS policy", "192.0.2.1:5000", "http://mta-sts.a.test/.well-known/mta-sts.txt", "443", 299, ""},
		{"remote metrics", "192.0.2.1:5000", "http://mx.test/metrics", "443", 299, ""},
		{"remote healthz", "192.0.2.1:5000", "http://mx.test/healthz", "443", 299, ""},
		{"remote other well-known", "192.0.2.1:5000", "http://mx.test/.well-known/caldav", "443", 301, "https://mx.test/.well-known/caldav"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &plainHTTP{next: next, httpsPort: func() string { return tc.httpsPort }}
			r := httptest.NewRequest("GET", tc.target, nil)
			r.RemoteAddr = tc.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Location") != tc.location {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.status, tc.location)
			}
		})
	}
}

func TestHSTS(t *testing.T) {
	w := httptest.NewRecorder()
	hsts(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "https://mx.test/", nil))
	if got := w.Header().Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Fatalf("HSTS %q", got)
	}
}

// The API and the portal are served on HTTPS (with HSTS) and on plain
// HTTP to loopback clients, and the admin created by Init can log in.
func TestAPIAndPortalServed(t *testing.T) {
	s := startTestServer(t, nil, WithResolver(&dns.Mock{}))
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, base := range []string{"http://" + s.Addr("http"), "https://" + s.Addr("https")} {
		c := http.DefaultClient
		if strings.HasPrefix(base, "https") {
			c = tlsClient
		}
		res, err := c.Post(base+"/api/v1/session", "application/json", strings.NewReader(`{"login":"admin","password":"admin-Secret-1234"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), `"masteradmin"`) {
			t.Fatalf("%s login: %d %s", base, res.StatusCode, body)
		}
		hsts := res.Header.Get("Strict-Transport-Security")
		if strings.HasPrefix(base, "https") != (hsts != "") {
			t.Errorf("%s: HSTS %q", base, hsts)
		}
		for _, path := range []string{"/api/v1/openapi.json", "/"} {
			res, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("%s%s: %d", base, path, res.StatusCode)
			}
		}
		res, err = c.Get(base + "/api/v1/domains")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s anonymous domains: %d %s", base, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}
