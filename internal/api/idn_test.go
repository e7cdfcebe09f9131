package api

import (
	"net/url"
	"strings"
	"testing"

	"mailport/internal/directory"
)

// TestIDNDomains: a domain is one resource whichever form a request names
// it in; the API answers with the A-label name and the Unicode form
// beside it, and publishes DNS records under A-labels.
func TestIDNDomains(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "POST", path: "/api/v1/domains", auth: "admin", body: map[string]string{"name": "BÜCHER.test"}})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var d directory.Domain
	r.json(t, &d)
	if d.Name != "xn--bcher-kva.test" || d.UnicodeName != "bücher.test" {
		t.Errorf("created %+v", d)
	}
	if r := e.do(req{method: "POST", path: "/api/v1/domains", auth: "admin", body: map[string]string{"name": "xn--bcher-kva.test"}}); r.status != 409 {
		t.Errorf("the A-label form of an existing domain: %d %s, want 409", r.status, r.body)
	}
	for _, name := range []string{"bücher.test", "XN--BCHER-KVA.test"} {
		if r := e.do(req{method: "GET", path: "/api/v1/domains/" + url.PathEscape(name), auth: "admin"}); r.status != 200 {
			t.Errorf("GET %s: %d %s", name, r.status, r.body)
		}
	}
	for _, q := range []string{"bücher", "xn--bcher"} {
		var l List[directory.Domain]
		e.do(req{method: "GET", path: "/api/v1/domains?q=" + url.QueryEscape(q), auth: "admin"}).json(t, &l)
		if len(l.Items) != 1 || l.Items[0].Name != "xn--bcher-kva.test" {
			t.Errorf("search %q: %+v", q, l.Items)
		}
	}
	r = e.do(req{method: "GET", path: "/api/v1/domains/" + url.PathEscape("bücher.test") + "/dns", auth: "admin"})
	if r.status != 200 {
		t.Fatalf("dns: %d %s", r.status, r.body)
	}
	var recs struct{ Records []DNSRecord }
	r.json(t, &recs)
	if len(recs.Records) == 0 {
		t.Fatal("no records")
	}
	for _, rec := range recs.Records {
		if !strings.HasSuffix(rec.Name, "xn--bcher-kva.test") {
			t.Errorf("record %+v is not named in A-labels", rec)
		}
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/domains/" + url.PathEscape("bücher.test"), auth: "admin"}); r.status != 204 {
		t.Errorf("delete through the U-label form: %d %s", r.status, r.body)
	}
}
