package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// stateOf is what a bad request must leave unchanged: the domains,
// mailboxes and aliases and the number of audit entries.
func stateOf(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	ds, err := e.st.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	as, err := e.st.ListAccounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	al, err := e.st.ListAliases(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Name + " ")
	}
	for _, a := range as {
		b.WriteString(a.Address + "/" + a.DisplayName + "/" + a.PasswordHash + " ")
	}
	for _, a := range al {
		b.WriteString(a.Address + " ")
	}
	return b.String() + " audit=" + string(rune('0'+e.auditCount()))
}

// Issue 5, acceptance 5: each bad request gets its 4xx, the error shape,
// and changes nothing.
func TestBadInput(t *testing.T) {
	huge := `{"address": "big@a.test", "password": "` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name   string
		r      func(e *env) req
		status int
		code   string
	}{
		{"invalid JSON", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: `{"name": "x.test"`}
		}, 400, "bad_request"},
		{"not an object", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: `["x.test"]`}
		}, 422, "invalid"},
		{"unknown field", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: `{"name": "x.test", "owner": "me"}`}
		}, 422, "invalid"},
		{"unknown field in mailbox", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: `{"address": "n@a.test", "password": "` + testPassword + `", "role": "masteradmin"}`}
		}, 422, "invalid"},
		{"wrong type", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: `{"name": 5}`}
		}, 422, "invalid"},
		{"missing field", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: `{"address": "n@a.test"}`}
		}, 422, "invalid"},
		{"empty body", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin"}
		}, 400, "bad_request"},
		{"huge body", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: huge}
		}, 413, "too_large"},
		{"not JSON content type", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: `{"name": "x.test"}`, header: map[string]string{"Content-Type": "text/plain"}}
		}, 415, "unsupported_media_type"},
		{"script tag in a domain name", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: map[string]string{"name": "<script>alert(1)</script>.test"}}
		}, 422, "invalid"},
		{"script tag in an address", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: map[string]string{"address": "<script>@a.test", "password": testPassword}}
		}, 422, "invalid"},
		{"line break in a display name", func(e *env) req {
			return req{method: "PATCH", path: "/api/v1/mailboxes/u@a.test", auth: "admin", body: map[string]string{"display_name": "a\r\nBcc: x"}}
		}, 422, "invalid"},
		{"negative quota", func(e *env) req {
			return req{method: "PATCH", path: "/api/v1/mailboxes/u@a.test", auth: "admin", body: map[string]int{"quota_bytes": -1}}
		}, 422, "invalid"},
		{"weak password", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: map[string]string{"address": "n@a.test", "password": "password"}}
		}, 422, "invalid"},
		{"alias without targets", func(e *env) req {
			return req{method: "POST", path: "/api/v1/aliases", auth: "admin", body: map[string]any{"address": "n@a.test", "targets": []string{}}}
		}, 422, "invalid"},
		{"alias pointing at itself", func(e *env) req {
			return req{method: "POST", path: "/api/v1/aliases", auth: "admin", body: map[string]any{"address": "n@a.test", "targets": []string{"n@a.test"}}}
		}, 422, "invalid"},
		{"existing domain", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", auth: "admin", body: map[string]string{"name": "A.TEST"}}
		}, 409, "exists"},
		{"mailbox in an unknown domain", func(e *env) req {
			return req{method: "POST", path: "/api/v1/mailboxes", auth: "admin", body: map[string]string{"address": "n@nowhere.test", "password": testPassword}}
		}, 422, "invalid"},
		{"bad sort", func(e *env) req {
			return req{method: "GET", path: "/api/v1/mailboxes?sort=password", auth: "admin"}
		}, 422, "invalid"},
		{"negative offset", func(e *env) req {
			return req{method: "GET", path: "/api/v1/mailboxes?offset=-1", auth: "admin"}
		}, 422, "invalid"},
		{"malformed address in the path", func(e *env) req {
			return req{method: "DELETE", path: "/api/v1/mailboxes/no-at-sign", auth: "admin"}
		}, 422, "invalid"},
		{"MasterAdmin with domains", func(e *env) req {
			return req{method: "POST", path: "/api/v1/admins", auth: "admin", body: map[string]any{"login": "m2", "password": testPassword, "role": "masteradmin", "domains": []string{"a.test"}}}
		}, 422, "invalid"},
		{"admin disabling itself", func(e *env) req {
			return req{method: "PATCH", path: "/api/v1/admins/admin", auth: "admin", body: map[string]bool{"enabled": false}}
		}, 409, "self"},
		{"token expiring in the past", func(e *env) req {
			return req{method: "POST", path: "/api/v1/tokens", auth: "admin", body: map[string]string{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}}
		}, 422, "invalid"},
		{"cookie session without CSRF token", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", cookie: e.creds["admin"].Cookie, body: map[string]string{"name": "x.test"}}
		}, 403, "csrf"},
		{"cookie session with a wrong CSRF token", func(e *env) req {
			return req{method: "DELETE", path: "/api/v1/mailboxes/u@a.test", cookie: e.creds["admin"].Cookie,
				header: map[string]string{CSRFHeader: e.creds["da"].CSRF}}
		}, 403, "csrf"},
		{"expired session", func(e *env) req {
			e.advance(8 * 24 * time.Hour)
			return req{method: "POST", path: "/api/v1/domains", cookie: e.creds["admin"].Cookie,
				header: map[string]string{CSRFHeader: e.creds["admin"].CSRF}, body: map[string]string{"name": "x.test"}}
		}, 401, "unauthorized"},
		{"unknown token", func(e *env) req {
			return req{method: "POST", path: "/api/v1/domains", body: map[string]string{"name": "x.test"},
				header: map[string]string{"Authorization": "Bearer mp_" + strings.Repeat("a", 52)}}
		}, 401, "unauthorized"},
		{"unknown path", func(e *env) req { return req{method: "GET", path: "/api/v1/nothing-here", auth: "admin"} }, 404, "not_found"},
		{"wrong method", func(e *env) req { return req{method: "PUT", path: "/api/v1/domains", auth: "admin"} }, 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := tc.r(e)
			before := stateOf(t, e)
			got := e.do(r)
			if got.status != tc.status {
				t.Fatalf("got %d %.300s, want %d", got.status, got.body, tc.status)
			}
			var eb ErrorBody
			if err := json.Unmarshal(got.body, &eb); err != nil {
				t.Fatalf("error body %.300q: %v", got.body, err)
			}
			if eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Errorf("error %+v, want code %q and a message", eb.Error, tc.code)
			}
			if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if after := stateOf(t, e); after != before {
				t.Errorf("state changed:\n%s\n%s", before, after)
			}
		})
	}
}

