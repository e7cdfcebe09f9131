package dmarc_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/msgauth/dmarc"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		txt  string
		want *dmarc.Record // nil: error
	}{
		{"v=DMARC1; p=reject", &dmarc.Record{Policy: "reject", SubdomainPolicy: "reject", ADKIM: "r", ASPF: "r", Percent: 100, FailureOptions: "0", ReportFormat: "afrf", ReportInterval: 86400}},
		{"v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=S;pct=20;rua=mailto:agg@example.test!10m, mailto:b@x.test;ruf=mailto:f@example.test;fo=1;rf=afrf;ri=3600;",
			&dmarc.Record{Policy: "quarantine", SubdomainPolicy: "none", ADKIM: "s", ASPF: "s", Percent: 20, RUA: []string{"mailto:agg@example.test!10m", "mailto:b@x.test"}, RUF: []string{"mailto:f@example.test"}, FailureOptions: "1", ReportFormat: "afrf", ReportInterval: 3600}},
		{"v = DMARC1 ;\tP=Reject ; unknown=whatever", &dmarc.Record{Policy: "reject", SubdomainPolicy: "reject", ADKIM: "r", ASPF: "r", Percent: 100, FailureOptions: "0", ReportFormat: "afrf", ReportInterval: 86400}},
		// Section 6.6.3: invalid or missing p with a valid rua is p=none.
		{"v=DMARC1; rua=mailto:a@example.test", &dmarc.Record{Policy: "none", SubdomainPolicy: "none", ADKIM: "r", ASPF: "r", Percent: 100, RUA: []string{"mailto:a@example.test"}, FailureOptions: "0", ReportFormat: "afrf", ReportInterval: 86400, PolicyAssumed: true}},
		{"v=DMARC1; p=bounce; rua=mailto:a@example.test", &dmarc.Record{Policy: "none", SubdomainPolicy: "none", ADKIM: "r", ASPF: "r", Percent: 100, RUA: []string{"mailto:a@example.test"}, FailureOptions: "0", ReportFormat: "afrf", ReportInterval: 86400, PolicyAssumed: true}},
		{"v=DMARC1", nil},
		{"v=DMARC1; p=bounce", nil},
		{"v=DMARC1; p=reject; sp=maybe", nil},
		{"v=DMARC1; p=reject; pct=101", nil},
		{"v=DMARC1; p=reject; pct=-1", nil},
		{"v=DMARC1; p=reject; adkim=x", nil},
		{"v=DMARC1; p=reject; p=none", nil},
		{"v=DMARC1; p=reject; rua=not a uri", nil},
		{"v=DMARC1; p=reject; rua=mailto:a@b.test!12q", nil},
		{"v=DMARC1; p=reject; ri=soon", nil},
		{"v=DMARC1; p=reject; =x", nil},
		{"p=reject; v=DMARC1", nil},
		{"v=dmarc1; p=reject", nil},
		{"v=spf1 -all", nil},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.txt, func(t *testing.T) {
			got, err := dmarc.ParseRecord(tc.txt)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("parsed: %+v", got)
				}
				if !errors.Is(err, dmarc.ErrSyntax) && !errors.Is(err, dmarc.ErrNotDMARC) {
					t.Fatalf("error %v wraps neither ErrSyntax nor ErrNotDMARC", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestOrganizationalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":            "example.com",
		"mail.Example.COM.":      "example.com",
		"a.b.example.co.uk":      "example.co.uk",
		"co.uk":                  "co.uk",
		"sub.example.test":       "example.test",
		"x.y.z.example.test":     "example.test",
		"user.github.io":         "user.github.io",
		"deep.user.github.io":    "user.github.io",
		"com":                    "com",
		"example.invalid-suffix": "example.invalid-suffix",
	} {
		if got := dmarc.OrganizationalDomain(in); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		id, from string
		mode     dmarc.Alignment
		want     bool
	}{
		{"example.test", "example.test", dmarc.Strict, true},
		{"Example.TEST.", "example.test", dmarc.Strict, true},
		{"mail.example.test", "example.test", dmarc.Strict, false},
		{"mail.example.test", "example.test", dmarc.Relaxed, true},
		{"example.test", "news.example.test", dmarc.Relaxed, true},
		{"a.example.test", "b.example.test", dmarc.Relaxed, true},
		{"example.test", "example.org", dmarc.Relaxed, false},
		{"a.example.co.uk", "b.other.co.uk", dmarc.Relaxed, false},
		{"", "example.test", dmarc.Relaxed, false},
		// RFC 8616 section 6: alignment compares A-labels, so a d= (always
		// A-labels) aligns with a U-label From domain.
		{"xn--bcher-kva.test", "Bücher.test", dmarc.Strict, true},
		{"mail.xn--bcher-kva.test", "bücher.test", dmarc.Relaxed, true},
		{"mail.xn--bcher-kva.test", "bücher.test", dmarc.Strict, false},
		{"xn--bcher-kva.test", "bucher.test", dmarc.Relaxed, false},
	}
	for _, tc := range tests {
		if got := dmarc.Aligned(tc.id, tc.from, tc.mode); got != tc.want {
			t.Errorf("Aligned(%q, %q, %s) = %v", tc.id, tc.from, tc.mode, got)
		}
	}
}

func zone() *dns.Mock {
	z := &dns.Mock{}
	z.AddTXT("_dmarc.reject.test", "v=DMARC1; p=reject; sp=quarantine")
	z.AddTXT("_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s")
	z.AddTXT("_dmarc.none.test", "v=DMARC1; p=none")
	z.AddTXT("_dmarc.own.reject.test", "v=DMARC1; p=none")
	z.AddTXT("_dmarc.nosp.test", "v=DMARC1; p=quarantine")
	z.AddTXT("_dmarc.pct0.test", "v=DMARC1; p=reject; pct=0")
	z.AddTXT("_dmarc.pct0q.test", "v=DMARC1; p=quarantine; pct=0")
	z.AddTXT("_dmarc.pct50.test", "v=DMARC1; p=reject; pct=50")
	z.AddTXT("_dmarc.broken.test", "v=DMARC1; p=reject; pct=200")
	z.AddTXT("_dmarc.two.test", "v=DMARC1; p=reject", "v=DMARC1; p=none")
	z.AddTXT("_dmarc.other.test", "some-verification=1", "v=DMARC1; p=reject")
	z.AddTXT("_dmarc.junk.test", "not dmarc")
	z.SetFail("_dmarc.servfail.test", errors.New("servfail"))
	return z
}

func TestEvaluate(t *testing.T) {
	z := zone()
	pass := func(from string) []string { return []string{from} }
	tests := []struct {
		name       string
		in         dmarc.Input
		status     dmarc.Status
		policy     dmarc.Policy
		requested  dmarc.Policy
		recordAt   string
		spfAligned bool
	}{
		{"no record", dmarc.Input{FromDomain: "nowhere.test"}, dmarc.StatusNone, dmarc.PolicyNone, "", "", false},
		{"non-DMARC TXT only", dmarc.Input{FromDomain: "junk.test"}, dmarc.StatusNone, dmarc.PolicyNone, "", "", false},
		{"several records", dmarc.Input{FromDomain: "two.test"}, dmarc.StatusNone, dmarc.PolicyNone, "", "", false},
		{"DMARC among other TXT", dmarc.Input{FromDomain: "other.test"}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "other.test", false},
		{"no From domain", dmarc.Input{}, dmarc.StatusPermError, dmarc.PolicyNone, "", "", false},
		{"bad record", dmarc.Input{FromDomain: "broken.test", SPFPass: true, SPFDomain: "broken.test"}, dmarc.StatusPermError, dmarc.PolicyNone, "", "", false},
		{"DNS failure", dmarc.Input{FromDomain: "servfail.test"}, dmarc.StatusTempError, dmarc.PolicyNone, "", "", false},

		{"SPF aligned exact", dmarc.Input{FromDomain: "reject.test", SPFPass: true, SPFDomain: "reject.test"}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyReject, "reject.test", true},
		{"SPF relaxed subdomain", dmarc.Input{FromDomain: "reject.test", SPFPass: true, SPFDomain: "bounces.reject.test"}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyReject, "reject.test", true},
		{"SPF strict subdomain fails", dmarc.Input{FromDomain: "strict.test", SPFPass: true, SPFDomain: "bounces.strict.test"}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "strict.test", false},
		{"SPF pass unaligned", dmarc.Input{FromDomain: "reject.test", SPFPass: true, SPFDomain: "esp.test"}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "reject.test", false},
		{"SPF aligned but failed", dmarc.Input{FromDomain: "reject.test", SPFPass: false, SPFDomain: "reject.test"}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "reject.test", false},
		{"DKIM aligned", dmarc.Input{FromDomain: "reject.test", DKIMPassDomains: pass("reject.test")}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyReject, "reject.test", false},
		{"DKIM relaxed", dmarc.Input{FromDomain: "reject.test", DKIMPassDomains: pass("mail.reject.test")}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyReject, "reject.test", false},
		{"DKIM strict subdomain fails", dmarc.Input{FromDomain: "strict.test", DKIMPassDomains: pass("mail.strict.test")}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "strict.test", false},
		{"DKIM strict exact", dmarc.Input{FromDomain: "strict.test", DKIMPassDomains: []string{"esp.test", "STRICT.test"}}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyReject, "strict.test", false},
		{"DKIM unaligned", dmarc.Input{FromDomain: "reject.test", DKIMPassDomains: pass("esp.test")}, dmarc.StatusFail, dmarc.PolicyReject, dmarc.PolicyReject, "reject.test", false},

		// Organizational domain fallback (section 6.6.3) and sp.
		{"subdomain uses sp", dmarc.Input{FromDomain: "news.reject.test"}, dmarc.StatusFail, dmarc.PolicyQuarantine, dmarc.PolicyQuarantine, "reject.test", false},
		{"deep subdomain uses sp", dmarc.Input{FromDomain: "a.b.reject.test"}, dmarc.StatusFail, dmarc.PolicyQuarantine, dmarc.PolicyQuarantine, "reject.test", false},
		{"subdomain with own record uses its p", dmarc.Input{FromDomain: "own.reject.test"}, dmarc.StatusFail, dmarc.PolicyNone, dmarc.PolicyNone, "own.reject.test", false},
		{"sp defaults to p", dmarc.Input{FromDomain: "x.nosp.test"}, dmarc.StatusFail, dmarc.PolicyQuarantine, dmarc.PolicyQuarantine, "nosp.test", false},
		{"subdomain aligned with org DKIM", dmarc.Input{FromDomain: "news.reject.test", DKIMPassDomains: pass("reject.test")}, dmarc.StatusPass, dmarc.PolicyNone, dmarc.PolicyQuarantine, "reject.test", false},
		{"p=none fail", dmarc.Input{FromDomain: "none.test"}, dmarc.StatusFail, dmarc.PolicyNone, dmarc.PolicyNone, "none.test", false},

		// pct (section 6.6.4): outside the sample, the next lower policy.
		{"pct=0 reject becomes quarantine", dmarc.Input{FromDomain: "pct0.test"}, dmarc.StatusFail, dmarc.PolicyQuarantine, dmarc.PolicyReject, "pct0.test", false},
		{"pct=0 quarantine becomes none", dmarc.Input{FromDomain: "pct0q.test"}, dmarc.StatusFail, dmarc.PolicyNone, dmarc.PolicyQuarantine, "pct0q.test", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dmarc.Evaluate(context.Background(), z, tc.in)
			if got.Status != tc.status || got.Policy != tc.policy || got.Requested != tc.requested || got.RecordDomain != tc.recordAt || got.SPFAligned != tc.spfAligned {
				t.Fatalf("got status %s policy %s requested %s at %q spfAligned %v (%s)\nwant status %s policy %s requested %s at %q spfAligned %v",
					got.Status, got.Policy, got.Requested, got.RecordDomain, got.SPFAligned, got.Reason,
					tc.status, tc.policy, tc.requested, tc.recordAt, tc.spfAligned)
			}
			if got.Reason == "" {
				t.Fatal("no reason")
			}
		})
	}
}

