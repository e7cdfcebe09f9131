package directory_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"mailport/internal/directory"
	"mailport/internal/store"
)

// lastAudit returns the newest audit entry.
func lastAudit(t *testing.T, f *scopeFixture) store.AuditEntry {
	t.Helper()
	es, err := f.st.ListAudit(t.Context(), store.AuditFilter{AllDomains: true, Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("newest audit entry: %v, %d entries", err, len(es))
	}
	return es[0]
}

func TestSetAliasTargets(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob := f.as(t, "bob")

	al, err := bob.SetAliasTargets(ctx, "Team@A.example", []string{"AMY@a.example", " zed@a.example", "amy@a.example"})
	must(t, err)
	if want := []string{"amy@a.example", "zed@a.example"}; al.Address != "team@a.example" || !slices.Equal(al.Targets, want) {
		t.Errorf("SetAliasTargets = %+v, want targets %v", al, want)
	}
	stored, err := f.st.GetAlias(ctx, "team@a.example")
	must(t, err)
	if !slices.Equal(stored.Targets, al.Targets) {
		t.Errorf("stored targets %v, answered %v", stored.Targets, al.Targets)
	}
	e := lastAudit(t, f)
	var before, after store.Alias
	must(t, json.Unmarshal(e.Before, &before))
	must(t, json.Unmarshal(e.After, &after))
	if e.Action != "alias.update" || e.Actor != "bob" || e.Domain != "a.example" ||
		!slices.Equal(before.Targets, []string{"x@ext.example"}) || !slices.Equal(after.Targets, al.Targets) {
		t.Errorf("audit entry %+v: before %s after %s", e, e.Before, e.After)
	}

	// Bad input changes nothing and is not audited.
	n := f.auditCount(t)
	for _, tc := range []struct {
		name    string
		address string
		targets []string
		want    error
	}{
		{"no such alias", "nobody@a.example", []string{"amy@a.example"}, store.ErrNotFound},
		{"malformed target", "team@a.example", []string{"not an address"}, directory.ErrInvalidAddress},
		{"itself", "team@a.example", []string{"amy@a.example", "team@a.example"}, directory.ErrLoop},
	} {
		if _, err := bob.SetAliasTargets(ctx, tc.address, tc.targets); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := bob.SetAliasTargets(ctx, "team@a.example", nil); err == nil {
		t.Error("no targets: accepted")
	}
	if got, _ := f.st.GetAlias(ctx, "team@a.example"); !slices.Equal(got.Targets, al.Targets) {
		t.Errorf("targets after refused updates: %v", got.Targets)
	}
	if f.auditCount(t) != n {
		t.Errorf("refused updates were audited")
	}
}

func TestUpdateRelayDomain(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob := f.as(t, "bob")

	// Only the given fields change.
	rd, err := bob.UpdateRelayDomain(ctx, "r.a.example", directory.RelayUpdate{Port: ptr(2525)})
	must(t, err)
	if rd.Host != "mx.r.example" || rd.Port != 2525 || len(rd.Recipients) != 0 {
		t.Errorf("port only: %+v", rd)
	}
	rd, err = bob.UpdateRelayDomain(ctx, "R.A.example", directory.RelayUpdate{
		Host: ptr("[2001:db8::1]"), Recipients: &[]string{"b@r.a.example", "A@r.a.example", "b@r.a.example"},
	})
	must(t, err)
	if rd.Host != "2001:db8::1" || rd.Port != 2525 || !slices.Equal(rd.Recipients, []string{"b@r.a.example", "a@r.a.example"}) {
		t.Errorf("host and recipients: %+v", rd)
	}
	if _, ok, err := f.st.RelayRoute(ctx, "r.a.example", "c@r.a.example"); err != nil || ok {
		t.Errorf("an address off the new list is accepted: %v %v", ok, err)
	}
	e := lastAudit(t, f)
	var before, after store.RelayDomain
	must(t, json.Unmarshal(e.Before, &before))
	must(t, json.Unmarshal(e.After, &after))
	if e.Action != "relay_domain.update" || e.Domain != "r.a.example" || before.Host != "mx.r.example" || before.Port != 2525 ||
		after.Host != "2001:db8::1" || len(after.Recipients) != 2 {
		t.Errorf("audit entry %+v: before %s after %s", e, e.Before, e.After)
	}
	// An empty list accepts everyone again.
	rd, err = bob.UpdateRelayDomain(ctx, "r.a.example", directory.RelayUpdate{Recipients: &[]string{}})
	must(t, err)
	if _, ok, err := f.st.RelayRoute(ctx, "r.a.example", "c@r.a.example"); err != nil || !ok || len(rd.Recipients) != 0 {
		t.Errorf("after clearing the list: %+v, accepted %v, %v", rd, ok, err)
	}

	n := f.auditCount(t)
	for _, tc := range []struct {
		name  string
		relay string
		up    directory.RelayUpdate
		want  error
	}{
		{"no such relay domain", "x.a.example", directory.RelayUpdate{Port: ptr(25)}, store.ErrNotFound},
		{"bad host", "r.a.example", directory.RelayUpdate{Host: ptr("not a host!")}, directory.ErrInvalidRoute},
		{"bad port", "r.a.example", directory.RelayUpdate{Port: ptr(0)}, directory.ErrInvalidRoute},
		{"recipient of another domain", "r.a.example", directory.RelayUpdate{Recipients: &[]string{"a@a.example"}}, directory.ErrInvalidAddress},
	} {
		if _, err := bob.UpdateRelayDomain(ctx, tc.relay, tc.up); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, _ := f.st.GetRelayDomain(ctx, "r.a.example"); got.Host != "2001:db8::1" || got.Port != 2525 {
		t.Errorf("relay domain after refused updates: %+v", got)
	}
	if f.auditCount(t) != n {
		t.Errorf("refused updates were audited")
	}
}
