package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailport/internal/dns"
)

// MaxPolicySize bounds the policy body read (RFC 8461 section 3.3: senders
// may limit the response; 64 KiB is the size it names).
const MaxPolicySize = 64 << 10

// FetchTimeout bounds one whole policy fetch (connect, TLS, request and
// body) of the default client. RFC 8461 section 3.3 asks for a timeout
// without naming one; a minute covers slow hosts without holding a
// delivery back for long.
const FetchTimeout = time.Minute

// maxHeaderBytes bounds the response header of a policy fetch.
const maxHeaderBytes = 16 << 10

// URL is where the policy of domain is (RFC 8461 section 3.3).
func URL(domain string) string {
	return "https://mta-sts." + strings.TrimSuffix(domain, ".") + "/.well-known/mta-sts.txt"
}

// NewHTTPClient returns the client the cache fetches policies with when it
// is given none. Host names are resolved with r (so mailport.toml [dns]
// servers apply to policy hosts as to MX hosts) and the connection goes to
// port 443 of each address in turn. tlsConfig may be nil (system roots);
// the certificate must be valid for "mta-sts.DOMAIN" either way, since
// RFC 8461 section 3.3 requires an authenticated HTTPS fetch.
func NewHTTPClient(r dns.Resolver, tlsConfig *tls.Config) *http.Client {
	return newHTTPClient(r, tlsConfig, "")
}

// newHTTPClient is NewHTTPClient with the port to connect to replaced
// (port "" keeps the URL's), so tests can point the resolver-based dialer
// at a test server.
func newHTTPClient(r dns.Resolver, tlsConfig *tls.Config, port string) *http.Client {
	var tc *tls.Config
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	d := &resolvingDialer{r: r, port: port, dialer: net.Dialer{Timeout: 30 * time.Second}}
	return &http.Client{
		Transport: &http.Transport{
			// Proxies from the environment are not used: the fetch
			// must reach the domain's own host.
			Proxy:                  nil,
			DialContext:            d.dial,
			TLSClientConfig:        tc,
			TLSHandshakeTimeout:    20 * time.Second,
			ResponseHeaderTimeout:  30 * time.Second,
			MaxResponseHeaderBytes: maxHeaderBytes,
			DisableKeepAlives:      true,
			ForceAttemptHTTP2:      true,
		},
		Timeout:       FetchTimeout,
		CheckRedirect: noRedirects,
	}
}

// noRedirects refuses redirects: RFC 8461 section 3.3, "HTTP 3xx
// redirects MUST NOT be followed".
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// resolvingDialer connects to a host name by asking a dns.Resolver for
// its addresses, so the fetch uses the same resolvers as mail delivery.
type resolvingDialer struct {
	r      dns.Resolver
	port   string
	dialer net.Dialer
}

func (d *resolvingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("mtasts: dial %q: %w", addr, err)
	}
	if d.port != "" {
		port = d.port
	}
	if ip := net.ParseIP(host); ip != nil {
		return d.dialer.DialContext(ctx, network, net.JoinHostPort(host, port))
	}
	ips, err := d.r.LookupIP(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("mtasts: resolve %s: %w", host, err)
	}
	var errs []error
	for _, ip := range ips {
		conn, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("mtasts: connect to %s: %w", host, errors.Join(errs...))
}

// FetchPolicy fetches and parses the policy of domain with client (RFC
// 8461 section 3.3): a GET of URL(domain), answered 200 with media type
// text/plain, no redirects followed (client must refuse them, as
// NewHTTPClient's does), at most MaxPolicySize bytes.
func FetchPolicy(ctx context.Context, client *http.Client, domain string) (*Policy, error) {
	u := URL(domain)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("mtasts: %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mtasts: fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A 3xx lands here too: a redirect is not followed.
		return nil, fmt.Errorf("mtasts: fetch %s: HTTP status %s", u, resp.Status)
	}
	// RFC 8461 section 3.2: the policy is served as "text/plain"
	// (parameters such as charset are allowed).
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("mtasts: fetch %s: content type %q, want text/plain", u, resp.Header.Get("Content-Type"))
	}
	if resp.ContentLength > MaxPolicySize {
		return nil, fmt.Errorf("mtasts: fetch %s: policy of %s bytes is over the %d byte limit", u, strconv.FormatInt(resp.ContentLength, 10), MaxPolicySize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("mtasts: fetch %s: read body: %w", u, err)
	}
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("mtasts: fetch %s: policy is over the %d byte limit", u, MaxPolicySize)
	}
	p, err := ParsePolicy(string(body))
	if err != nil {
		return nil, fmt.Errorf("mtasts: %s: %w", u, err)
	}
	return p, nil
}