// TestPercentSample checks pct=50 deterministically: the same key always
// gets the same policy, and over many keys both outcomes occur in roughly
// the asked proportion.
func TestPercentSample(t *testing.T) {
	z := zone()
	counts := map[dmarc.Policy]int{}
	for i := range 1000 {
		key := fmt.Sprintf("<%d@pct50.test>", i)
		in := dmarc.Input{FromDomain: "pct50.test", SampleKey: key}
		first := dmarc.Evaluate(context.Background(), z, in).Policy
		if again := dmarc.Evaluate(context.Background(), z, in).Policy; again != first {
			t.Fatalf("key %s: %s then %s", key, first, again)
		}
		counts[first]++
	}
	if len(counts) != 2 || counts[dmarc.PolicyReject] < 400 || counts[dmarc.PolicyQuarantine] < 400 {
		t.Fatalf("pct=50 over 1000 keys: %v", counts)
	}
}

func TestLookup(t *testing.T) {
	z := zone()
	rec, at, err := dmarc.Lookup(context.Background(), z, "Sub.Reject.Test.")
	if err != nil || at != "reject.test" || rec.Policy != dmarc.PolicyReject {
		t.Fatalf("got %+v at %q, %v", rec, at, err)
	}
	// RFC 8616 section 6: a U-label From domain is looked up as its
	// A-labels, the form DNS holds.
	z.AddTXT("_dmarc.xn--bcher-kva.test", "v=DMARC1; p=quarantine")
	rec, at, err = dmarc.Lookup(context.Background(), z, "mail.Bücher.test")
	if err != nil || at != "xn--bcher-kva.test" || rec.Policy != dmarc.PolicyQuarantine {
		t.Fatalf("U-label domain: got %+v at %q, %v", rec, at, err)
	}
	if _, _, err := dmarc.Lookup(context.Background(), z, "nowhere.test"); !errors.Is(err, dmarc.ErrNoRecord) {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseRecord: the parser never panics, and a record it accepts
// renders (String) to text it parses to the same policy again.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject",
		"v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20;rua=mailto:a@b.test!10m,mailto:c@d.test;ruf=mailto:f@x.test;fo=1;ri=3600",
		"v=DMARC1; rua=mailto:a@example.test",
		"v=DMARC1; p=none; x=" + strings.Repeat("y", 100),
		"v=DMARC1;;;p=reject;",
		"v=DMARC1; p=reject; pct=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := dmarc.ParseRecord(s)
		if err != nil {
			if !errors.Is(err, dmarc.ErrSyntax) && !errors.Is(err, dmarc.ErrNotDMARC) {
				t.Fatalf("error %v wraps neither ErrSyntax nor ErrNotDMARC", err)
			}
			return
		}
		again, err := dmarc.ParseRecord(rec.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", rec.String(), err)
		}
		if again.Policy != rec.Policy || again.SubdomainPolicy != rec.SubdomainPolicy ||
			again.ADKIM != rec.ADKIM || again.ASPF != rec.ASPF || again.Percent != rec.Percent ||
			!reflect.DeepEqual(again.RUA, rec.RUA) || !reflect.DeepEqual(again.RUF, rec.RUF) {
			t.Fatalf("round trip changed %+v into %+v", rec, again)
		}
	})
}