// A <script> in a display name is stored as given and comes back
// JSON-escaped, never as markup.
func TestScriptTagStoredAndEscaped(t *testing.T) {
	e := newEnv(t)
	name := `<script>alert("x")</script> & <b>`
	r := e.do(req{method: "PATCH", path: "/api/v1/mailboxes/u@a.test", auth: "admin", body: map[string]string{"display_name": name}})
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	for _, path := range []string{"/api/v1/mailboxes/u@a.test", "/api/v1/mailboxes?domain=a.test&q=script"} {
		r = e.do(req{method: "GET", path: path, auth: "admin"})
		if strings.Contains(string(r.body), "<") || strings.Contains(string(r.body), ">") {
			t.Errorf("GET %s: raw markup in %s", path, r.body)
		}
		if !strings.Contains(string(r.body), `\u003cscript\u003e`) {
			t.Errorf("GET %s: %s lacks the escaped name", path, r.body)
		}
	}
	var mb struct {
		DisplayName string `json:"display_name"`
	}
	e.do(req{method: "GET", path: "/api/v1/mailboxes/u@a.test", auth: "admin"}).json(t, &mb)
	if mb.DisplayName != name {
		t.Errorf("display name %q, want %q", mb.DisplayName, name)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff header")
	}
}

// A panicking handler answers a JSON 500 and the panic is logged.
func TestPanicIsJSON500(t *testing.T) {
	e := newEnv(t)
	o := op("panicTest", http.MethodGet, "/panic-test", "panics", "test")
	huma.Register(e.api.humaAPI, o, func(ctx context.Context, _ *emptyInput) (*noContent, error) {
		panic("boom")
	})
	r := e.do(req{method: "GET", path: "/api/v1/panic-test", auth: "admin"})
	if r.status != 500 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var eb ErrorBody
	r.json(t, &eb)
	if eb.Error.Code != "server_error" || strings.Contains(eb.Error.Message, "boom") {
		t.Errorf("error %+v", eb.Error)
	}
	if !strings.Contains(e.logs.String(), "boom") {
		t.Errorf("panic not logged: %s", e.logs.String())
	}
}
