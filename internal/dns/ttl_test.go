package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

func TestResponseTTL(t *testing.T) {
	rr := func(s string) mdns.RR {
		r, err := mdns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	soa := rr("example.test. 600 IN SOA ns.example.test. host.example.test. 1 3600 600 86400 300")
	tests := []struct {
		name      string
		rcode     int
		answer    []mdns.RR
		ns        []mdns.RR
		ttl       uint32
		cacheable bool
	}{
		{"least TTL of the answer, CNAME included", mdns.RcodeSuccess,
			[]mdns.RR{rr("www.example.test. 50 IN CNAME example.test."), rr("example.test. 300 IN A 192.0.2.1")}, nil, 50, true},
		{"NXDOMAIN: SOA minimum below its TTL", mdns.RcodeNameError, nil, []mdns.RR{soa}, 300, true},
		{"NODATA: SOA TTL below its minimum", mdns.RcodeSuccess, nil,
			[]mdns.RR{rr("example.test. 30 IN SOA ns.example.test. host.example.test. 1 3600 600 86400 300")}, 30, true},
		{"NXDOMAIN without SOA", mdns.RcodeNameError, nil, nil, 0, false},
		{"NODATA without SOA", mdns.RcodeSuccess, nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &mdns.Msg{Answer: tt.answer, Ns: tt.ns}
			m.Rcode = tt.rcode
			ttl, ok := responseTTL(m)
			if ttl != tt.ttl || ok != tt.cacheable {
				t.Errorf("got %d, %v; want %d, %v", ttl, ok, tt.ttl, tt.cacheable)
			}
		})
	}
}

// TestRecorder: the least TTL of all responses of a lookup counts (A and
// AAAA), a truncated UDP answer does not (its TCP retry does), a SERVFAIL
// from one server does not stop the next server's answer from counting,
// and a negative answer without an SOA forbids keeping the lookup.
func TestRecorder(t *testing.T) {
	pack := func(m *mdns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	answer := func(ttl uint32) []byte {
		m := new(mdns.Msg)
		m.SetQuestion("example.test.", mdns.TypeA)
		m.Response = true
		a, _ := mdns.NewRR("example.test. 1 IN A 192.0.2.1")
		a.Header().Ttl = ttl
		m.Answer = []mdns.RR{a}
		return pack(m)
	}
	truncated := new(mdns.Msg)
	truncated.SetQuestion("example.test.", mdns.TypeTXT)
	truncated.Truncated = true
	servfail := new(mdns.Msg)
	servfail.SetQuestion("example.test.", mdns.TypeA)
	servfail.Rcode = mdns.RcodeServerFailure
	nxNoSOA := new(mdns.Msg)
	nxNoSOA.SetQuestion("example.test.", mdns.TypeA)
	nxNoSOA.Rcode = mdns.RcodeNameError

	rec := &ttlRecorder{}
	if _, ok := rec.result(); ok {
		t.Fatal("a recorder that saw nothing gives a TTL")
	}
	for _, wire := range [][]byte{pack(truncated), pack(servfail), answer(300), answer(120)} {
		rec.observe(wire)
	}
	if ttl, ok := rec.result(); ttl != 120 || !ok {
		t.Errorf("got %d, %v; want 120, true", ttl, ok)
	}
	rec.observe(pack(nxNoSOA))
	if _, ok := rec.result(); ok {
		t.Error("a negative answer without SOA still allows keeping")
	}
	bad := &ttlRecorder{}
	bad.observe([]byte{1, 2, 3})
	if _, ok := bad.result(); ok {
		t.Error("an unreadable response allows keeping")
	}
}
