package dns_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/dnsrecords"
)

func startServer(t *testing.T, zone *dns.Mock) *dnstest.Server {
	t.Helper()
	srv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// TestResolverAgainstServer runs the real resolver (net.Resolver with
// PreferGo and our Dial) against the in-process DNS server.
func TestResolverAgainstServer(t *testing.T) {
	// An RSA-2048 DKIM key record is about 400 bytes: two character-strings
	// on the wire and more than 512 bytes of answer, so it also exercises
	// the truncation and TCP retry path.
	long := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 600)
	zone := &dns.Mock{}
	zone.AddMX("example.test", "mx1.example.test", 10)
	zone.AddMX("example.test", "mx2.example.test", 20)
	zone.AddMX("nullmx.test", ".", 0)
	zone.AddIP("mx1.example.test", "127.0.0.2", "::1")
	zone.AddTXT("example.test", "v=spf1 ip4:127.0.0.2 -all")
	zone.AddTXT("s1._domainkey.example.test", long)
	zone.AddPTR("127.0.0.2", "mx1.example.test")
	zone.SetFail("servfail.test", errors.New("broken"))
	srv := startServer(t, zone)

	// A dead server first: the resolver moves on to the live one.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()

	for _, servers := range [][]string{{srv.Addr}, {deadAddr, srv.Addr}} {
		r := dns.NewResolver(servers)
		ctx := context.Background()
		t.Run(strings.Join(servers, ","), func(t *testing.T) {
			mxs, err := r.LookupMX(ctx, "Example.Test")
			if err != nil {
				t.Fatal(err)
			}
			if len(mxs) != 2 || mxs[0].Host != "mx1.example.test." || mxs[0].Pref != 10 || mxs[1].Host != "mx2.example.test." {
				t.Fatalf("MX: %+v %+v", mxs[0], mxs[1])
			}

			// RFC 7505 null MX comes through as host ".".
			null, err := r.LookupMX(ctx, "nullmx.test")
			if err != nil || len(null) != 1 || null[0].Host != "." {
				t.Fatalf("null MX: %v, %v", null, err)
			}

			ips, err := r.LookupIP(ctx, "mx1.example.test")
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(ips))
			for i, ip := range ips {
				got[i] = ip.String()
			}
			slices.Sort(got)
			if !slices.Equal(got, []string{"127.0.0.2", "::1"}) {
				t.Fatalf("IP: %v", got)
			}

			txts, err := r.LookupTXT(ctx, "s1._domainkey.example.test")
			if err != nil || len(txts) != 1 || txts[0] != long {
				t.Fatalf("long TXT: %d records, %v", len(txts), err)
			}
			spf, err := r.LookupTXT(ctx, "example.test.")
			if err != nil || !slices.Equal(spf, []string{"v=spf1 ip4:127.0.0.2 -all"}) {
				t.Fatalf("TXT: %q, %v", spf, err)
			}

			names, err := r.LookupAddr(ctx, "127.0.0.2")
			if err != nil || !slices.Equal(names, []string{"mx1.example.test."}) {
				t.Fatalf("PTR: %q, %v", names, err)
			}

			for _, lookup := range []struct {
				name string
				fn   func() error
			}{
				{"NXDOMAIN MX", func() error { _, err := r.LookupMX(ctx, "nowhere.test"); return err }},
				{"NXDOMAIN TXT", func() error { _, err := r.LookupTXT(ctx, "nowhere.test"); return err }},
				{"NXDOMAIN IP", func() error { _, err := r.LookupIP(ctx, "nowhere.test"); return err }},
				{"NODATA TXT", func() error { _, err := r.LookupTXT(ctx, "mx1.example.test"); return err }},
				{"NODATA MX", func() error { _, err := r.LookupMX(ctx, "mx1.example.test"); return err }},
			} {
				if err := lookup.fn(); !errors.Is(err, dns.ErrNotFound) {
					t.Errorf("%s: got %v, want ErrNotFound", lookup.name, err)
				}
			}

			_, err = r.LookupTXT(ctx, "servfail.test")
			if err == nil || errors.Is(err, dns.ErrNotFound) {
				t.Fatalf("SERVFAIL: got %v, want a temporary error", err)
			}
		})
	}
}

func TestSystemResolverIsNetResolver(t *testing.T) {
	// Without servers the resolver must still implement the interface and
	// answer a name every system resolves without the network.
	r := dns.NewResolver(nil)
	ips, err := r.LookupIP(context.Background(), "localhost")
	if err != nil {
		t.Skipf("this machine does not resolve localhost: %v", err)
	}
	if !slices.ContainsFunc(ips, func(ip net.IP) bool { return ip.IsLoopback() }) {
		t.Fatalf("localhost resolved to %v", ips)
	}
}

// TestResolverSRV: SRV records (RFC 2782) through the real resolver,
// which the DNS records check asks as a dnsrecords.SRVResolver.
func TestResolverSRV(t *testing.T) {
	zone := &dns.Mock{}
	zone.AddSRV("_imaps._tcp.example.test", "backup.example.test", 993, 20, 0)
	zone.AddSRV("_imaps._tcp.example.test", "mx.example.test", 993, 10, 5)
	zone.AddSRV("_pop3s._tcp.example.test", ".", 0, 0, 0)
	zone.AddTXT("_submission._tcp.example.test", "not an SRV record")
	zone.SetFail("_submissions._tcp.example.test", errors.New("broken"))
	srv := startServer(t, zone)

	r, ok := dns.NewResolver([]string{srv.Addr}).(dnsrecords.SRVResolver)
	if !ok {
		t.Fatal("the resolver of NewResolver does not look up SRV records")
	}
	ctx := t.Context()
	srvs, err := r.LookupSRV(ctx, "_IMAPS._tcp.example.test")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srvs {
		got = append(got, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
	}
	if want := []string{"10 5 993 mx.example.test.", "20 0 993 backup.example.test."}; !slices.Equal(got, want) {
		t.Errorf("SRV = %v, want %v (by priority)", got, want)
	}
	// RFC 2782: target "." says the service is not offered; it comes
	// through for the caller to judge.
	if none, err := r.LookupSRV(ctx, "_pop3s._tcp.example.test."); err != nil || len(none) != 1 || none[0].Target != "." {
		t.Errorf("SRV with target \".\": %v, %v", none, err)
	}
	for _, name := range []string{"_imap._tcp.nowhere.test", "_submission._tcp.example.test"} {
		if _, err := r.LookupSRV(ctx, name); !errors.Is(err, dns.ErrNotFound) {
			t.Errorf("%s (NXDOMAIN or NODATA): got %v, want ErrNotFound", name, err)
		}
	}
	if _, err := r.LookupSRV(ctx, "_submissions._tcp.example.test"); err == nil || errors.Is(err, dns.ErrNotFound) {
		t.Errorf("SERVFAIL: got %v, want a temporary error", err)
	}
}
