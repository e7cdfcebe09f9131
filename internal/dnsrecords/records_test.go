package dnsrecords

import (
	"errors"
	"net"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
)

var testServer = Server{Hostname: "mx.example.test", SubmissionPort: 587, SubmissionsPort: 465, IMAPSPort: 993, POP3SPort: 995}

var testKeys = []DKIMKey{
	{Selector: "s1", Value: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
	{Selector: "s2", Value: "v=DKIM1; k=ed25519; p=2222AYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
}

func TestRequired(t *testing.T) {
	recs := Required("example.test", testServer, testKeys, Options{})
	id := MTASTSID(MTASTSPolicy("mx.example.test", ""))
	want := []string{
		"example.test MX 10 mx.example.test",
		"example.test TXT v=spf1 mx ~all",
		"s1._domainkey.example.test TXT v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"s2._domainkey.example.test TXT v=DKIM1; k=ed25519; p=2222AYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"_dmarc.example.test TXT v=DMARC1; p=quarantine; adkim=r; aspf=r",
		"_mta-sts.example.test TXT v=STSv1; id=" + id,
		"mta-sts.example.test CNAME mx.example.test",
		"autoconfig.example.test CNAME mx.example.test",
		"_submission._tcp.example.test SRV 0 1 587 mx.example.test",
		"_submissions._tcp.example.test SRV 0 1 465 mx.example.test",
		"_imaps._tcp.example.test SRV 0 1 993 mx.example.test",
		"_pop3s._tcp.example.test SRV 0 1 995 mx.example.test",
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(recs), len(want), recs)
	}
	for i, r := range recs {
		if r.String() != want[i] {
			t.Errorf("record %d = %q, want %q", i, r, want[i])
		}
	}

	// Options and a service that is off.
	srv := testServer
	srv.POP3SPort = 0
	recs = Required("example.test", srv, nil, Options{SPFHardFail: true, DMARCPolicy: "reject", MTASTSMode: "enforce"})
	text := ""
	for _, r := range recs {
		text += r.String() + "\n"
		if r.Kind == KindDKIM || strings.HasPrefix(r.Name, "_pop3s") {
			t.Errorf("unexpected record %s", r)
		}
	}
	for _, w := range []string{"v=spf1 mx -all", "p=reject;", "id=" + MTASTSID(MTASTSPolicy("mx.example.test", "enforce"))} {
		if !strings.Contains(text, w) {
			t.Errorf("records lack %q:\n%s", w, text)
		}
	}
}

func TestMTASTS(t *testing.T) {
	p := MTASTSPolicy("mx.example.test", "")
	if p != "version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 604800\r\n" {
		t.Errorf("policy = %q", p)
	}
	id := MTASTSID(p)
	if len(id) < 1 || len(id) > 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("id %q is not 1-32 alphanumerics", id)
	}
	if MTASTSID(MTASTSPolicy("mx.example.test", "enforce")) == id || MTASTSID(MTASTSPolicy("mx2.example.test", "")) == id {
		t.Error("id does not change with the policy")
	}
	if u := MTASTSPolicyURL("example.test"); u != "https://mta-sts.example.test/.well-known/mta-sts.txt" {
		t.Errorf("policy URL = %q", u)
	}
}

