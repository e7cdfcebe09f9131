package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mailport/internal/api"
	"mailport/internal/auth"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/web"
)

// sessionSweepInterval is how often expired portal sessions are deleted.
const sessionSweepInterval = 10 * time.Minute

// hstsMaxAge is one year, as RFC 6797 section 11.2 and common practice
// suggest for a site that is HTTPS-only.
const hstsMaxAge = 365 * 24 * 3600

// startHTTP builds the HTTP side: one mux with /metrics, /healthz, the
// MTA-STS policy, the API and the portal, served as is on HTTPS (with
// HSTS) and on plain HTTP to loopback clients; other plain HTTP clients
// are redirected, except for what must work without TLS.
func (s *Server) startHTTP(authn *auth.Authenticator, resolver dns.Resolver) error {
	cfg := s.Config
	apiHandler, err := api.New(api.Config{
		Directory:  s.Directory,
		Access:     s.Directory.Access(),
		Auth:       authn,
		Queue:      s.queue,
		Resolver:   resolver,
		DNSServer:  dnsServer(s),
		DNSOptions: dnsrecords.Options{MTASTSMode: dnsrecords.DefaultMTASTSMode},
		Settings:   api.SettingsFromConfig(cfg),
		Apply:      s.Apply,
		ConfigDir:  cfg.Dir,
		Logger:     s.Logger,
	})
	if err != nil {
		return err
	}
	s.api = apiHandler
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.Check(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// Our own MTA-STS policy, for Host mta-sts.DOMAIN of hosted domains.
	mux.Handle("GET /.well-known/mta-sts.txt", &mtastsPolicy{dir: s.Directory, hostname: cfg.Hostname, mode: dnsrecords.DefaultMTASTSMode})
	mux.Handle(api.Prefix+"/", apiHandler)
	mux.Handle("/", web.Handler())

	errLog := slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)
	s.http = &http.Server{Handler: &plainHTTP{next: mux, httpsPort: func() string { return portOf(s.Addr("https")) }},
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	s.https = &http.Server{Handler: hsts(mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}

	ctx, stop := context.WithCancel(context.Background())
	s.sweepStop, s.sweepDone = stop, make(chan struct{})
	go s.sweepSessions(ctx)
	return nil
}

// sweepSessions deletes expired portal sessions until ctx ends (they
// are refused when used anyway; this keeps the table small).
func (s *Server) sweepSessions(ctx context.Context) {
	defer close(s.sweepDone)
	t := time.NewTicker(sessionSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Directory.Access().DeleteExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Warn("deleting expired portal sessions", "err", err)
			} else if n > 0 {
				s.Logger.Debug("expired portal sessions deleted", "count", n)
			}
		}
	}
}

// hsts adds Strict-Transport-Security to HTTPS answers (RFC 6797
// section 7.1: only over secure transport).
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age="+strconv.Itoa(hstsMaxAge))
		next.ServeHTTP(w, r)
	})
}

// plainHTTP serves the plain HTTP listener: loopback clients get
// everything (the CLI, local scripts and tests, where nothing crosses a
// network); others only what has to work before or without TLS, and a
// 301 to HTTPS for the rest.
type plainHTTP struct {
	next      http.Handler
	httpsPort func() string
}

// plainAllowed are the paths served to every plain HTTP client: ACME
// HTTP-01 challenges (RFC 8555 section 8.3 requires port 80), the MTA-STS
// policy (RFC 8461 section 3.3 asks for HTTPS, but some fetchers and
// checkers try HTTP first; it is public), and the monitoring endpoints.
func plainAllowed(path string) bool {
	return strings.HasPrefix(path, "/.well-known/acme-challenge/") ||
		path == "/.well-known/mta-sts.txt" || path == "/metrics" || path == "/healthz"
}

func (h *plainHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isLoopback(r.RemoteAddr) || plainAllowed(r.URL.Path) {
		h.next.ServeHTTP(w, r)
		return
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if host == "" || strings.ContainsAny(host, "/@\\ ") {
		http.Error(w, "use HTTPS", http.StatusBadRequest)
		return
	}
	if p := h.httpsPort(); p != "" && p != "443" {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}

// dnsServer is what the DNS records of domains point at: this host and
// the ports of its client services.
func dnsServer(s *Server) dnsrecords.Server {
	port := func(name string) int {
		n, _ := strconv.Atoi(portOf(s.Config.ListenAddr(name)))
		return n
	}
	return dnsrecords.Server{
		Hostname:        s.Config.Hostname,
		SubmissionPort:  port("submission"),
		SubmissionsPort: port("submissions"),
		IMAPSPort:       port("imaps"),
		POP3SPort:       port("pop3s"),
	}
}
