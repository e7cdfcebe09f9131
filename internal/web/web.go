// Package web serves the portal: the built assets of web/ui, committed under
// internal/web/dist and embedded in the binary, so a mailport binary carries
// its own UI and needs no files beside it.
//
// The portal is a single-page app: every path that is not a file, not the
// API and not a well-known URI answers with index.html and the app's router
// shows the page. Built assets have content hashes in their names and are
// cached for a year; index.html is revalidated on every load so a new release
// is picked up at once.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// The "all:" prefix embeds files whose names start with "_" or ".", which
// the bundler may emit for chunks.
//
//go:embed all:dist
var embedded embed.FS

// ContentSecurityPolicy is sent with every response of the portal. The
// portal loads nothing from other origins and uses no inline script or
// style, so 'self' is enough; frame-ancestors 'none' forbids framing
// (clickjacking), which X-Frame-Options repeats for older browsers.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

const (
	// Hashed file names change with their content, so a year (the most
	// RFC 9111 section 5.2.2.1 readers honour in practice) and immutable
	// (RFC 8246) are safe.
	cacheImmutable = "public, max-age=31536000, immutable"
	// RFC 9111 section 5.2.2.4: no-cache lets the browser keep a copy but
	// makes it revalidate (If-None-Match) before every use.
	cacheRevalidate = "no-cache"

	// Files smaller than this gain too little from gzip to be worth the
	// separate representation.
	minGzipSize = 512
)

// asset is one file of the build, held in memory with its precomputed
// headers and, for text types, its gzip form.
type asset struct {
	body         []byte
	gz           []byte // nil when the file is not served compressed
	etag         string // strong ETag of body (RFC 9110 section 8.8.3)
	contentType  string
	cacheControl string
}

type handler struct {
	files map[string]*asset // by URL path: "/index.html", "/assets/index-abc.js"
	index *asset
}

// Handler returns the http.Handler that serves the embedded portal at the
// root of a server. Mount it at "/" below the API routes; requests under
// /api/ that reach it get a JSON 404 in the API's error shape.
//
// Every response carries the security headers (ContentSecurityPolicy,
// X-Content-Type-Options: nosniff, X-Frame-Options: DENY, Referrer-Policy,
// Cross-Origin-Opener-Policy). It answers GET and HEAD only (405 otherwise).
//
// It panics if the embedded build has no index.html: the build is compiled
// into the binary, so that is a broken build, caught by this package's tests,
// never a condition that depends on a request.
func Handler() http.Handler {
	dist, err := fs.Sub(embedded, "dist")
	if err != nil {
		panic(fmt.Sprintf("web: embedded portal: %v", err))
	}
	h, err := newHandler(dist)
	if err != nil {
		panic(fmt.Sprintf("web: embedded portal: %v", err))
	}
	return h
}

// newHandler reads every file of dist into memory. The portal's build is a
// few hundred kilobytes, so holding it (and its gzip form) avoids
// compressing on each request.
func newHandler(dist fs.FS) (*handler, error) {
	h := &handler{files: make(map[string]*asset)}
	err := fs.WalkDir(dist, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		body, err := fs.ReadFile(dist, name)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		urlPath := "/" + name
		a := &asset{
			body:         body,
			etag:         etagOf(body),
			contentType:  contentTypeOf(name),
			cacheControl: cacheRevalidate,
		}
		if strings.HasPrefix(urlPath, "/assets/") {
			a.cacheControl = cacheImmutable
		}
		if compressible(a.contentType) && len(body) >= minGzipSize {
			gz, err := gzipBytes(body)
			if err != nil {
				return fmt.Errorf("compressing %s: %w", name, err)
			}
			if len(gz) < len(body) {
				a.gz = gz
			}
		}
		h.files[urlPath] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading portal files: %w", err)
	}
	h.index = h.files["/index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("portal build has no index.html (run npm run build in web/ui)")
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())

	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)

	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// The API routes are registered before this handler; what reaches
		// here is an unknown endpoint, answered in the API's error shape.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"no such API endpoint"}}`)
		return
	}

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	a := h.files[p]
	if a == nil {
		if !spaPath(p) {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		a = h.index
	}
	serveAsset(w, r, a)
}

// spaPath reports whether an unknown path is a page of the portal (answered
// with index.html) rather than a missing file. A missing hashed asset must be
// a 404: answering it with HTML would make the browser fail to parse a
// script instead of reporting the missing file. Well-known URIs (RFC 8615)
// belong to the server (ACME, MTA-STS), never to the app.
func spaPath(p string) bool {
	for _, dir := range []string{"/assets", "/.well-known"} {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return false
		}
	}
	return true
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cacheControl)
	body, etag := a.body, a.etag
	if a.gz != nil {
		// RFC 9110 section 12.5.5: the answer depends on Accept-Encoding.
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			hdr.Set("Content-Encoding", "gzip")
			body = a.gz
			// A different representation needs a different strong
			// validator (RFC 9110 section 8.8.3).
			etag = strings.TrimSuffix(a.etag, `"`) + `-gz"`
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304, Range, and HEAD. The
	// zero modification time keeps Last-Modified out: embedded files have
	// none, and the ETag is the validator.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// acceptsGzip reads Accept-Encoding (RFC 9110 section 12.5.3): gzip is
// acceptable when listed (or matched by "*") with a non-zero weight.
// "x-gzip" is the same coding (section 8.4.1.3). An explicit gzip entry
// overrides "*".
func acceptsGzip(values []string) bool {
	star, gz := -1.0, -1.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := qvalue(params)
			switch coding {
			case "gzip", "x-gzip":
				gz = max(gz, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// qvalue returns the weight of one Accept-Encoding entry (RFC 9110 section
// 12.4.2): 1 without a q parameter, 0 for a malformed one.
func qvalue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// contentTypeOf maps the bundler's file types to their media types. The
// table is ours rather than mime.TypeByExtension's, which reads the host's
// /etc/mime.types and so could differ between machines.
func contentTypeOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".webp":
		return "image/webp"
	case ".woff2":
		return "font/woff2"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".webmanifest":
		return "application/manifest+json"
	default:
		return "application/octet-stream"
	}
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "application/manifest+json") ||
		strings.HasPrefix(contentType, "image/svg+xml")
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