// goodZone publishes every record of Required correctly.
func goodZone() *dns.Mock {
	z := &dns.Mock{}
	z.AddMX("example.test", "mx.example.test.", 10)
	z.AddIP("mx.example.test", "192.0.2.1", "2001:db8::1")
	z.AddTXT("example.test", "google-site-verification=abc", "v=spf1 ip4:192.0.2.0/24 mx -all")
	// DNS tools split long values; whitespace inside p= does not matter.
	z.AddTXT("s1._domainkey.example.test", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQH Og7hcvPapiMlrwIaaPcHURo=")
	z.AddTXT("s2._domainkey.example.test", testKeys[1].Value)
	z.AddTXT("_dmarc.example.test", "v=DMARC1; p=reject; rua=mailto:d@example.test")
	z.AddTXT("_mta-sts.example.test", "v=STSv1; id="+MTASTSID(MTASTSPolicy("mx.example.test", "")))
	z.AddIP("mta-sts.example.test", "192.0.2.1")
	z.AddIP("autoconfig.example.test", "192.0.2.1", "2001:db8::1")
	for name, port := range map[string]uint16{"_submission": 587, "_submissions": 465, "_imaps": 993, "_pop3s": 995} {
		z.AddSRV(name+"._tcp.example.test", "mx.example.test.", port, 0, 1)
	}
	return z
}

func TestCheckAllOK(t *testing.T) {
	recs := Required("example.test", testServer, testKeys, Options{})
	res := Check(t.Context(), goodZone(), "mx.example.test", recs)
	for _, r := range res {
		if r.Status != OK {
			t.Errorf("%s", r)
		}
	}
	if !AllOK(res) {
		t.Error("AllOK = false")
	}
}

func TestCheckProblems(t *testing.T) {
	recs := Required("example.test", testServer, testKeys, Options{})
	byName := func(kind Kind, name string) Record {
		for _, r := range recs {
			if r.Kind == kind && r.Name == name {
				return r
			}
		}
		t.Fatalf("no %s record %s", kind, name)
		return Record{}
	}
	tests := []struct {
		name   string
		rec    Record
		change func(z *dns.Mock)
		status Status
		got    string
	}{
		{"MX missing", byName(KindMX, "example.test"), func(z *dns.Mock) { delete(z.MX, "example.test") }, Missing, ""},
		{"MX elsewhere", byName(KindMX, "example.test"), func(z *dns.Mock) {
			z.MX["example.test"] = []*net.MX{{Host: "mx.other.test.", Pref: 5}}
		}, Wrong, "5 mx.other.test"},
		{"MX lookup fails", byName(KindMX, "example.test"), func(z *dns.Mock) { z.SetFail("example.test", errors.New("SERVFAIL")) }, Failed, "SERVFAIL"},
		{"SPF missing", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.SetTXT("example.test", "unrelated") }, Missing, ""},
		{"SPF two records", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.AddTXT("example.test", "v=spf1 -all") }, Wrong, "v=spf1 -all"},
		{"SPF without us", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.SetTXT("example.test", "v=spf1 include:other.test -all") }, Wrong, "include:other.test"},
		{"SPF -mx", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.SetTXT("example.test", "v=spf1 -mx ~all") }, Wrong, "-mx"},
		{"SPF by a:hostname", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.SetTXT("example.test", "v=spf1 a:MX.example.test ~all") }, OK, ""},
		{"SPF version prefix only", byName(KindSPF, "example.test"), func(z *dns.Mock) { z.SetTXT("example.test", "v=spf10 mx") }, Missing, ""},
		{"DKIM missing", byName(KindDKIM, "s1._domainkey.example.test"), func(z *dns.Mock) { z.SetTXT("s1._domainkey.example.test") }, Missing, ""},
		{"DKIM other key", byName(KindDKIM, "s1._domainkey.example.test"), func(z *dns.Mock) {
			z.SetTXT("s1._domainkey.example.test", "v=DKIM1; k=ed25519; p=AAAA")
		}, Wrong, "p=AAAA"},
		{"DKIM revoked", byName(KindDKIM, "s2._domainkey.example.test"), func(z *dns.Mock) {
			z.SetTXT("s2._domainkey.example.test", "v=DKIM1; p=")
		}, Wrong, "p="},
		{"DMARC missing", byName(KindDMARC, "_dmarc.example.test"), func(z *dns.Mock) { z.SetTXT("_dmarc.example.test") }, Missing, ""},
		{"DMARC no policy", byName(KindDMARC, "_dmarc.example.test"), func(z *dns.Mock) { z.SetTXT("_dmarc.example.test", "v=DMARC1; rua=x") }, Wrong, "rua=x"},
		{"DMARC two", byName(KindDMARC, "_dmarc.example.test"), func(z *dns.Mock) { z.AddTXT("_dmarc.example.test", "v=DMARC1; p=none") }, Wrong, "p=none"},
		{"DMARC none is valid", byName(KindDMARC, "_dmarc.example.test"), func(z *dns.Mock) { z.SetTXT("_dmarc.example.test", "v=DMARC1;p=none") }, OK, ""},
		{"MTA-STS stale id", byName(KindMTASTS, "_mta-sts.example.test"), func(z *dns.Mock) { z.SetTXT("_mta-sts.example.test", "v=STSv1; id=old1") }, Wrong, "id=old1"},
		{"MTA-STS missing", byName(KindMTASTS, "_mta-sts.example.test"), func(z *dns.Mock) { z.SetTXT("_mta-sts.example.test") }, Missing, ""},
		{"autoconfig missing", byName(KindHost, "autoconfig.example.test"), func(z *dns.Mock) { delete(z.A, "autoconfig.example.test") }, Missing, ""},
		{"autoconfig elsewhere", byName(KindHost, "autoconfig.example.test"), func(z *dns.Mock) { z.AddIP("autoconfig.example.test", "198.51.100.9") }, Wrong, "198.51.100.9"},
		{"server has no address", byName(KindHost, "autoconfig.example.test"), func(z *dns.Mock) { delete(z.A, "mx.example.test") }, Failed, "addresses of the server"},
		{"SRV missing", byName(KindSRV, "_imaps._tcp.example.test"), func(z *dns.Mock) { delete(z.SRV, "_imaps._tcp.example.test") }, Missing, ""},
		{"SRV wrong port", byName(KindSRV, "_imaps._tcp.example.test"), func(z *dns.Mock) {
			z.SRV["_imaps._tcp.example.test"] = []*net.SRV{{Target: "mx.example.test.", Port: 143}}
		}, Wrong, "0 0 143 mx.example.test"},
		{"SRV says not offered", byName(KindSRV, "_pop3s._tcp.example.test"), func(z *dns.Mock) {
			z.SRV["_pop3s._tcp.example.test"] = []*net.SRV{{Target: "."}}
		}, Wrong, "0 0 0 ."},
		{"SRV lookup fails", byName(KindSRV, "_imaps._tcp.example.test"), func(z *dns.Mock) {
			z.SetFail("_imaps._tcp.example.test", errors.New("SERVFAIL"))
		}, Failed, "SERVFAIL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := goodZone()
			tc.change(z)
			res := Check(t.Context(), z, "mx.example.test", []Record{tc.rec})
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if r.Status != tc.status || !strings.Contains(r.Got, tc.got) || (tc.got == "" && r.Got != "") {
				t.Errorf("got %s, want %s with %q", r, tc.status, tc.got)
			}
			if AllOK(res) != (tc.status == OK) {
				t.Errorf("AllOK = %v for %s", AllOK(res), r.Status)
			}
		})
	}
}

