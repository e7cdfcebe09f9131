package api

import (
	"strconv"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
)

// GET /domains/{name}/dns?check=true checks every record it recommends,
// the RFC 6186 SRV records included, against what DNS answers.
func TestDomainDNSCheck(t *testing.T) {
	zone := &dns.Mock{}
	srv := dnsrecords.Server{Hostname: "mx.example.test", SubmissionPort: 587, SubmissionsPort: 465, IMAPSPort: 993, POP3SPort: 995}
	e := newEnv(t, func(o *envOptions) { o.resolver, o.dnsServer = zone, srv })
	var out struct {
		Records []DNSRecord `json:"records"`
		AllOK   *bool       `json:"all_ok"`
	}
	e.do(req{method: "GET", path: "/api/v1/domains/a.test/dns", auth: "da"}).json(t, &out)
	if out.AllOK != nil {
		t.Errorf("all_ok without check: %v", *out.AllOK)
	}
	// Publish every record as recommended.
	zone.AddIP("mx.example.test", "192.0.2.1")
	srvs := 0
	for _, r := range out.Records {
		switch r.Type {
		case "MX":
			pref, host, _ := strings.Cut(r.Value, " ")
			p, _ := strconv.Atoi(pref)
			zone.AddMX(r.Name, host, uint16(p))
		case "TXT":
			zone.AddTXT(r.Name, r.Value)
		case "CNAME":
			zone.AddIP(r.Name, "192.0.2.1")
		case "SRV":
			f := strings.Fields(r.Value) // priority weight port target
			prio, _ := strconv.Atoi(f[0])
			weight, _ := strconv.Atoi(f[1])
			port, _ := strconv.Atoi(f[2])
			zone.AddSRV(r.Name, f[3], uint16(port), uint16(prio), uint16(weight))
			srvs++
		}
	}
	if srvs != 4 {
		t.Fatalf("%d SRV records recommended, want 4: %+v", srvs, out.Records)
	}
	check := func() map[string]string {
		t.Helper()
		r := e.do(req{method: "GET", path: "/api/v1/domains/a.test/dns?check=true", auth: "da"})
		if r.status != 200 {
			t.Fatalf("check: %d %s", r.status, r.body)
		}
		r.json(t, &out)
		st := map[string]string{}
		for _, rec := range out.Records {
			st[rec.Name+" "+rec.Type] = rec.Status
		}
		return st
	}
	st := check()
	if out.AllOK == nil || !*out.AllOK {
		t.Errorf("all published, but all_ok is not true: %v", st)
	}
	// A wrong SRV port is reported at that record.
	zone.SRV["_imaps._tcp.a.test"][0].Port = 143
	st = check()
	if st["_imaps._tcp.a.test SRV"] != "WRONG" || st["_pop3s._tcp.a.test SRV"] != "OK" || *out.AllOK {
		t.Errorf("after breaking the IMAPS SRV record: %v, all_ok %v", st, *out.AllOK)
	}
}
