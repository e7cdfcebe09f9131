package api

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// A 422 the service layer raises about one input names it in
// error.fields, at the place the request carried it, and changes nothing.
func TestFieldErrors(t *testing.T) {
	tests := []struct {
		name        string
		r           req
		field, want string // the only field reported, and part of its message
	}{
		{"bad domain name", req{method: "POST", path: "/api/v1/domains", body: map[string]string{"name": "bad_name.test"}},
			"body.name", "invalid domain name"},
		{"malformed mailbox address", req{method: "POST", path: "/api/v1/mailboxes", body: map[string]string{"address": "no-at-sign", "password": testPassword}},
			"body.address", "invalid address"},
		{"weak password", req{method: "POST", path: "/api/v1/mailboxes", body: map[string]string{"address": "n@a.test", "password": "password"}},
			"body.password", "password"},
		{"weak password on update", req{method: "PATCH", path: "/api/v1/mailboxes/u@a.test", body: map[string]string{"password": "password"}},
			"body.password", "password"},
		{"mailbox in a domain not hosted", req{method: "POST", path: "/api/v1/mailboxes", body: map[string]string{"address": "n@nowhere.test", "password": testPassword}},
			"body.address", "domain nowhere.test is not hosted here"},
		{"mailbox in a domain alias", req{method: "POST", path: "/api/v1/mailboxes", body: map[string]string{"address": "n@a-alias.test", "password": testPassword}},
			"body.address", "alias of a.test"},
		{"alias in a domain not hosted", req{method: "POST", path: "/api/v1/aliases", body: map[string]any{"address": "n@nowhere.test", "targets": []string{"u@a.test"}}},
			"body.address", "domain nowhere.test is not hosted here"},
		{"bad alias target", req{method: "POST", path: "/api/v1/aliases", body: map[string]any{"address": "n@a.test", "targets": []string{"u@a.test", "not an address"}}},
			"body.targets", "invalid address"},
		{"alias pointing at itself", req{method: "PATCH", path: "/api/v1/aliases/al@a.test", body: map[string]any{"targets": []string{"al@a.test"}}},
			"body.targets", "points to itself"},
		{"sender address in a domain not hosted", req{method: "POST", path: "/api/v1/sender-addresses", body: map[string]string{"mailbox": "u@a.test", "address": "me@nowhere.test"}},
			"body.address", "domain nowhere.test is not hosted here"},
		{"bad forward target", req{method: "POST", path: "/api/v1/forwards", body: map[string]any{"mailbox": "u@a.test", "target": "nobody-here"}},
			"body.target", "invalid address"},
		{"forward to itself", req{method: "POST", path: "/api/v1/forwards", body: map[string]any{"mailbox": "u@a.test", "target": "U@a.test"}},
			"body.target", "points to itself"},
		{"malformed forward mailbox", req{method: "POST", path: "/api/v1/forwards", body: map[string]any{"mailbox": "nobody", "target": "x@ext.test"}},
			"body.mailbox", "invalid address"},
		{"bad domain alias", req{method: "POST", path: "/api/v1/domain-aliases", body: map[string]string{"alias": "x..test", "domain": "a.test"}},
			"body.alias", "invalid domain name"},
		{"bad relay host", req{method: "POST", path: "/api/v1/relay-domains", body: map[string]any{"name": "x.a.test", "host": "bad host"}},
			"body.host", "invalid destination"},
		{"relay recipient elsewhere", req{method: "PATCH", path: "/api/v1/relay-domains/r.a.test", body: map[string]any{"recipients": []string{"x@a.test"}}},
			"body.recipients", "not in the domain"},
		{"bad SDR host", req{method: "PUT", path: "/api/v1/domains/a.test/sdr", body: map[string]any{"host": "bad host", "port": 25}},
			"body.host", "invalid destination"},
		{"malformed address in the path", req{method: "DELETE", path: "/api/v1/mailboxes/no-at-sign"},
			"path.address", "invalid address"},
		{"malformed domain in the query", req{method: "GET", path: "/api/v1/aliases?domain=bad_name.test"},
			"query.domain", "invalid domain name"},
		{"malformed selector in the path", req{method: "DELETE", path: "/api/v1/domains/a.test/dkim/bad_sel"},
			"path.selector", "dkim selector"},
		{"MasterAdmin with domains", req{method: "POST", path: "/api/v1/admins", body: map[string]any{"login": "m2", "password": testPassword, "role": "masteradmin", "domains": []string{"a.test"}}},
			"body.role", "neither domains nor limits"},
		{"limits of a MasterAdmin", req{method: "PUT", path: "/api/v1/admins/admin/limits", body: map[string]int{"max_mailboxes": 1}},
			"body", "only DomainAdmins"},
		{"bad admin login", req{method: "POST", path: "/api/v1/admins", body: map[string]any{"login": "cli", "password": testPassword, "role": "domainadmin"}},
			"body.login", "invalid login"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.r.auth = "admin"
			before := stateOf(t, e)
			got := e.do(tc.r)
			if got.status != 422 {
				t.Fatalf("got %d %s, want 422", got.status, got.body)
			}
			var eb ErrorBody
			if err := json.Unmarshal(got.body, &eb); err != nil {
				t.Fatal(err)
			}
			if eb.Error.Code != "invalid" || len(eb.Error.Fields) != 1 || !strings.Contains(eb.Error.Fields[tc.field], tc.want) {
				t.Errorf("error %+v: want only field %s saying %q (fields: %v)", eb.Error, tc.field, tc.want, slices.Collect(maps.Keys(eb.Error.Fields)))
			}
			if after := stateOf(t, e); after != before {
				t.Errorf("state changed:\n%s\n%s", before, after)
			}
		})
	}
}

// Disabling or removing oneself is a conflict the service reports.
func TestAdminSelfConflict(t *testing.T) {
	e := newEnv(t)
	for _, r := range []req{
		{method: "PATCH", path: "/api/v1/admins/admin", auth: "admin", body: map[string]bool{"enabled": false}},
		{method: "DELETE", path: "/api/v1/admins/admin", auth: "admin"},
	} {
		got := e.do(r)
		var eb ErrorBody
		if got.status != 409 || json.Unmarshal(got.body, &eb) != nil || eb.Error.Code != "self" {
			t.Errorf("%s %s: %d %s, want 409 self", r.method, r.path, got.status, got.body)
		}
	}
}
