// Package dnstest runs a small authoritative DNS server for tests: it
// serves a dns.Mock zone (MX, A, AAAA, TXT, SRV and PTR records) over UDP
// and TCP on 127.0.0.1, so code that takes "[dns] servers" (the real
// resolver, a second mailport instance, Postfix, python3-dkim) can be
// tested against records the test controls.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"

	"mailport/internal/dns"
)

// defaultTTL is short so a test that changes the zone is not fooled by a
// caching peer for long.
const defaultTTL = 1

// soaSerial is the serial of the zone's SOA record; no secondary ever asks.
const soaSerial = 1

// maxTXTString is the longest character-string in a TXT record (RFC 1035
// section 3.3): longer values are split into several strings.
const maxTXTString = 255

// Server is a running test DNS server. Addr is "127.0.0.1:port", the same
// port for UDP and TCP.
type Server struct {
	Addr string
	Zone *dns.Mock

	udp *mdns.Server
	tcp *mdns.Server

	// ttl is the TTL of every answer record and the negative-caching TTL
	// of every NXDOMAIN and NODATA answer (the SOA's TTL and minimum).
	ttl     atomic.Uint32
	queries atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// Start serves zone on 127.0.0.1 at a free port, UDP and TCP. Close stops
// it.
func Start(zone *dns.Mock) (*Server, error) {
	s := &Server{Zone: zone}
	s.ttl.Store(defaultTTL)
	handler := mdns.HandlerFunc(s.serve)

	// UDP takes a free port first; TCP then binds the same number, which a
	// concurrent test may hold, so try a few ports.
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dnstest: listen udp: %w", err)
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = addr
		s.udp = &mdns.Server{PacketConn: pc, Handler: handler}
		s.tcp = &mdns.Server{Listener: ln, Handler: handler}
		if err := startServer(s.udp); err != nil {
			pc.Close()
			ln.Close()
			return nil, err
		}
		if err := startServer(s.tcp); err != nil {
			s.udp.Shutdown()
			ln.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("dnstest: no port free for both udp and tcp: %w", lastErr)
}

// startServer runs srv in a goroutine and returns once it accepts queries.
func startServer(srv *mdns.Server) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return fmt.Errorf("dnstest: serve: %w", err)
	}
}

// Close stops both listeners.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.closeErr = errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
	})
	return s.closeErr
}

// SetTTL makes later answers carry ttl seconds, for records and for
// negative answers alike (1 second until it is called).
func (s *Server) SetTTL(ttl uint32) { s.ttl.Store(ttl) }

// Queries counts the queries the server has answered, over UDP and TCP.
func (s *Server) Queries() int64 { return s.queries.Load() }

