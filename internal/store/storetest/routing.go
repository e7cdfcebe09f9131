package storetest

import (
	"slices"
	"testing"
	"time"

	"mailport/internal/store"
)

func testDomainSDR(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "example.com")
	mustDomain(t, s, "other.example")

	d, err := s.GetDomain(ctx, "example.com")
	noErr(t, "GetDomain", err)
	if d.SDRHost != "" || d.SDRPort != 0 {
		t.Fatalf("new domain has split routing %q:%d", d.SDRHost, d.SDRPort)
	}

	noErr(t, "SetDomainSDR", s.SetDomainSDR(ctx, "example.com", "old.example.net", 2525))
	d, err = s.GetDomain(ctx, "example.com")
	noErr(t, "GetDomain", err)
	if d.SDRHost != "old.example.net" || d.SDRPort != 2525 {
		t.Errorf("after SetDomainSDR: %q:%d, want old.example.net:2525", d.SDRHost, d.SDRPort)
	}
	list, err := s.ListDomains(ctx)
	noErr(t, "ListDomains", err)
	if len(list) != 2 || list[0].SDRHost != "old.example.net" || list[0].SDRPort != 2525 || list[1].SDRHost != "" {
		t.Errorf("ListDomains = %+v", list)
	}

	// Off stores no port either.
	noErr(t, "SetDomainSDR off", s.SetDomainSDR(ctx, "example.com", "", 2525))
	d, err = s.GetDomain(ctx, "example.com")
	noErr(t, "GetDomain", err)
	if d.SDRHost != "" || d.SDRPort != 0 {
		t.Errorf("after turning off: %q:%d", d.SDRHost, d.SDRPort)
	}
	wantErr(t, "SetDomainSDR unknown domain", s.SetDomainSDR(ctx, "missing.example", "h.example", 25), store.ErrNotFound)
}

func testRelayDomains(t *testing.T, s store.Store) {
	ctx := t.Context()
	noErr(t, "CreateRelayDomain open", s.CreateRelayDomain(ctx, store.RelayDomain{Name: "open.example", Host: "mx.open.example", Port: 25}))
	noErr(t, "CreateRelayDomain listed", s.CreateRelayDomain(ctx, store.RelayDomain{
		Name: "listed.example", Host: "192.0.2.7", Port: 2525,
		Recipients: []string{"b@listed.example", "a@listed.example", "b@listed.example"},
	}))
	wantErr(t, "CreateRelayDomain duplicate",
		s.CreateRelayDomain(ctx, store.RelayDomain{Name: "open.example", Host: "x.example", Port: 25}), store.ErrExists)

	got, err := s.GetRelayDomain(ctx, "listed.example")
	noErr(t, "GetRelayDomain", err)
	want := store.RelayDomain{Name: "listed.example", Host: "192.0.2.7", Port: 2525, Recipients: []string{"a@listed.example", "b@listed.example"}}
	if got.Name != want.Name || got.Host != want.Host || got.Port != want.Port || !slices.Equal(got.Recipients, want.Recipients) {
		t.Errorf("GetRelayDomain = %+v, want %+v", got, want)
	}
	_, err = s.GetRelayDomain(ctx, "missing.example")
	wantErr(t, "GetRelayDomain missing", err, store.ErrNotFound)

	list, err := s.ListRelayDomains(ctx)
	noErr(t, "ListRelayDomains", err)
	if len(list) != 2 || list[0].Name != "listed.example" || list[1].Name != "open.example" ||
		len(list[0].Recipients) != 2 || len(list[1].Recipients) != 0 || list[1].Host != "mx.open.example" || list[1].Port != 25 {
		t.Errorf("ListRelayDomains = %+v", list)
	}

	routes := []struct {
		domain, addr string
		allowed      bool
		err          error
	}{
		{"open.example", "anyone@open.example", true, nil},
		{"listed.example", "a@listed.example", true, nil},
		{"listed.example", "c@listed.example", false, nil},
		{"missing.example", "a@missing.example", false, store.ErrNotFound},
	}
	for _, tc := range routes {
		t.Run("RelayRoute "+tc.addr, func(t *testing.T) {
			r, allowed, err := s.RelayRoute(ctx, tc.domain, tc.addr)
			if tc.err != nil {
				wantErr(t, "RelayRoute", err, tc.err)
				return
			}
			noErr(t, "RelayRoute", err)
			if allowed != tc.allowed || r.Name != tc.domain || r.Host == "" || r.Port == 0 || r.Recipients != nil {
				t.Errorf("RelayRoute = %+v, %v; want allowed %v and no recipient list", r, allowed, tc.allowed)
			}
		})
	}

	// An update replaces destination and list together.
	noErr(t, "UpdateRelayDomain", s.UpdateRelayDomain(ctx, store.RelayDomain{
		Name: "open.example", Host: "192.0.2.9", Port: 587, Recipients: []string{"z@open.example", "y@open.example"},
	}))
	got, err = s.GetRelayDomain(ctx, "open.example")
	noErr(t, "GetRelayDomain after update", err)
	if got.Host != "192.0.2.9" || got.Port != 587 || !slices.Equal(got.Recipients, []string{"y@open.example", "z@open.example"}) {
		t.Errorf("after UpdateRelayDomain: %+v", got)
	}
	noErr(t, "UpdateRelayDomain clearing the list", s.UpdateRelayDomain(ctx, store.RelayDomain{Name: "open.example", Host: "mx.open.example", Port: 25}))
	if _, allowed, err := s.RelayRoute(ctx, "open.example", "anyone@open.example"); err != nil || !allowed {
		t.Errorf("RelayRoute after clearing the list: %v, %v", allowed, err)
	}
	wantErr(t, "UpdateRelayDomain missing",
		s.UpdateRelayDomain(ctx, store.RelayDomain{Name: "missing.example", Host: "h.example", Port: 25}), store.ErrNotFound)

	noErr(t, "DeleteRelayDomain", s.DeleteRelayDomain(ctx, "listed.example"))
	wantErr(t, "DeleteRelayDomain again", s.DeleteRelayDomain(ctx, "listed.example"), store.ErrNotFound)
	_, err = s.GetRelayDomain(ctx, "listed.example")
	wantErr(t, "GetRelayDomain after delete", err, store.ErrNotFound)
	// Recreated without a list, it accepts everyone: the old list is gone.
	noErr(t, "CreateRelayDomain again", s.CreateRelayDomain(ctx, store.RelayDomain{Name: "listed.example", Host: "h.example", Port: 25}))
	if _, allowed, err := s.RelayRoute(ctx, "listed.example", "c@listed.example"); err != nil || !allowed {
		t.Errorf("RelayRoute after recreate: %v, %v", allowed, err)
	}
}

