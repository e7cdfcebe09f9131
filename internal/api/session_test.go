package api

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mailport/internal/access"
)

func sessionCookieOf(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", CookieName, h)
	return nil
}

func TestLoginMeLogout(t *testing.T) {
	e := newEnv(t)
	bad := e.do(req{method: "POST", path: "/api/v1/session", body: map[string]string{"login": "da", "password": "wrong password"}})
	if bad.status != 401 || !strings.Contains(string(bad.body), `"invalid_credentials"`) {
		t.Fatalf("bad password: %d %s", bad.status, bad.body)
	}
	r := e.do(req{method: "POST", path: "/api/v1/session", body: map[string]string{"login": "DA", "password": testPassword}})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var s Session
	r.json(t, &s)
	if s.Account.Login != "da" || s.Account.Role != "domainadmin" || len(s.Account.Domains) != 1 || s.Account.Domains[0] != "a.test" || s.CSRFToken == "" {
		t.Fatalf("session %+v", s)
	}
	c := sessionCookieOf(t, r.header)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Value == "" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", c)
	}

	var me Session
	r = e.do(req{method: "GET", path: "/api/v1/me", cookie: c.Value})
	r.json(t, &me)
	if r.status != 200 || me.CSRFToken != s.CSRFToken || me.Account.Login != "da" {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	// Unsafe requests of the cookie session need the CSRF token.
	r = e.do(req{method: "POST", path: "/api/v1/mailboxes", cookie: c.Value, body: map[string]string{"address": "n@a.test", "password": testPassword}})
	if r.status != 403 {
		t.Fatalf("without CSRF: %d %s", r.status, r.body)
	}
	r = e.do(req{method: "POST", path: "/api/v1/mailboxes", cookie: c.Value, header: map[string]string{CSRFHeader: s.CSRFToken},
		body: map[string]string{"address": "n@a.test", "password": testPassword}})
	if r.status != 201 {
		t.Fatalf("with CSRF: %d %s", r.status, r.body)
	}
	// The audit log names the portal session's user and address.
	var audit struct {
		Items []AuditEntry `json:"items"`
	}
	e.do(req{method: "GET", path: "/api/v1/audit?actor=da", auth: "admin"}).json(t, &audit)
	if len(audit.Items) == 0 || audit.Items[0].Action != "mailbox.create" || audit.Items[0].RemoteIP != "192.0.2.1" {
		t.Errorf("audit %+v", audit.Items)
	}
	// Sessions list marks the current one.
	var ss struct {
		Items []SessionEntry `json:"items"`
	}
	e.do(req{method: "GET", path: "/api/v1/sessions", cookie: c.Value}).json(t, &ss)
	current := 0
	for _, x := range ss.Items {
		if x.Current {
			current++
		}
	}
	if len(ss.Items) != 2 || current != 1 {
		t.Errorf("sessions %+v", ss.Items)
	}

	r = e.do(req{method: "DELETE", path: "/api/v1/session", cookie: c.Value})
	if r.status != 403 {
		t.Fatalf("logout without CSRF: %d", r.status)
	}
	r = e.do(req{method: "DELETE", path: "/api/v1/session", cookie: c.Value, header: map[string]string{CSRFHeader: s.CSRFToken}})
	if r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if cleared := sessionCookieOf(t, r.header); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("logout cookie %+v", cleared)
	}
	if r = e.do(req{method: "GET", path: "/api/v1/me", cookie: c.Value}); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	hr := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"login":"admin","password":"`+testPassword+`"}`))
	hr.Header.Set("Content-Type", "application/json")
	hr.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, hr)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if c := sessionCookieOf(t, w.Header()); !c.Secure {
		t.Errorf("cookie over TLS not Secure: %+v", c)
	}
}

func TestTokenAuthentication(t *testing.T) {
	e := newEnv(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tok := e.creds["u@a.test"].Token
	tests := []struct {
		name, authz string
		status      int
	}{
		{"bearer", "Bearer " + tok, 200},
		{"basic login:token", basic("u@a.test", tok), 200},
		{"basic with upper-case login", basic("U@A.TEST", tok), 200},
		{"basic with another login", basic("v@b.test", tok), 401},
		{"basic with the password", basic("u@a.test", testPassword), 401},
		{"bearer with a malformed token", "Bearer nope", 401},
		{"unknown scheme", "Digest abc", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "GET", path: "/api/v1/me", header: map[string]string{"Authorization": tc.authz}})
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 200 {
				var s Session
				r.json(t, &s)
				if s.Account.Login != "u@a.test" || s.Account.Role != "user" || s.CSRFToken != "" {
					t.Errorf("me %+v", s)
				}
			}
		})
	}
	// A token needs no CSRF token, even with a session cookie beside it.
	r := e.do(req{method: "PATCH", path: "/api/v1/mailboxes/u@a.test", auth: "u@a.test", cookie: e.creds["u@a.test"].Cookie,
		body: map[string]string{"display_name": "U"}})
	if r.status != 200 {
		t.Fatalf("bearer PATCH: %d %s", r.status, r.body)
	}
	// A revoked token stops working.
	var created struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	e.do(req{method: "POST", path: "/api/v1/tokens", auth: "u@a.test", body: map[string]string{"name": "script"}}).json(t, &created)
	h := map[string]string{"Authorization": "Bearer " + created.Token}
	if r := e.do(req{method: "GET", path: "/api/v1/me", header: h}); r.status != 200 {
		t.Fatalf("new token: %d", r.status)
	}
	if r := e.do(req{method: "DELETE", path: "/api/v1/tokens/" + itoa(int(created.ID)), auth: "u@a.test"}); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "GET", path: "/api/v1/me", header: h}); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) {
			o.access.IPLimit = access.RateLimit{PerSecond: 1, Burst: 3}
			o.access.TokenLimit = access.RateLimit{PerSecond: 1000, Burst: 1000}
		})
		for i := range 3 {
			if r := e.do(req{method: "GET", path: "/api/v1/me", auth: "admin"}); r.status != 200 {
				t.Fatalf("request %d: %d", i, r.status)
			}
		}
		// Anonymous login attempts count against the address too.
		r := e.do(req{method: "POST", path: "/api/v1/session", body: map[string]string{"login": "admin", "password": testPassword}})
		if r.status != 429 || r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.body), `"rate_limited"`) {
			t.Fatalf("got %d %v %s", r.status, r.header, r.body)
		}
		// Another address is not affected; time refills the bucket.
		if r := e.do(req{method: "GET", path: "/api/v1/me", auth: "admin", remote: "198.51.100.7:1234"}); r.status != 200 {
			t.Fatalf("other address: %d", r.status)
		}
		e.advance(time.Second)
		if r := e.do(req{method: "GET", path: "/api/v1/me", auth: "admin"}); r.status != 200 {
			t.Fatalf("after waiting: %d", r.status)
		}
	})
	t.Run("per credential", func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) {
			o.access.IPLimit = access.RateLimit{PerSecond: 1000, Burst: 1000}
			o.access.TokenLimit = access.RateLimit{PerSecond: 0.5, Burst: 2}
		})
		for range 2 {
			e.do(req{method: "GET", path: "/api/v1/me", auth: "da"})
		}
		r := e.do(req{method: "GET", path: "/api/v1/me", auth: "da"})
		if r.status != 429 || r.header.Get("Retry-After") != "2" {
			t.Fatalf("got %d %v", r.status, r.header)
		}
		if r := e.do(req{method: "GET", path: "/api/v1/me", auth: "db"}); r.status != 200 {
			t.Fatalf("another token: %d", r.status)
		}
	})
}