// TestCheckThroughResolver checks a published zone the way the API and
// `mailport dns --check` do: through dns.NewResolver asking a DNS server,
// SRV records included.
func TestCheckThroughResolver(t *testing.T) {
	srv, err := dnstest.Start(goodZone())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	recs := Required("example.test", testServer, testKeys, Options{})
	res := Check(t.Context(), dns.NewResolver([]string{srv.Addr}), "mx.example.test", recs)
	srvs := 0
	for _, r := range res {
		if r.Status != OK {
			t.Errorf("%s", r)
		}
		if r.Record.Kind == KindSRV {
			srvs++
		}
	}
	if srvs != 4 {
		t.Errorf("%d SRV records checked, want 4", srvs)
	}
}

func TestCheckWithoutSRVLookups(t *testing.T) {
	recs := Required("example.test", testServer, nil, Options{})
	// A resolver with only the methods of dns.Resolver.
	plain := struct{ dns.Resolver }{goodZone()}
	res := Check(t.Context(), plain, "mx.example.test", recs)
	for _, r := range res {
		want := OK
		if r.Record.Kind == KindSRV {
			want = Failed
		}
		if r.Status != want {
			t.Errorf("%s: want %s", r, want)
		}
	}
}

func TestResultString(t *testing.T) {
	r := Result{Record: Record{KindMX, "example.test", "MX", "10 mx.example.test"}, Status: Wrong, Got: "5 mx.other.test"}
	if s := r.String(); s != "WRONG    example.test MX 10 mx.example.test (got 5 mx.other.test)" {
		t.Errorf("String = %q", s)
	}
	r = Result{Record: Record{KindMX, "example.test", "MX", "10 mx.example.test"}, Status: OK}
	if s := r.String(); s != "OK       example.test MX 10 mx.example.test" {
		t.Errorf("String = %q", s)
	}
	long := Check(t.Context(), &dns.Mock{TXT: map[string][]string{"_dmarc.example.test": {"v=DMARC1; x=" + strings.Repeat("a", 1000)}}},
		"mx.example.test", []Record{{KindDMARC, "_dmarc.example.test", "TXT", "v=DMARC1; p=quarantine"}})
	if len(long[0].Got) > maxGot+3 {
		t.Errorf("Got not bounded: %d bytes", len(long[0].Got))
	}
}
