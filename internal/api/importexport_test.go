package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestImportExport(t *testing.T) {
	e := newEnv(t)
	csv := "kind,name,target,password\n" +
		"mailbox,new1@a.test,,correct horse battery\n" +
		"mailbox,<script>@a.test,,correct horse battery\n" +
		"alias,al2@a.test,new1@a.test,\n"
	before := stateOf(t, e)
	r := e.do(req{method: "POST", path: "/api/v1/import", auth: "da", body: csv, header: map[string]string{"Content-Type": "text/csv"}})
	if r.status != 422 {
		t.Fatalf("bad row: %d %s", r.status, r.body)
	}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Errors []struct {
					Line int `json:"line"`
				} `json:"errors"`
			} `json:"details"`
		} `json:"error"`
	}
	r.json(t, &eb)
	if eb.Error.Code != "import_rejected" || len(eb.Error.Details.Errors) != 1 || eb.Error.Details.Errors[0].Line != 3 {
		t.Fatalf("report %s", r.body)
	}
	if after := stateOf(t, e); after != before {
		t.Fatalf("a rejected import changed the directory")
	}
	good := strings.Replace(csv, "mailbox,<script>@a.test,,correct horse battery\n", "", 1)
	r = e.do(req{method: "POST", path: "/api/v1/import?dry_run=true", auth: "da", body: good, header: map[string]string{"Content-Type": "text/csv"}})
	if r.status != 200 || stateOf(t, e) != before {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	r = e.do(req{method: "POST", path: "/api/v1/import", auth: "da", body: good, header: map[string]string{"Content-Type": "text/csv"}})
	if r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if _, err := e.st.GetAccountByAddress(context.Background(), "new1@a.test"); err != nil {
		t.Fatal(err)
	}
	// A DomainAdmin cannot import into another's domain.
	r = e.do(req{method: "POST", path: "/api/v1/import", auth: "da", body: "kind,name,target\nalias,x@b.test,v@b.test\n", header: map[string]string{"Content-Type": "text/csv"}})
	if r.status != 422 && r.status != 403 {
		t.Fatalf("import into b.test: %d %s", r.status, r.body)
	}
	// The export of a DomainAdmin holds its domain only and re-imports
	// into an emptied directory as the same objects.
	r = e.do(req{method: "GET", path: "/api/v1/export?format=json", auth: "da"})
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "b.test") || !strings.Contains(string(r.body), "new1@a.test") {
		t.Fatalf("export %s", r.body)
	}
	export := r.body
	for _, p := range []string{"/api/v1/domains/a.test", "/api/v1/relay-domains/r.a.test"} {
		if r := e.do(req{method: "DELETE", path: p, auth: "admin"}); r.status != 204 {
			t.Fatalf("delete %s: %d", p, r.status)
		}
	}
	r = e.do(req{method: "POST", path: "/api/v1/import", auth: "admin", body: export})
	if r.status != 200 {
		t.Fatalf("re-import: %d %s", r.status, r.body)
	}
	again := e.do(req{method: "GET", path: "/api/v1/export?format=json&kinds=domains,mailboxes,aliases,forwards,sender_addresses,domain_aliases,relay_domains", auth: "admin"})
	var a1, a2 map[string]any
	json.Unmarshal(export, &a1)
	json.Unmarshal(again.body, &a2)
	for k, v := range a1 {
		if k == "version" {
			continue
		}
		got, _ := json.Marshal(a2[k])
		want, _ := json.Marshal(v)
		// The admin's export has b.test too; a.test's objects must be there.
		for _, item := range v.([]any) {
			b, _ := json.Marshal(item)
			if !strings.Contains(string(got), string(b)) {
				t.Errorf("%s: %s missing after re-import (want %s)", k, b, want)
			}
		}
	}
}
