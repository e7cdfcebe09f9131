package api

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestAuditEntriesUseAPINames: the before and after of every audit entry
// read like the API's objects (snake_case names), with neither internal
// IDs nor secrets. The fixture's changes (domains, mailboxes, aliases,
// forwards, sender addresses, domain aliases, relay domains, DKIM keys,
// split routing, admins) are in the log already; the test adds updates
// and removals through the API.
func TestAuditEntriesUseAPINames(t *testing.T) {
	e := newEnv(t)
	for _, r := range []req{
		{method: "POST", path: "/api/v1/admins", auth: "admin", body: map[string]any{"login": "carol", "password": testPassword, "role": "domainadmin",
			"domains": []string{"b.test"}, "limits": map[string]any{"max_mailboxes": 3}}},
		{method: "PUT", path: "/api/v1/admins/carol/limits", auth: "admin", body: map[string]any{"max_mailboxes": 7, "max_storage_bytes": 1 << 30}},
		{method: "PATCH", path: "/api/v1/admins/carol", auth: "admin", body: map[string]any{"password": "another horse battery"}},
		{method: "POST", path: "/api/v1/mailboxes", auth: "da", body: map[string]any{"address": "new@a.test", "password": testPassword}},
		{method: "PATCH", path: "/api/v1/mailboxes/new@a.test", auth: "da", body: map[string]any{"password": "another horse battery", "quota_bytes": 1 << 20}},
		{method: "DELETE", path: "/api/v1/mailboxes/new@a.test", auth: "da"},
		{method: "PATCH", path: "/api/v1/aliases/al@a.test", auth: "da", body: map[string]any{"targets": []string{"u2@a.test"}}},
		{method: "DELETE", path: "/api/v1/aliases/al@a.test", auth: "da"},
		{method: "PATCH", path: "/api/v1/relay-domains/r.a.test", auth: "da", body: map[string]any{"port": 2525}},
		{method: "DELETE", path: "/api/v1/domain-aliases/a-alias.test", auth: "da"},
		{method: "DELETE", path: "/api/v1/domains/a.test/sdr", auth: "da"},
		{method: "POST", path: "/api/v1/queue/qa/retry", auth: "da"},
		{method: "POST", path: "/api/v1/tokens", auth: "da", body: map[string]any{"name": "script"}},
		{method: "DELETE", path: "/api/v1/admins/carol", auth: "admin"},
	} {
		if res := e.do(r); res.status >= 300 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, res.status, res.body)
		}
	}

	var page struct{ Items []AuditEntry }
	e.do(req{method: "GET", path: "/api/v1/audit?limit=1000", auth: "admin"}).json(t, &page)
	byAction := map[string]AuditEntry{}
	for _, en := range page.Items {
		for side, v := range map[string]any{"before": en.Before, "after": en.After} {
			for _, bad := range auditFlaws(v, "") {
				t.Errorf("%s %s %s: %s", en.Action, en.ObjectID, side, bad)
			}
		}
		if _, seen := byAction[en.Action]; !seen { // newest first
			byAction[en.Action] = en
		}
	}
	for _, want := range []string{"admin.create", "admin.update", "admin.delete", "mailbox.create", "mailbox.update", "mailbox.delete",
		"alias.create", "alias.update", "alias.delete", "domain.create", "domain.sdr", "domain_alias.create", "domain_alias.delete",
		"relay_domain.create", "relay_domain.update", "dkim.generate", "forward.create", "sender.create", "queue.retry", "token.create"} {
		if _, ok := byAction[want]; !ok {
			t.Errorf("no %s entry to check", want)
		}
	}

	// The limits change reads as the API's limits and usage objects.
	up := byAction["admin.update"]
	field := func(v any, path string) any {
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	for path, want := range map[string]any{"limits.max_mailboxes": 7.0, "limits.max_storage_bytes": float64(1 << 30), "usage.unlimited_mailboxes": 2.0,
		"login": "carol", "password_changed": true} {
		if got := field(up.After, path); got != want {
			t.Errorf("admin.update after.%s = %v, want %v (entry %v)", path, got, want, up.After)
		}
	}
	if got := field(up.Before, "limits.max_mailboxes"); got != 7.0 {
		t.Errorf("admin.update before.limits.max_mailboxes = %v, want 7", got)
	}
	if got := field(byAction["admin.create"].After, "limits.max_mailboxes"); got != 3.0 {
		t.Errorf("admin.create after.limits.max_mailboxes = %v, want 3", got)
	}
	if got := field(byAction["domain.sdr"].Before, "sdr.host"); got != "legacy.example.net" {
		t.Errorf("domain.sdr before.sdr.host = %v (entry %v)", got, byAction["domain.sdr"].Before)
	}
	if got := field(byAction["mailbox.update"].After, "quota_bytes"); got != float64(1<<20) {
		t.Errorf("mailbox.update after.quota_bytes = %v", got)
	}
}

// snakeCase is an API field name.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// auditFlaws lists what in an audit object is not as the API would show
// it: a field name not in snake_case, an internal ID, or a secret (a
// field that holds one, or a password hash as a value).
func auditFlaws(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			p := strings.TrimPrefix(path+"."+k, ".")
			switch {
			case !snakeCase.MatchString(k):
				out = append(out, fmt.Sprintf("field %s is not an API name", p))
			case k == "account_id" || k == "domain_id" || strings.Contains(k, "hash") || strings.Contains(k, "private") ||
				k == "csrf_token" || k == "secret" || k == "password":
				out = append(out, fmt.Sprintf("field %s is internal or secret", p))
			}
			out = append(out, auditFlaws(y, p)...)
		}
	case []any:
		for i, y := range x {
			out = append(out, auditFlaws(y, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case string:
		if strings.HasPrefix(x, "$argon2") || strings.HasPrefix(x, "{") && strings.Contains(x, "CRYPT}") {
			out = append(out, fmt.Sprintf("%s holds a password hash", path))
		}
	}
	return out
}
