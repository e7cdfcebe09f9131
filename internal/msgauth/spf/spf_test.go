package spf_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/msgauth/spf"
)

func zone() *dns.Mock {
	z := &dns.Mock{}
	z.AddTXT("ip4.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")
	z.AddTXT("soft.test", "v=spf1 ip4:192.0.2.1 ~all")
	z.AddTXT("neutral.test", "v=spf1 ?all")
	z.AddTXT("a.test", "v=spf1 a -all")
	z.AddIP("a.test", "198.51.100.7")
	z.AddTXT("amask.test", "v=spf1 a:host.a.test/24 -all")
	z.AddIP("host.a.test", "198.51.100.200")
	z.AddTXT("mx.test", "v=spf1 mx -all")
	z.AddMX("mx.test", "mail.mx.test", 10)
	z.AddIP("mail.mx.test", "203.0.113.25")
	z.AddTXT("include.test", "v=spf1 include:ip4.test include:a.test -all")
	z.AddTXT("redirect.test", "v=spf1 redirect=mx.test")
	z.AddTXT("helo.test", "v=spf1 ip4:203.0.113.9 -all")
	z.AddTXT("multi.test", "v=spf1 -all", "v=spf1 +all")
	z.AddTXT("bad.test", "v=spf1 ip4:not-an-ip -all")
	z.AddTXT("unrelated.test", "google-site-verification=abc")
	z.AddTXT("tempinclude.test", "v=spf1 include:broken.test -all")
	z.SetFail("broken.test", errors.New("servfail"))
	z.AddTXT("loop.test", "v=spf1 include:loop.test -all")
	// DNS holds internationalized names as A-labels: bücher.test.
	z.AddTXT("xn--bcher-kva.test", "v=spf1 ip4:192.0.2.0/24 -all")
	return z
}

func TestCheck(t *testing.T) {
	z := zone()
	tests := []struct {
		name     string
		ip       string
		helo     string
		mailFrom string
		want     spf.Result
	}{
		{"ip4 pass", "192.0.2.55", "client.test", "alice@ip4.test", spf.Pass},
		{"ip6 pass", "2001:db8::5", "client.test", "alice@ip4.test", spf.Pass},
		{"ip4 -all fail", "198.51.100.1", "client.test", "alice@ip4.test", spf.Fail},
		{"~all softfail", "198.51.100.1", "client.test", "alice@soft.test", spf.SoftFail},
		{"?all neutral", "198.51.100.1", "client.test", "alice@neutral.test", spf.Neutral},
		{"a pass", "198.51.100.7", "client.test", "x@a.test", spf.Pass},
		{"a fail", "198.51.100.8", "client.test", "x@a.test", spf.Fail},
		{"a with domain and cidr", "198.51.100.1", "client.test", "x@amask.test", spf.Pass},
		{"mx pass", "203.0.113.25", "client.test", "x@mx.test", spf.Pass},
		{"mx fail", "203.0.113.26", "client.test", "x@mx.test", spf.Fail},
		{"include first", "192.0.2.3", "client.test", "x@include.test", spf.Pass},
		{"include second", "198.51.100.7", "client.test", "x@include.test", spf.Pass},
		{"include no match", "203.0.113.1", "client.test", "x@include.test", spf.Fail},
		{"redirect pass", "203.0.113.25", "client.test", "x@redirect.test", spf.Pass},
		{"redirect fail", "203.0.113.1", "client.test", "x@redirect.test", spf.Fail},
		{"no record", "192.0.2.1", "client.test", "x@nowhere.test", spf.None},
		{"no SPF among TXT", "192.0.2.1", "client.test", "x@unrelated.test", spf.None},
		{"case-insensitive domain", "192.0.2.55", "client.test", "alice@IP4.Test", spf.Pass},
		{"two records", "192.0.2.1", "client.test", "x@multi.test", spf.PermError},
		{"syntax error", "192.0.2.1", "client.test", "x@bad.test", spf.PermError},
		{"include loop", "192.0.2.1", "client.test", "x@loop.test", spf.PermError},
		{"DNS failure", "192.0.2.1", "client.test", "x@broken.test", spf.TempError},
		{"DNS failure in include", "192.0.2.1", "client.test", "x@tempinclude.test", spf.TempError},
		// RFC 7208 section 2.4: a null reverse-path uses the HELO identity.
		{"null sender, HELO pass", "203.0.113.9", "helo.test", "", spf.Pass},
		{"null sender, HELO fail", "203.0.113.10", "helo.test", "", spf.Fail},
		{"null sender, HELO literal", "203.0.113.10", "[203.0.113.10]", "", spf.None},
		{"null sender, single-label HELO", "203.0.113.10", "localhost", "", spf.None},
		// RFC 8616 section 4: a U-label identity (SMTPUTF8) is checked as
		// its A-labels, in MAIL FROM and in HELO.
		{"U-label MAIL FROM pass", "192.0.2.1", "client.test", "jürgen@Bücher.test", spf.Pass},
		{"U-label MAIL FROM fail", "198.51.100.1", "client.test", "jürgen@bücher.test", spf.Fail},
		{"null sender, U-label HELO pass", "192.0.2.1", "bücher.test", "", spf.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why, err := spf.Check(context.Background(), net.ParseIP(tc.ip), tc.helo, tc.mailFrom, z)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %s (%s), want %s", got, why, tc.want)
			}
			if why == "" {
				t.Fatal("empty explanation")
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	if _, _, err := spf.Check(context.Background(), nil, "h.test", "a@ip4.test", zone()); err == nil {
		t.Fatal("nil IP accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, _, err := spf.Check(ctx, net.ParseIP("192.0.2.1"), "h.test", "a@ip4.test", zone())
	if res != spf.TempError || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %s, %v", res, err)
	}
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct{ helo, from, domain, sender string }{
		{"mx.client.test", "bob@Example.TEST", "example.test", "bob@example.test"},
		{"mx.client.test", "", "mx.client.test", "postmaster@mx.client.test"},
		// RFC 8616 section 4: U-labels are checked as their A-labels.
		{"mx.client.test", "Jürgen@Bücher.example", "xn--bcher-kva.example", "Jürgen@xn--bcher-kva.example"},
		{"mail.Bücher.example", "", "mail.xn--bcher-kva.example", "postmaster@mail.xn--bcher-kva.example"},
		{"[192.0.2.1]", "", "[192.0.2.1]", "postmaster@[192.0.2.1]"},
	} {
		d, s := spf.Identity(tc.helo, tc.from)
		if d != tc.domain || s != tc.sender {
			t.Errorf("Identity(%q, %q) = %q, %q", tc.helo, tc.from, d, s)
		}
	}
}
