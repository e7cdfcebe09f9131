package dns

import (
	"context"
	"sync"

	mdns "github.com/miekg/dns"
)

// net.Resolver returns records without their TTLs. To cache by the TTLs
// the servers give, the Cache puts a ttlRecorder in the context of each
// lookup it makes; the Go resolver passes that context (values included)
// to our Dial, and the connections Dial returns show the recorder every
// DNS response they read for the lookup (conn.go).

type recorderKey struct{}

// ttlRecorder collects how long the answers to one lookup may be cached:
// the least of the TTLs of the responses it was shown.
type ttlRecorder struct {
	mu   sync.Mutex
	seen bool // a response with a usable TTL arrived
	bad  bool // a response arrived that forbids caching the lookup
	ttl  uint32
}

func withTTLRecorder(ctx context.Context) (context.Context, *ttlRecorder) {
	rec := &ttlRecorder{}
	return context.WithValue(ctx, recorderKey{}, rec), rec
}

// recorderFrom returns the lookup's recorder, or nil when the lookup was
// not made by a Cache.
func recorderFrom(ctx context.Context) *ttlRecorder {
	rec, _ := ctx.Value(recorderKey{}).(*ttlRecorder)
	return rec
}

// observe reads one DNS response in wire format.
func (r *ttlRecorder) observe(wire []byte) {
	var m mdns.Msg
	err := m.Unpack(wire)
	if m.Truncated {
		// The resolver asks again over TCP (RFC 1035 section 4.2.1);
		// that answer counts.
		return
	}
	ttl, cacheable := responseTTL(&m)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil || !cacheable:
		// An answer the recorder cannot judge may still have been used.
		r.bad = true
	case m.Rcode != mdns.RcodeSuccess && m.Rcode != mdns.RcodeNameError:
		// SERVFAIL or REFUSED: the resolver tries another server, and an
		// error result is never cached.
	case !r.seen || ttl < r.ttl:
		r.seen = true
		r.ttl = ttl
	}
}

// result says for how many seconds the lookup's answer may be kept; ok is
// false when no response showed a TTL (/etc/hosts answered, or a Mock) or
// one forbade caching.
func (r *ttlRecorder) result() (ttl uint32, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ttl, r.seen && !r.bad
}

// responseTTL is how long m may be cached. A positive answer lives as long
// as its shortest record, CNAMEs of the chain included (RFC 2181 section
// 5.2 gives one TTL to an RRset; the chain breaks at its first expiry).
// A negative answer, NXDOMAIN or NODATA, lives min(SOA TTL, SOA MINIMUM)
// of the SOA in its authority section, and without an SOA it must not be
// cached at all (RFC 2308 sections 3 and 5).
func responseTTL(m *mdns.Msg) (ttl uint32, cacheable bool) {
	if m.Rcode != mdns.RcodeSuccess && m.Rcode != mdns.RcodeNameError {
		return 0, true
	}
	if m.Rcode == mdns.RcodeSuccess && len(m.Answer) > 0 {
		ttl = m.Answer[0].Header().Ttl
		for _, rr := range m.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
		return ttl, true
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*mdns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl), true
		}
	}
	return 0, false
}
