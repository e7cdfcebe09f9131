package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// dialTimeout bounds one connection attempt to a configured server, so a
// dead server costs one attempt and the resolver moves on to the next.
const dialTimeout = 5 * time.Second

// downFor is how long a server that failed is passed over while another
// one is available.
const downFor = 30 * time.Second

// NewResolver returns the resolver mailport uses for real lookups. With no
// servers it is the system's resolver (/etc/resolv.conf, /etc/hosts). With
// servers ("host:port", as in mailport.toml [dns] servers) every query goes
// to those servers instead, tried in turn like resolv.conf nameservers: the
// first one that has not failed lately is asked, and a server whose
// connection fails (refused, timed out) is passed over for a while, so the
// Go resolver's retry reaches the next one. Either way it is the Go
// resolver that asks, over connections that show a Cache the TTLs of the
// answers (conn.go).
func NewResolver(servers []string) Resolver {
	if len(servers) == 0 {
		return &netResolver{r: &net.Resolver{PreferGo: true, Dial: dialSystem}}
	}
	l := &serverList{addrs: append([]string(nil), servers...), downUntil: make([]time.Time, len(servers))}
	return &netResolver{r: &net.Resolver{PreferGo: true, Dial: l.dial}}
}

// serverList picks the DNS server each new connection of the Go resolver
// goes to.
type serverList struct {
	addrs []string

	mu        sync.Mutex
	downUntil []time.Time
}

// dialSystem connects to the server the Go resolver took from
// resolv.conf.
func dialSystem(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dns: dial %s %s: %w", network, addr, err)
	}
	return wrapConn(ctx, conn, nil), nil
}

// pick returns the first server not marked down, or, when all are, the one
// that comes back soonest.
func (l *serverList) pick(skip map[int]bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	best := -1
	for i := range l.addrs {
		if skip[i] {
			continue
		}
		if !now.Before(l.downUntil[i]) {
			return i
		}
		if best < 0 || l.downUntil[i].Before(l.downUntil[best]) {
			best = i
		}
	}
	return best
}

func (l *serverList) markDown(i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.downUntil[i] = time.Now().Add(downFor)
}

// dial ignores the address the Go resolver took from resolv.conf and
// connects to our servers instead.
func (l *serverList) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var errs []error
	tried := map[int]bool{}
	for {
		i := l.pick(tried)
		if i < 0 {
			return nil, fmt.Errorf("dns: no server reachable: %w", errors.Join(errs...))
		}
		tried[i] = true
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, network, l.addrs[i])
		if err == nil {
			return wrapConn(ctx, conn, func() { l.markDown(i) }), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dns: dial %s %s: %w", network, l.addrs[i], err)
		}
		l.markDown(i)
		errs = append(errs, fmt.Errorf("dial %s %s: %w", network, l.addrs[i], err))
	}
}

// netResolver adapts *net.Resolver to Resolver: "no such host" becomes
// ErrNotFound, and MX, TXT and PTR names are made fully qualified so
// resolv.conf search domains never apply to mail domains. Address lookups
// keep the name without the root dot, because the Go resolver matches
// /etc/hosts entries (a smarthost, localhost) only in that form; a name
// with a dot is still tried as absolute first (resolv.conf ndots).
type netResolver struct {
	r *net.Resolver
}

func (n *netResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mxs, err := n.r.LookupMX(ctx, fqdn(name))
	// The Go resolver drops malformed MX hosts and reports an error beside
	// the valid ones; the valid ones are still usable (RFC 5321 section 5.1
	// only asks that some MX be reachable).
	if err != nil && len(mxs) == 0 {
		return nil, mapError("MX", name, err)
	}
	if len(mxs) == 0 {
		return nil, notFound("MX", name)
	}
	return mxs, nil
}

func (n *netResolver) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	ips, err := n.r.LookupIP(ctx, "ip", strings.TrimSuffix(name, "."))
	if err != nil {
		return nil, mapError("A/AAAA", name, err)
	}
	if len(ips) == 0 {
		return nil, notFound("A/AAAA", name)
	}
	return ips, nil
}

func (n *netResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := n.r.LookupTXT(ctx, fqdn(name))
	if err != nil {
		return nil, mapError("TXT", name, err)
	}
	if len(txts) == 0 {
		return nil, notFound("TXT", name)
	}
	return txts, nil
}

// LookupSRV looks up the SRV records at name itself (RFC 2782), such as
// "_imaps._tcp.example.test", in the order RFC 2782 gives: by priority,
// then randomly by weight. dns.Resolver does not ask for it, since mail
// delivery needs none; the DNS records check does (dnsrecords.SRVResolver).
func (n *netResolver) LookupSRV(ctx context.Context, name string) ([]*net.SRV, error) {
	// With service and proto empty the Go resolver asks for name as is.
	_, srvs, err := n.r.LookupSRV(ctx, "", "", fqdn(name))
	// As for MX, records with malformed targets are dropped with an error
	// beside the valid ones, which still count.
	if err != nil && len(srvs) == 0 {
		return nil, mapError("SRV", name, err)
	}
	// A target of "." (RFC 2782: the service is decidedly not available
	// here) is returned as it is, for the caller to judge.
	if len(srvs) == 0 {
		return nil, notFound("SRV", name)
	}
	return srvs, nil
}

func (n *netResolver) LookupAddr(ctx context.Context, ip string) ([]string, error) {
	names, err := n.r.LookupAddr(ctx, ip)
	if err != nil && len(names) == 0 {
		return nil, mapError("PTR", ip, err)
	}
	if len(names) == 0 {
		return nil, notFound("PTR", ip)
	}
	return names, nil
}

// fqdn appends the root label so the Go resolver asks for exactly this
// name.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

func notFound(kind, name string) error {
	return fmt.Errorf("dns: lookup %s %s: %w", kind, name, ErrNotFound)
}

// mapError turns NXDOMAIN and NODATA (net.DNSError.IsNotFound) into
// ErrNotFound and keeps every other error as it is: those are temporary
// for callers (SERVFAIL, timeouts, refused connections).
func mapError(kind, name string, err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return notFound(kind, name)
	}
	return fmt.Errorf("dns: lookup %s %s: %w", kind, name, err)
}