func (s *Server) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	s.queries.Add(1)
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if len(req.Question) != 1 {
		resp.Rcode = mdns.RcodeFormatError
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	resp.Rcode = s.answer(resp, q)
	if len(resp.Answer) == 0 && (resp.Rcode == mdns.RcodeSuccess || resp.Rcode == mdns.RcodeNameError) {
		resp.Ns = append(resp.Ns, s.soa(q.Name))
	}

	// Over UDP, answers longer than the client's buffer are truncated
	// (RFC 1035 section 4.2.1, RFC 6891 section 6.2.5) so it retries over
	// TCP; long TXT records such as RSA DKIM keys need that.
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			resp.SetEdns0(opt.UDPSize(), false)
		}
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// answer fills resp with the records for q and returns the response code.
func (s *Server) answer(resp *mdns.Msg, q mdns.Question) int {
	name := q.Name
	hdr := func(rrtype uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: name, Rrtype: rrtype, Class: mdns.ClassINET, Ttl: s.ttl.Load()}
	}
	ctx := context.Background()

	if q.Qtype == mdns.TypePTR {
		ip := reverseIP(name)
		if ip == nil {
			return mdns.RcodeNameError
		}
		names, err := s.Zone.LookupAddr(ctx, ip.String())
		if err != nil {
			return rcodeOf(err)
		}
		for _, n := range names {
			resp.Answer = append(resp.Answer, &mdns.PTR{Hdr: hdr(mdns.TypePTR), Ptr: mdns.Fqdn(n)})
		}
		return mdns.RcodeSuccess
	}

	if err := s.Zone.Failure(name); err != nil {
		return rcodeOf(err)
	}
	var err error
	switch q.Qtype {
	case mdns.TypeMX:
		var mxs []*net.MX
		mxs, err = s.Zone.LookupMX(ctx, name)
		for _, mx := range mxs {
			resp.Answer = append(resp.Answer, &mdns.MX{Hdr: hdr(mdns.TypeMX), Preference: mx.Pref, Mx: mdns.Fqdn(mx.Host)})
		}
	case mdns.TypeA, mdns.TypeAAAA:
		var ips []net.IP
		ips, err = s.Zone.LookupIP(ctx, name)
		for _, ip := range ips {
			if v4 := ip.To4(); v4 != nil && q.Qtype == mdns.TypeA {
				resp.Answer = append(resp.Answer, &mdns.A{Hdr: hdr(mdns.TypeA), A: v4})
			} else if ip.To4() == nil && q.Qtype == mdns.TypeAAAA {
				resp.Answer = append(resp.Answer, &mdns.AAAA{Hdr: hdr(mdns.TypeAAAA), AAAA: ip})
			}
		}
	case mdns.TypeTXT:
		var txts []string
		txts, err = s.Zone.LookupTXT(ctx, name)
		for _, txt := range txts {
			resp.Answer = append(resp.Answer, &mdns.TXT{Hdr: hdr(mdns.TypeTXT), Txt: splitTXT(txt)})
		}
	case mdns.TypeSRV:
		// RFC 2782: priority, weight, port, target.
		var srvs []*net.SRV
		srvs, err = s.Zone.LookupSRV(ctx, name)
		for _, r := range srvs {
			resp.Answer = append(resp.Answer, &mdns.SRV{Hdr: hdr(mdns.TypeSRV), Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: mdns.Fqdn(r.Target)})
		}
	}
	if err != nil && !errors.Is(err, dns.ErrNotFound) {
		return mdns.RcodeServerFailure
	}
	if len(resp.Answer) == 0 && !s.Zone.Exists(name) {
		return mdns.RcodeNameError
	}
	// An existing name without records of this type is NODATA: success
	// with an empty answer (RFC 2308 section 2.2).
	return mdns.RcodeSuccess
}

// soa is the SOA record an authoritative server puts in the authority
// section of an NXDOMAIN or NODATA answer, so resolvers may cache the
// negative answer for min(its TTL, its MINIMUM) (RFC 2308 sections 3 and
// 5). The test server claims every name as its own zone apex.
func (s *Server) soa(name string) mdns.RR {
	ttl := s.ttl.Load()
	return &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: name, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
		Ns:      "ns.dnstest.",
		Mbox:    "hostmaster.dnstest.",
		Serial:  soaSerial,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  ttl,
	}
}

func rcodeOf(err error) int {
	if errors.Is(err, dns.ErrNotFound) {
		return mdns.RcodeNameError
	}
	return mdns.RcodeServerFailure
}

// splitTXT cuts a record value into character-strings of at most 255
// bytes; resolvers join them again (RFC 7208 section 3.3, RFC 6376
// section 3.6.2.2).
func splitTXT(s string) []string {
	if s == "" {
		return []string{""}
	}
	var parts []string
	for len(s) > maxTXTString {
		parts = append(parts, s[:maxTXTString])
		s = s[maxTXTString:]
	}
	return append(parts, s)
}

// reverseIP parses an in-addr.arpa or ip6.arpa name (RFC 1035 section 3.5,
// RFC 3596 section 2.5).
func reverseIP(name string) net.IP {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return nil
		}
		for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
			labels[i], labels[j] = labels[j], labels[i]
		}
		return net.ParseIP(strings.Join(labels, ".")).To4()
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return nil
		}
		var b strings.Builder
		for i := len(nibbles) - 1; i >= 0; i-- {
			if len(nibbles[i]) != 1 {
				return nil
			}
			b.WriteString(nibbles[i])
			if i%4 == 0 && i != 0 {
				b.WriteByte(':')
			}
		}
		return net.ParseIP(b.String())
	}
	return nil
}
