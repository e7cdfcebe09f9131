package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// Issue 5's DomainAdmins add domains only as their MasterAdmin allows and
// never reach into another's names: 403 with a message that says why.
func TestCreateDomainAsDomainAdmin(t *testing.T) {
	e := newEnv(t)
	create := func(who, name string) (int, string) {
		r := e.do(req{method: "POST", path: "/api/v1/domains", auth: who, body: map[string]string{"name": name}})
		var eb ErrorBody
		json.Unmarshal(r.body, &eb)
		return r.status, eb.Error.Message
	}
	for _, name := range []string{"b.test", "x.b.test", "b-alias.test", "r.b.test", "co.uk"} {
		if status, msg := create("da", name); status != 403 || !strings.Contains(msg, "ask a MasterAdmin") {
			t.Errorf("da adds %s: %d %q, want 403", name, status, msg)
		}
	}
	if status, _ := create("da", "x.a.test"); status != 201 {
		t.Errorf("da adds a name below its own domain: %d", status)
	}
	if status, _ := create("admin", "b.test"); status != 409 {
		t.Errorf("admin adds an existing domain: %d, want 409", status)
	}
	// max_domains 0: no domains at all.
	if r := e.do(req{method: "PUT", path: "/api/v1/admins/da/limits", auth: "admin", body: map[string]int{"max_domains": 0}}); r.status != 200 {
		t.Fatalf("set limits: %d %s", r.status, r.body)
	}
	if status, msg := create("da", "fresh.test"); status != 403 || !strings.Contains(msg, "max_domains") {
		t.Errorf("da adds a domain with max_domains 0: %d %q", status, msg)
	}
}
