package dns_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"

	"mailport/internal/dns"
)

func TestMock(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("servfail")
	m := &dns.Mock{
		MX: map[string][]*net.MX{
			"Example.TEST.": {{Host: "mx2.example.test", Pref: 20}, {Host: "mx1.example.test", Pref: 10}},
		},
		A:    map[string][]net.IP{"mx1.example.test": {net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")}},
		TXT:  map[string][]string{"example.test": {"v=spf1 -all"}},
		Fail: map[string]error{"broken.test": boom, "gone.test.": dns.ErrNotFound},
	}
	m.AddPTR("192.0.2.1", "mx1.example.test.")
	m.AddTXT("EXAMPLE.test", "second")

	t.Run("MX sorted and case-insensitive", func(t *testing.T) {
		mxs, err := m.LookupMX(ctx, "example.TEST")
		if err != nil {
			t.Fatal(err)
		}
		if len(mxs) != 2 || mxs[0].Host != "mx1.example.test" || mxs[1].Pref != 20 {
			t.Fatalf("got %v %v", mxs[0], mxs[1])
		}
		// The result is a copy: changing it does not change the zone.
		mxs[0].Host = "changed"
		again, _ := m.LookupMX(ctx, "example.test")
		if again[0].Host != "mx1.example.test" {
			t.Fatalf("zone changed through a result: %v", again[0])
		}
	})
	t.Run("IP", func(t *testing.T) {
		ips, err := m.LookupIP(ctx, "MX1.example.test.")
		if err != nil || len(ips) != 2 || !ips[1].Equal(net.ParseIP("2001:db8::1")) {
			t.Fatalf("got %v, %v", ips, err)
		}
	})
	t.Run("TXT from map and AddTXT", func(t *testing.T) {
		txts, err := m.LookupTXT(ctx, "example.test")
		if err != nil || !slices.Equal(txts, []string{"v=spf1 -all", "second"}) {
			t.Fatalf("got %q, %v", txts, err)
		}
	})
	t.Run("PTR", func(t *testing.T) {
		names, err := m.LookupAddr(ctx, "192.0.2.1")
		if err != nil || !slices.Equal(names, []string{"mx1.example.test."}) {
			t.Fatalf("got %q, %v", names, err)
		}
	})
	notFound := []struct {
		name   string
		lookup func() error
	}{
		{"MX of unknown name", func() error { _, err := m.LookupMX(ctx, "nowhere.test"); return err }},
		{"TXT of name without TXT", func() error { _, err := m.LookupTXT(ctx, "mx1.example.test"); return err }},
		{"A of name without A", func() error { _, err := m.LookupIP(ctx, "example.test"); return err }},
		{"PTR unknown", func() error { _, err := m.LookupAddr(ctx, "192.0.2.9"); return err }},
		{"Fail with ErrNotFound", func() error { _, err := m.LookupMX(ctx, "GONE.test"); return err }},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.lookup(); !errors.Is(err, dns.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("Fail is temporary", func(t *testing.T) {
		_, err := m.LookupTXT(ctx, "broken.test")
		if !errors.Is(err, boom) || errors.Is(err, dns.ErrNotFound) {
			t.Fatalf("got %v, want the configured error", err)
		}
		m.SetFail("broken.test", nil)
		if _, err := m.LookupTXT(ctx, "broken.test"); !errors.Is(err, dns.ErrNotFound) {
			t.Fatalf("after clearing: %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := m.LookupTXT(c, "example.test"); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestMockSRV(t *testing.T) {
	ctx := context.Background()
	m := &dns.Mock{}
	m.AddSRV("_imaps._tcp.Example.test.", "c.example.test", 993, 20, 0)
	m.AddSRV("_imaps._tcp.example.test", "b.example.test", 993, 10, 1)
	m.AddSRV("_imaps._tcp.example.test", "a.example.test", 993, 10, 9)
	m.SetFail("_pop3s._tcp.example.test", errors.New("servfail"))

	srvs, err := m.LookupSRV(ctx, "_IMAPS._tcp.example.test")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srvs {
		got = append(got, s.Target)
	}
	if want := []string{"a.example.test", "b.example.test", "c.example.test"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v (priority, then heavier weight first)", got, want)
	}
	srvs[0].Port = 1
	if again, _ := m.LookupSRV(ctx, "_imaps._tcp.example.test"); again[0].Port != 993 {
		t.Errorf("zone changed through a result: %+v", again[0])
	}
	if !m.Exists("_imaps._tcp.example.test") {
		t.Error("a name with only SRV records does not exist")
	}
	if _, err := m.LookupSRV(ctx, "_imap._tcp.example.test"); !errors.Is(err, dns.ErrNotFound) {
		t.Errorf("missing SRV: %v", err)
	}
	if _, err := m.LookupSRV(ctx, "_pop3s._tcp.example.test"); err == nil || errors.Is(err, dns.ErrNotFound) {
		t.Errorf("failing SRV: %v", err)
	}
}
