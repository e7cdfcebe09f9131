package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
)

// Mock is an in-memory zone for tests. Names are matched without regard to
// case or a trailing dot. The maps may be filled directly before use, or
// through the Add methods, which are safe while lookups run. A name with no
// records of the asked type gives ErrNotFound (NODATA or NXDOMAIN); a name
// in Fail gives that error for every lookup.
type Mock struct {
	mu sync.RWMutex

	MX  map[string][]*net.MX
	A   map[string][]net.IP // IPv4 and IPv6 addresses alike
	TXT map[string][]string // one entry per TXT record, strings joined
	PTR map[string][]string // keyed by IP address as net.IP.String gives it
	SRV map[string][]*net.SRV
	// Fail makes every lookup of the name return the error; use
	// ErrNotFound for NXDOMAIN or any other error for SERVFAIL.
	Fail map[string]error
}

var _ Resolver = (*Mock)(nil)

// Normalize is the form Mock keys are compared in: lower case, no trailing
// dot.
func Normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

func lookupMap[V any](m map[string]V, name string) (V, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	// Keys written by hand in tests may carry upper case or a dot.
	for k, v := range m {
		if Normalize(k) == name {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (m *Mock) failure(kind, name string) error {
	err, ok := lookupMap(m.Fail, name)
	if !ok || err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		return notFound(kind, name)
	}
	return fmt.Errorf("dns: lookup %s %s: %w", kind, name, err)
}

// AddMX adds an MX record.
func (m *Mock) AddMX(name, host string, pref uint16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.MX == nil {
		m.MX = map[string][]*net.MX{}
	}
	n := Normalize(name)
	m.MX[n] = append(m.MX[n], &net.MX{Host: host, Pref: pref})
}

// AddIP adds A or AAAA records; it panics on an unparsable address, which
// is a mistake in the test that calls it, never network input.
func (m *Mock) AddIP(name string, addrs ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.A == nil {
		m.A = map[string][]net.IP{}
	}
	n := Normalize(name)
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil {
			panic("dns.Mock.AddIP: bad address " + a)
		}
		m.A[n] = append(m.A[n], ip)
	}
}

// AddTXT adds TXT records, one per value.
func (m *Mock) AddTXT(name string, values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.TXT == nil {
		m.TXT = map[string][]string{}
	}
	n := Normalize(name)
	m.TXT[n] = append(m.TXT[n], values...)
}

// SetTXT replaces the TXT records of a name (nothing left removes them).
func (m *Mock) SetTXT(name string, values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.TXT == nil {
		m.TXT = map[string][]string{}
	}
	n := Normalize(name)
	if len(values) == 0 {
		delete(m.TXT, n)
		return
	}
	m.TXT[n] = append([]string(nil), values...)
}

// AddPTR adds reverse names for an address.
func (m *Mock) AddPTR(ip string, names ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.PTR == nil {
		m.PTR = map[string][]string{}
	}
	key := ip
	if parsed := net.ParseIP(ip); parsed != nil {
		key = parsed.String()
	}
	m.PTR[key] = append(m.PTR[key], names...)
}

// AddSRV adds an SRV record at name (the full owner name, such as
// "_imaps._tcp.example.test").
func (m *Mock) AddSRV(name, target string, port, priority, weight uint16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.SRV == nil {
		m.SRV = map[string][]*net.SRV{}
	}
	n := Normalize(name)
	m.SRV[n] = append(m.SRV[n], &net.SRV{Target: target, Port: port, Priority: priority, Weight: weight})
}

// SetFail makes every lookup of name fail with err; nil clears it.
func (m *Mock) SetFail(name string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail == nil {
		m.Fail = map[string]error{}
	}
	if err == nil {
		delete(m.Fail, Normalize(name))
		return
	}
	m.Fail[Normalize(name)] = err
}

// Exists reports whether the zone holds any record for name, which tells
// NODATA (the name exists) from NXDOMAIN to a server serving this zone.
func (m *Mock) Exists(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := Normalize(name)
	if _, ok := lookupMap(m.MX, n); ok {
		return true
	}
	if _, ok := lookupMap(m.A, n); ok {
		return true
	}
	if _, ok := lookupMap(m.TXT, n); ok {
		return true
	}
	if _, ok := lookupMap(m.SRV, n); ok {
		return true
	}
	return false
}

// Failure returns the configured error for name, or nil.
func (m *Mock) Failure(name string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	err, _ := lookupMap(m.Fail, Normalize(name))
	return err
}

func (m *Mock) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns: lookup MX %s: %w", name, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := Normalize(name)
	if err := m.failure("MX", n); err != nil {
		return nil, err
	}
	mxs, _ := lookupMap(m.MX, n)
	if len(mxs) == 0 {
		return nil, notFound("MX", name)
	}
	out := make([]*net.MX, len(mxs))
	for i, mx := range mxs {
		c := *mx
		out[i] = &c
	}
	// The real resolver sorts by preference (RFC 5321 section 5.1); so does
	// the mock, keeping the insertion order within one preference.
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

func (m *Mock) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns: lookup A/AAAA %s: %w", name, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := Normalize(name)
	if err := m.failure("A/AAAA", n); err != nil {
		return nil, err
	}
	ips, _ := lookupMap(m.A, n)
	if len(ips) == 0 {
		return nil, notFound("A/AAAA", name)
	}
	out := make([]net.IP, len(ips))
	for i, ip := range ips {
		out[i] = slices.Clone(ip)
	}
	return out, nil
}

func (m *Mock) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns: lookup TXT %s: %w", name, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := Normalize(name)
	if err := m.failure("TXT", n); err != nil {
		return nil, err
	}
	txts, _ := lookupMap(m.TXT, n)
	if len(txts) == 0 {
		return nil, notFound("TXT", name)
	}
	return slices.Clone(txts), nil
}

// LookupSRV answers the SRV records of name ordered by priority (RFC
// 2782), and by weight, heaviest first, within one priority where the
// real resolver picks at random, so tests see a stable order.
func (m *Mock) LookupSRV(ctx context.Context, name string) ([]*net.SRV, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns: lookup SRV %s: %w", name, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := Normalize(name)
	if err := m.failure("SRV", n); err != nil {
		return nil, err
	}
	srvs, _ := lookupMap(m.SRV, n)
	if len(srvs) == 0 {
		return nil, notFound("SRV", name)
	}
	out := make([]*net.SRV, len(srvs))
	for i, s := range srvs {
		c := *s
		out[i] = &c
	}
	slices.SortStableFunc(out, func(a, b *net.SRV) int {
		if a.Priority != b.Priority {
			return int(a.Priority) - int(b.Priority)
		}
		return int(b.Weight) - int(a.Weight)
	})
	return out, nil
}

func (m *Mock) LookupAddr(ctx context.Context, ip string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dns: lookup PTR %s: %w", ip, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	key := ip
	if parsed := net.ParseIP(ip); parsed != nil {
		key = parsed.String()
	}
	if err := m.failure("PTR", key); err != nil {
		return nil, err
	}
	names := m.PTR[key]
	if len(names) == 0 {
		return nil, notFound("PTR", ip)
	}
	return slices.Clone(names), nil
}
