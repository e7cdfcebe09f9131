package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	testIndex = `<!doctype html><html><head><script type="module" src="/assets/index-AbC123.js"></script></head><body><div id="app"></div></body></html>`
)

// testJS is long and repetitive enough to be served compressed.
var testJS = strings.Repeat("console.log('mailport portal');\n", 64)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(testIndex)},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-AbC123.js":  {Data: []byte(testJS)},
		"assets/style-XyZ789.css": {Data: []byte("body{margin:0}")},
		"assets/_chunk-Q1w2E3.js": {Data: []byte("export const x=1;")},
	}
}

func newTestHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	return h
}

func do(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServe(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		name        string
		method      string
		target      string
		status      int
		body        string // exact body; "" means not checked
		contentType string
		cache       string
	}{
		{"root is index", "GET", "/", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"index by name", "GET", "/index.html", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"hashed script", "GET", "/assets/index-AbC123.js", 200, testJS, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"hashed stylesheet", "GET", "/assets/style-XyZ789.css", 200, "body{margin:0}", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"underscore chunk is embedded", "GET", "/assets/_chunk-Q1w2E3.js", 200, "export const x=1;", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"unhashed public file revalidates", "GET", "/favicon.svg", 200, `<svg xmlns="http://www.w3.org/2000/svg"/>`, "image/svg+xml", "no-cache"},
		{"SPA page", "GET", "/dashboard", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"SPA page with a dot (domain name)", "GET", "/domains/example.test", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"SPA deep page with query", "GET", "/mailboxes/a@example.test/edit?tab=2", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"dot segments are cleaned", "GET", "/assets/../index.html", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"HEAD has headers, no body", "HEAD", "/", 200, "", "text/html; charset=utf-8", "no-cache"},
		{"missing asset is 404, not index", "GET", "/assets/index-Gone99.js", 404, "", "text/plain; charset=utf-8", ""},
		{"assets directory is 404", "GET", "/assets/", 404, "", "text/plain; charset=utf-8", ""},
		{"well-known is not the app", "GET", "/.well-known/mta-sts.txt", 404, "", "text/plain; charset=utf-8", ""},
		{"well-known directory is not the app", "GET", "/.well-known", 404, "", "text/plain; charset=utf-8", ""},
		{"a page that only starts like assets", "GET", "/assetsmanager", 200, testIndex, "text/html; charset=utf-8", "no-cache"},
		{"POST is 405", "POST", "/", 405, "", "text/plain; charset=utf-8", ""},
		{"DELETE on a page is 405", "DELETE", "/dashboard", 405, "", "text/plain; charset=utf-8", ""},
		{"unknown API endpoint is a JSON 404", "GET", "/api/v1/nonexistent", 404, `{"error":{"code":"not_found","message":"no such API endpoint"}}`, "application/json", "no-store"},
		{"unknown API endpoint, POST", "POST", "/api/v2/session", 404, "", "application/json", "no-store"},
		{"bare /api", "GET", "/api", 404, "", "application/json", "no-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, tc.method, tc.target, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body.String())
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Errorf("body %q, want %q", rec.Body.String(), tc.body)
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", rec.Body.Len())
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), "GET, HEAD")
			}
			if tc.contentType == "application/json" {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "not_found" || e.Error.Message == "" {
					t.Errorf("API 404 body %q is not the API error shape (err %v)", rec.Body.String(), err)
				}
			}
		})
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newTestHandler(t)
	want := map[string]string{
		"Content-Security-Policy":    ContentSecurityPolicy,
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "same-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for _, c := range []struct{ method, target string }{
		{"GET", "/"},
		{"GET", "/assets/index-AbC123.js"},
		{"GET", "/some/page"},
		{"GET", "/assets/missing.js"},
		{"GET", "/api/v1/nope"},
		{"PUT", "/"},
	} {
		rec := do(h, c.method, c.target, nil)
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.target, k, got, v)
			}
		}
	}
	for _, directive := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, directive) {
			t.Errorf("CSP %q lacks %q", ContentSecurityPolicy, directive)
		}
	}
}