// testDomainNameKinds checks that a name is only one of hosted domain,
// domain alias and relay domain.
func testDomainNameKinds(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "hosted.example")
	noErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, "alias.example", "hosted.example"))
	noErr(t, "CreateRelayDomain", s.CreateRelayDomain(ctx, store.RelayDomain{Name: "relay.example", Host: "h.example", Port: 25}))

	for _, name := range []string{"hosted.example", "alias.example"} {
		wantErr(t, "CreateRelayDomain "+name,
			s.CreateRelayDomain(ctx, store.RelayDomain{Name: name, Host: "h.example", Port: 25}), store.ErrExists)
	}
	_, err := s.CreateDomain(ctx, "relay.example")
	wantErr(t, "CreateDomain named like a relay domain", err, store.ErrExists)
	wantErr(t, "CreateDomainAlias named like a relay domain",
		s.CreateDomainAlias(ctx, "relay.example", "hosted.example"), store.ErrExists)
	_, err = s.GetDomain(ctx, "relay.example")
	wantErr(t, "GetDomain of a relay domain", err, store.ErrNotFound)
}

func testDKIMKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "example.com")
	mustDomain(t, s, "other.example")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	noErr(t, "AddDKIMKey", s.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.com", Selector: "s1", Algorithm: "ed25519",
		PrivateKeyPEM: []byte("pem-1"), Active: true, CreatedAt: t0}))
	noErr(t, "AddDKIMKey other domain", s.AddDKIMKey(ctx, store.DKIMKey{Domain: "other.example", Selector: "s1", Algorithm: "rsa",
		PrivateKeyPEM: []byte("pem-o"), Active: true, CreatedAt: t0}))
	wantErr(t, "AddDKIMKey duplicate selector", s.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.com", Selector: "s1",
		Algorithm: "rsa", PrivateKeyPEM: []byte("x")}), store.ErrExists)
	wantErr(t, "AddDKIMKey unknown domain", s.AddDKIMKey(ctx, store.DKIMKey{Domain: "missing.example", Selector: "s1",
		Algorithm: "rsa", PrivateKeyPEM: []byte("x")}), store.ErrNotFound)

	keys, err := s.ListDKIMKeys(ctx, "example.com")
	noErr(t, "ListDKIMKeys", err)
	if len(keys) != 1 {
		t.Fatalf("ListDKIMKeys = %+v, want one key", keys)
	}
	k := keys[0]
	if k.Domain != "example.com" || k.Selector != "s1" || k.Algorithm != "ed25519" || string(k.PrivateKeyPEM) != "pem-1" ||
		!k.Active || !k.CreatedAt.Equal(t0) {
		t.Errorf("stored key = %+v", k)
	}
	_, err = s.ListDKIMKeys(ctx, "missing.example")
	wantErr(t, "ListDKIMKeys unknown domain", err, store.ErrNotFound)

	// An inactive key does not take over.
	noErr(t, "AddDKIMKey inactive", s.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.com", Selector: "s2", Algorithm: "rsa",
		PrivateKeyPEM: []byte("pem-2"), CreatedAt: t0.Add(time.Hour)}))
	if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("active after inactive add = %v, want [s1]", got)
	}
	noErr(t, "SetActiveDKIMKey", s.SetActiveDKIMKey(ctx, "example.com", "s2"))
	if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("active after SetActiveDKIMKey = %v, want [s2]", got)
	}
	wantErr(t, "SetActiveDKIMKey unknown selector", s.SetActiveDKIMKey(ctx, "example.com", "nope"), store.ErrNotFound)
	wantErr(t, "SetActiveDKIMKey unknown domain", s.SetActiveDKIMKey(ctx, "missing.example", "s1"), store.ErrNotFound)
	if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("a failed SetActiveDKIMKey changed the active key: %v", got)
	}
	// The other domain's key is untouched by all of this.
	if got := activeSelectors(t, s, "other.example"); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("other domain active = %v", got)
	}

	wantErr(t, "DeleteDKIMKey unknown", s.DeleteDKIMKey(ctx, "example.com", "nope"), store.ErrNotFound)
	noErr(t, "DeleteDKIMKey inactive", s.DeleteDKIMKey(ctx, "example.com", "s1"))
	if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("active after deleting the inactive key = %v", got)
	}
	noErr(t, "DeleteDKIMKey last", s.DeleteDKIMKey(ctx, "example.com", "s2"))
	keys, err = s.ListDKIMKeys(ctx, "example.com")
	noErr(t, "ListDKIMKeys", err)
	if len(keys) != 0 {
		t.Errorf("keys left: %+v", keys)
	}

	// Keys go with their domain.
	_, err = s.DeleteDomain(ctx, "other.example")
	noErr(t, "DeleteDomain", err)
	mustDomain(t, s, "other.example")
	keys, err = s.ListDKIMKeys(ctx, "other.example")
	noErr(t, "ListDKIMKeys", err)
	if len(keys) != 0 {
		t.Errorf("recreated domain has old keys: %+v", keys)
	}
}

