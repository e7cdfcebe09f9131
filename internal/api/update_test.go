package api

import (
	"slices"
	"testing"

	"mailport/internal/directory"
)

func TestUpdateAlias(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "PATCH", path: "/api/v1/aliases/al@a.test", auth: "da", body: map[string]any{"targets": []string{"U2@a.test", "ext@remote.test"}}})
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	var al directory.Alias
	r.json(t, &al)
	if al.Address != "al@a.test" || !slices.Equal(al.Targets, []string{"u2@a.test", "ext@remote.test"}) {
		t.Errorf("answer %+v", al)
	}
	var got directory.Alias
	e.do(req{method: "GET", path: "/api/v1/aliases/al@a.test", auth: "da"}).json(t, &got)
	if !slices.Equal(got.Targets, al.Targets) {
		t.Errorf("GET after PATCH: %+v", got)
	}
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
	}{
		{"no such alias", "/api/v1/aliases/none@a.test", map[string]any{"targets": []string{"u@a.test"}}, 404},
		{"no targets", "/api/v1/aliases/al@a.test", map[string]any{"targets": []string{}}, 422},
		{"malformed target", "/api/v1/aliases/al@a.test", map[string]any{"targets": []string{"nope"}}, 422},
		{"unknown field", "/api/v1/aliases/al@a.test", map[string]any{"targets": []string{"u@a.test"}, "address": "x@a.test"}, 422},
	} {
		r := e.do(req{method: "PATCH", path: tc.path, auth: "da", body: tc.body})
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	e.do(req{method: "GET", path: "/api/v1/aliases/al@a.test", auth: "da"}).json(t, &got)
	if !slices.Equal(got.Targets, al.Targets) {
		t.Errorf("refused PATCHes changed the alias: %+v", got)
	}
}

func TestUpdateRelayDomain(t *testing.T) {
	e := newEnv(t)
	patch := func(body any) (directory.RelayDomain, resp) {
		t.Helper()
		r := e.do(req{method: "PATCH", path: "/api/v1/relay-domains/r.a.test", auth: "da", body: body})
		var rd directory.RelayDomain
		if r.status == 200 {
			r.json(t, &rd)
		}
		return rd, r
	}
	rd, r := patch(map[string]any{"recipients": []string{"boss@r.a.test"}})
	if r.status != 200 || rd.Host != "relay.example.net" || rd.Port != 25 || !slices.Equal(rd.Recipients, []string{"boss@r.a.test"}) {
		t.Fatalf("recipients only: %d %s", r.status, r.body)
	}
	rd, r = patch(map[string]any{"host": "192.0.2.44", "port": 2526})
	if r.status != 200 || rd.Host != "192.0.2.44" || rd.Port != 2526 || len(rd.Recipients) != 1 {
		t.Fatalf("host and port: %d %s", r.status, r.body)
	}
	rd, r = patch(map[string]any{"recipients": []string{}})
	if r.status != 200 || len(rd.Recipients) != 0 || rd.Host != "192.0.2.44" {
		t.Fatalf("clearing the list: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"bad host", map[string]any{"host": "bad host"}, 422},
		{"port out of range", map[string]any{"port": 70000}, 422},
		{"recipient elsewhere", map[string]any{"recipients": []string{"x@a.test"}}, 422},
		{"unknown field", map[string]any{"name": "r2.a.test"}, 422},
	} {
		if _, r := patch(tc.body); r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	r = e.do(req{method: "PATCH", path: "/api/v1/relay-domains/none.a.test", auth: "da", body: map[string]any{"port": 25}})
	if r.status != 404 {
		t.Errorf("no such relay domain: %d %s", r.status, r.body)
	}
	var got directory.RelayDomain
	e.do(req{method: "GET", path: "/api/v1/relay-domains/r.a.test", auth: "da"}).json(t, &got)
	if got.Host != "192.0.2.44" || got.Port != 2526 || len(got.Recipients) != 0 {
		t.Errorf("after refused PATCHes: %+v", got)
	}
}