func TestGzip(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		acceptEncoding string
		gzip           bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"*", true},
		{"gzip;q=0", false},
		{"gzip;q=0.000", false},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"br", false},
		{"gzip;q=bogus", false},
		{"gzip;q=2", false},
		{"deflate;level=1, gzip ; q=0.5", true},
	}
	for _, tc := range tests {
		t.Run(tc.acceptEncoding, func(t *testing.T) {
			rec := do(h, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": tc.acceptEncoding})
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q lacks Accept-Encoding", rec.Header().Get("Vary"))
			}
			gotGzip := rec.Header().Get("Content-Encoding") == "gzip"
			if gotGzip != tc.gzip {
				t.Fatalf("Content-Encoding %q, want gzip=%v", rec.Header().Get("Content-Encoding"), tc.gzip)
			}
			body := rec.Body.Bytes()
			if gotGzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip header: %v", err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("gunzip: %v", err)
				}
				if rec.Body.Len() >= len(testJS) {
					t.Errorf("compressed body %d bytes, original %d", rec.Body.Len(), len(testJS))
				}
			}
			if string(body) != testJS {
				t.Errorf("decoded body differs from the file")
			}
		})
	}

	// Small files are not worth a second representation.
	rec := do(h, "GET", "/assets/style-XyZ789.css", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Vary") != "" {
		t.Errorf("tiny file: Content-Encoding %q Vary %q, want neither", rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
	}
}

func TestConditionalRequests(t *testing.T) {
	h := newTestHandler(t)
	for _, enc := range []string{"", "gzip"} {
		first := do(h, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": enc})
		etag := first.Header().Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{24}(-gz)?"$`).MatchString(etag) {
			t.Fatalf("encoding %q: ETag %q is not a strong validator", enc, etag)
		}
		again := do(h, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("encoding %q: If-None-Match %s answered %d with %d bytes, want 304 and none", enc, etag, again.Code, again.Body.Len())
		}
	}
	plain := do(h, "GET", "/assets/index-AbC123.js", nil).Header().Get("ETag")
	zipped := do(h, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "gzip"}).Header().Get("ETag")
	if plain == zipped {
		t.Errorf("identity and gzip share the ETag %s", plain)
	}
	// index.html revalidates: a stale ETag gets the full page.
	rec := do(h, "GET", "/", map[string]string{"If-None-Match": `"0123456789abcdef01234567"`})
	if rec.Code != 200 || rec.Body.String() != testIndex {
		t.Errorf("stale ETag: %d %q, want the page", rec.Code, rec.Body.String())
	}
	idx := do(h, "GET", "/", nil).Header().Get("ETag")
	if rec := do(h, "GET", "/some/page", map[string]string{"If-None-Match": idx}); rec.Code != http.StatusNotModified {
		t.Errorf("SPA page with the index ETag: %d, want 304", rec.Code)
	}
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	_, err := newHandler(fstest.MapFS{"assets/a.js": {Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Fatalf("newHandler without index.html: err %v, want one naming index.html", err)
	}
}

// TestEmbeddedBuild checks the committed build of web/ui: Handler serves its
// index, and every script and stylesheet the index references is there with
// long caching.
func TestEmbeddedBuild(t *testing.T) {
	h := Handler()
	rec := do(h, "GET", "/", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	index := rec.Body.String()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		index = string(b)
	}
	if !strings.Contains(index, `<div id="app">`) {
		t.Fatalf("embedded index.html has no app element:\n%s", index)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	var scripts int
	for _, m := range refs {
		ref := m[1]
		if !regexp.MustCompile(`-[A-Za-z0-9_-]{8}\.(js|css)$`).MatchString(ref) {
			t.Errorf("asset %s has no content hash in its name", ref)
		}
		if strings.HasSuffix(ref, ".js") {
			scripts++
		}
		rec := do(h, "GET", ref, nil)
		if rec.Code != 200 {
			t.Errorf("GET %s: %d", ref, rec.Code)
			continue
		}
		if got := rec.Header().Get("Cache-Control"); got != cacheImmutable {
			t.Errorf("GET %s: Cache-Control %q", ref, got)
		}
	}
	if scripts == 0 {
		t.Errorf("embedded index.html references no script:\n%s", index)
	}
	// The portal's pages come from the same index.
	if rec := do(h, "GET", "/domains/example.test", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `<div id="app">`) {
		t.Errorf("SPA fallback on the embedded build: %d", rec.Code)
	}
}

// FuzzServe feeds arbitrary paths and Accept-Encoding values through the
// handler: it must answer with one of its statuses and never panic.
func FuzzServe(f *testing.F) {
	f.Add("/", "gzip")
	f.Add("/assets/index-AbC123.js", "gzip;q=0.5, *;q=0")
	f.Add("/api/v1/x", "")
	f.Add("/../../etc/passwd", "x-gzip;q=1e999")
	f.Add("//assets//index-AbC123.js", "*;q=;;,")
	h, err := newHandler(testFS())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p, ae string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		req.Header.Set("Accept-Encoding", ae)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 404:
		default:
			t.Fatalf("path %q Accept-Encoding %q: status %d", p, ae, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Fatalf("path %q: no CSP", p)
		}
	})
}