// testDKIMKeyRotation follows the rotation procedure: a new active key
// leaves the old one published; deleting the active key hands signing to
// the newest remaining one.
func testDKIMKeyRotation(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "example.com")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, sel := range []string{"a", "b", "c"} {
		noErr(t, "AddDKIMKey "+sel, s.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.com", Selector: sel, Algorithm: "ed25519",
			PrivateKeyPEM: []byte("pem-" + sel), Active: true, CreatedAt: t0.Add(time.Duration(i) * time.Hour)}))
		if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{sel}) {
			t.Errorf("after adding %s: active %v", sel, got)
		}
	}
	keys, err := s.ListDKIMKeys(ctx, "example.com")
	noErr(t, "ListDKIMKeys", err)
	var sels []string
	for _, k := range keys {
		sels = append(sels, k.Selector)
	}
	if !slices.Equal(sels, []string{"a", "b", "c"}) {
		t.Errorf("ListDKIMKeys order = %v, want oldest first [a b c]", sels)
	}
	noErr(t, "SetActiveDKIMKey a", s.SetActiveDKIMKey(ctx, "example.com", "a"))
	noErr(t, "DeleteDKIMKey active a", s.DeleteDKIMKey(ctx, "example.com", "a"))
	if got := activeSelectors(t, s, "example.com"); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after deleting the active key: active %v, want the newest [c]", got)
	}
}

func activeSelectors(t *testing.T, s store.Store, domain string) []string {
	t.Helper()
	keys, err := s.ListDKIMKeys(t.Context(), domain)
	noErr(t, "ListDKIMKeys", err)
	var out []string
	for _, k := range keys {
		if k.Active {
			out = append(out, k.Selector)
		}
	}
	return out
}
