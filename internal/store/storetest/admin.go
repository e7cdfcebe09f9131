package storetest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/store"
)

func mustAdmin(t *testing.T, s store.Store, login string, role store.Role) store.Account {
	t.Helper()
	a, err := s.CreateAccount(t.Context(), store.Account{Address: login, PasswordHash: "x", Enabled: true, Role: role}, nil)
	noErr(t, "CreateAccount "+login, err)
	return a
}

func testAdminDomains(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "a.example")
	mustDomain(t, s, "b.example")
	mustDomain(t, s, "c.example")
	bob := mustAdmin(t, s, "bob", store.RoleDomainAdmin)
	eve := mustAdmin(t, s, "eve", store.RoleDomainAdmin)

	noErr(t, "SetAdminDomains", s.SetAdminDomains(ctx, bob.ID, []string{"b.example", "a.example"}))
	noErr(t, "AddAdminDomain", s.AddAdminDomain(ctx, eve.ID, "b.example"))
	noErr(t, "AddAdminDomain again", s.AddAdminDomain(ctx, eve.ID, "b.example"))
	got, err := s.AdminDomains(ctx, bob.ID)
	noErr(t, "AdminDomains", err)
	if !slices.Equal(got, []string{"a.example", "b.example"}) {
		t.Errorf("AdminDomains(bob) = %v", got)
	}
	admins, err := s.DomainAdmins(ctx, "b.example")
	noErr(t, "DomainAdmins", err)
	if !slices.Equal(admins, []int64{bob.ID, eve.ID}) {
		t.Errorf("DomainAdmins(b) = %v, want [%d %d]", admins, bob.ID, eve.ID)
	}

	// Replacing is all or nothing: an unknown domain changes nothing.
	wantErr(t, "SetAdminDomains unknown", s.SetAdminDomains(ctx, bob.ID, []string{"c.example", "missing.example"}), store.ErrNotFound)
	got, _ = s.AdminDomains(ctx, bob.ID)
	if !slices.Equal(got, []string{"a.example", "b.example"}) {
		t.Errorf("after failed SetAdminDomains: %v", got)
	}
	wantErr(t, "SetAdminDomains unknown account", s.SetAdminDomains(ctx, 9999, []string{"a.example"}), store.ErrNotFound)

	// Removing a domain removes its assignments.
	_, err = s.DeleteDomain(ctx, "a.example")
	noErr(t, "DeleteDomain", err)
	got, _ = s.AdminDomains(ctx, bob.ID)
	if !slices.Equal(got, []string{"b.example"}) {
		t.Errorf("after DeleteDomain: %v", got)
	}
	// Removing the account removes its assignments and limits.
	noErr(t, "SetAdminLimits", s.SetAdminLimits(ctx, store.AdminLimits{AccountID: eve.ID, MaxMailboxes: 3}))
	_, err = s.DeleteAccount(ctx, eve.ID)
	noErr(t, "DeleteAccount", err)
	admins, _ = s.DomainAdmins(ctx, "b.example")
	if !slices.Equal(admins, []int64{bob.ID}) {
		t.Errorf("after DeleteAccount: %v", admins)
	}
	l, err := s.AdminLimits(ctx, eve.ID)
	noErr(t, "AdminLimits deleted", err)
	if l.MaxMailboxes != 0 {
		t.Errorf("limits outlived their account: %+v", l)
	}
	_, err = s.DomainAdmins(ctx, "missing.example")
	wantErr(t, "DomainAdmins unknown", err, store.ErrNotFound)
}

func testAdminLimits(t *testing.T, s store.Store) {
	ctx := t.Context()
	bob := mustAdmin(t, s, "bob", store.RoleDomainAdmin)
	l, err := s.AdminLimits(ctx, bob.ID)
	noErr(t, "AdminLimits unset", err)
	if l != (store.AdminLimits{AccountID: bob.ID}) {
		t.Errorf("unset limits = %+v, want zero", l)
	}
	want := store.AdminLimits{AccountID: bob.ID, MaxDomains: 1, MaxMailboxes: 2, MaxAliases: 3, MaxDomainAliases: 4, MaxStorageBytes: 5 << 30}
	noErr(t, "SetAdminLimits", s.SetAdminLimits(ctx, want))
	if l, _ = s.AdminLimits(ctx, bob.ID); l != want {
		t.Errorf("AdminLimits = %+v, want %+v", l, want)
	}
	want.MaxMailboxes = 20
	noErr(t, "SetAdminLimits update", s.SetAdminLimits(ctx, want))
	if l, _ = s.AdminLimits(ctx, bob.ID); l != want {
		t.Errorf("AdminLimits after update = %+v, want %+v", l, want)
	}
	wantErr(t, "SetAdminLimits unknown account", s.SetAdminLimits(ctx, store.AdminLimits{AccountID: 9999}), store.ErrNotFound)
}

func testAdminUsage(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustDomain(t, s, "a.example")
	b := mustDomain(t, s, "b.example")
	other := mustDomain(t, s, "other.example")
	bob := mustAdmin(t, s, "bob", store.RoleDomainAdmin)
	noErr(t, "SetAdminDomains", s.SetAdminDomains(ctx, bob.ID, []string{"a.example", "b.example"}))

	u1 := mustAccount(t, s, a, "u1", 1000)
	mustAccount(t, s, b, "u2", 0)
	mustAccount(t, s, other, "u3", 5000)
	_, err := s.CreateAlias(ctx, store.Alias{Address: "team@a.example", Targets: []string{"u1@a.example"}})
	noErr(t, "CreateAlias", err)
	_, err = s.CreateAlias(ctx, store.Alias{Address: "team@other.example", Targets: []string{"u3@other.example"}})
	noErr(t, "CreateAlias other", err)
	noErr(t, "AddSenderAddress", s.AddSenderAddress(ctx, store.SenderAddress{AccountID: u1.ID, Address: "boss@a.example"}))
	noErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, "a-alias.example", "a.example"))
	noErr(t, "CreateDomainAlias other", s.CreateDomainAlias(ctx, "o-alias.example", "other.example"))
	inbox := mustMailbox(t, s, u1.ID, "INBOX")
	mustAppend(t, s, newMsg(inbox.ID, 300))

	u, err := s.AdminUsage(ctx, bob.ID)
	noErr(t, "AdminUsage", err)
	want := store.AdminUsage{Domains: 2, Mailboxes: 2, Aliases: 2, DomainAliases: 1, QuotaBytes: 1000, UsedBytes: 300, Unlimited: 1}
	if u != want {
		t.Errorf("AdminUsage = %+v, want %+v", u, want)
	}
	u, err = s.AdminUsage(ctx, 9999)
	noErr(t, "AdminUsage of nobody", err)
	if u != (store.AdminUsage{}) {
		t.Errorf("AdminUsage of an account without domains = %+v", u)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []store.AuditEntry{
		{Time: base, Actor: "cli", ActorRole: store.RoleMasterAdmin, Action: "domain.create", ObjectType: "domain", ObjectID: "a.example", Domain: "a.example", After: json.RawMessage(`{"name":"a.example"}`)},
		{Time: base.Add(time.Minute), Actor: "bob", ActorRole: store.RoleDomainAdmin, RemoteIP: "192.0.2.1", Action: "mailbox.update", ObjectType: "mailbox", ObjectID: "x@a.example", Domain: "a.example", Before: json.RawMessage(`{"quota":1}`), After: json.RawMessage(`{"quota":2}`)},
		{Time: base.Add(2 * time.Minute), Actor: "cli", ActorRole: store.RoleMasterAdmin, Action: "admin.create", ObjectType: "admin", ObjectID: "bob"},
		{Time: base.Add(3 * time.Minute), Actor: "amy", ActorRole: store.RoleDomainAdmin, Action: "relay.create", ObjectType: "relay_domain", ObjectID: "branch.b.example", Domain: "branch.b.example"},
		{Time: base.Add(4 * time.Minute), Actor: "amy", ActorRole: store.RoleDomainAdmin, Action: "mailbox.create", ObjectType: "mailbox", ObjectID: "y@xb.example", Domain: "xb.example"},
	}
	for i := range entries {
		e, err := s.AppendAudit(ctx, entries[i])
		noErr(t, "AppendAudit", err)
		if e.ID == 0 {
			t.Fatal("AppendAudit returned no ID")
		}
		entries[i] = e
	}
	ids := func(es []store.AuditEntry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	id := func(i ...int) []int64 {
		var out []int64
		for _, n := range i {
			out = append(out, entries[n].ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"all", store.AuditFilter{AllDomains: true}, id(4, 3, 2, 1, 0)},
		{"no domains", store.AuditFilter{}, nil},
		{"one domain", store.AuditFilter{Domains: []string{"a.example"}}, id(1, 0)},
		// A relay domain below b.example is b.example's; xb.example is not.
		{"subdomain", store.AuditFilter{Domains: []string{"b.example"}}, id(3)},
		{"since until", store.AuditFilter{AllDomains: true, Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}, id(2, 1)},
		{"actor", store.AuditFilter{AllDomains: true, Actor: "amy"}, id(4, 3)},
		{"page", store.AuditFilter{AllDomains: true, Limit: 2}, id(4, 3)},
		{"next page", store.AuditFilter{AllDomains: true, Limit: 2, BeforeID: entries[3].ID}, id(2, 1)},
	}
	for _, tc := range tests {
		got, err := s.ListAudit(ctx, tc.f)
		noErr(t, "ListAudit "+tc.name, err)
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("ListAudit %s = %v, want %v", tc.name, ids(got), tc.want)
		}
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{Domains: []string{"a.example"}, Limit: 1})
	noErr(t, "ListAudit", err)
	e := got[0]
	w := entries[1]
	if !e.Time.Equal(w.Time) || e.Actor != "bob" || e.ActorRole != store.RoleDomainAdmin || e.RemoteIP != "192.0.2.1" ||
		e.Action != w.Action || e.ObjectType != "mailbox" || e.ObjectID != w.ObjectID || e.Domain != "a.example" ||
		!bytes.Equal(e.Before, w.Before) || !bytes.Equal(e.After, w.After) {
		t.Errorf("read back %+v, want %+v", e, w)
	}
	got, _ = s.ListAudit(ctx, store.AuditFilter{AllDomains: true, Actor: "cli", Limit: 1})
	if len(got) != 1 || got[0].Before != nil || got[0].After != nil {
		t.Errorf("entry without before/after read back as %+v", got)
	}
}

func testAPITokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	amy := mustAccount(t, s, d, "amy", 0)
	bob := mustAccount(t, s, d, "bob", 0)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, err := s.CreateAPIToken(ctx, store.APIToken{AccountID: amy.ID, Name: "script", Hash: []byte("hash-1"), Prefix: "mp_aaaa"})
	noErr(t, "CreateAPIToken", err)
	t2, err := s.CreateAPIToken(ctx, store.APIToken{AccountID: amy.ID, Name: "ci", Hash: []byte("hash-2"), Prefix: "mp_bbbb", ExpiresAt: &exp})
	noErr(t, "CreateAPIToken 2", err)
	_, err = s.CreateAPIToken(ctx, store.APIToken{AccountID: bob.ID, Name: "x", Hash: []byte("hash-3"), Prefix: "mp_aaaa"})
	noErr(t, "CreateAPIToken same prefix", err)
	_, err = s.CreateAPIToken(ctx, store.APIToken{AccountID: bob.ID, Hash: []byte("hash-1"), Prefix: "mp_cccc"})
	wantErr(t, "CreateAPIToken same hash", err, store.ErrExists)
	_, err = s.CreateAPIToken(ctx, store.APIToken{AccountID: 9999, Hash: []byte("hash-9"), Prefix: "mp_dddd"})
	wantErr(t, "CreateAPIToken unknown account", err, store.ErrNotFound)

	list, err := s.ListAPITokens(ctx, amy.ID)
	noErr(t, "ListAPITokens", err)
	if len(list) != 2 || list[0].ID != t1.ID || list[1].ID != t2.ID || list[0].Name != "script" ||
		!bytes.Equal(list[1].Hash, []byte("hash-2")) || list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(exp) ||
		list[0].ExpiresAt != nil || !list[0].LastUsedAt.IsZero() || list[0].CreatedAt.IsZero() {
		t.Errorf("ListAPITokens = %+v", list)
	}
	byPrefix, err := s.APITokensByPrefix(ctx, "mp_aaaa")
	noErr(t, "APITokensByPrefix", err)
	if len(byPrefix) != 2 {
		t.Errorf("APITokensByPrefix = %+v, want 2 tokens", byPrefix)
	}

	used := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	noErr(t, "TouchAPIToken", s.TouchAPIToken(ctx, t1.ID, used))
	list, _ = s.ListAPITokens(ctx, amy.ID)
	if !list[0].LastUsedAt.Equal(used) {
		t.Errorf("LastUsedAt = %v, want %v", list[0].LastUsedAt, used)
	}
	wantErr(t, "TouchAPIToken missing", s.TouchAPIToken(ctx, 9999, used), store.ErrNotFound)

	// Another account cannot delete amy's token.
	wantErr(t, "DeleteAPIToken other account", s.DeleteAPIToken(ctx, bob.ID, t1.ID), store.ErrNotFound)
	noErr(t, "DeleteAPIToken", s.DeleteAPIToken(ctx, amy.ID, t1.ID))
	list, _ = s.ListAPITokens(ctx, amy.ID)
	if len(list) != 1 || list[0].ID != t2.ID {
		t.Errorf("after delete: %+v", list)
	}
	_, err = s.DeleteAccount(ctx, amy.ID)
	noErr(t, "DeleteAccount", err)
	if list, _ = s.APITokensByPrefix(ctx, "mp_bbbb"); len(list) != 0 {
		t.Errorf("token outlived its account: %+v", list)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	amy := mustAccount(t, s, d, "amy", 0)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s1 := store.Session{ID: "s1", AccountID: amy.ID, CSRFToken: "csrf1", CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour), RemoteIP: "192.0.2.9", UserAgent: "Firefox"}
	noErr(t, "CreateSession", s.CreateSession(ctx, s1))
	s2 := s1
	s2.ID, s2.CreatedAt, s2.ExpiresAt = "s2", now.Add(time.Minute), now.Add(2*time.Hour)
	noErr(t, "CreateSession 2", s.CreateSession(ctx, s2))
	wantErr(t, "CreateSession duplicate", s.CreateSession(ctx, s1), store.ErrExists)
	bad := s1
	bad.ID, bad.AccountID = "s3", 9999
	wantErr(t, "CreateSession unknown account", s.CreateSession(ctx, bad), store.ErrNotFound)

	got, err := s.GetSession(ctx, "s1")
	noErr(t, "GetSession", err)
	if got.AccountID != amy.ID || got.CSRFToken != "csrf1" || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(s1.ExpiresAt) ||
		got.RemoteIP != "192.0.2.9" || got.UserAgent != "Firefox" {
		t.Errorf("GetSession = %+v", got)
	}
	_, err = s.GetSession(ctx, "nope")
	wantErr(t, "GetSession missing", err, store.ErrNotFound)

	noErr(t, "TouchSession", s.TouchSession(ctx, "s1", now.Add(30*time.Minute), now.Add(3*time.Hour)))
	got, _ = s.GetSession(ctx, "s1")
	if !got.LastSeenAt.Equal(now.Add(30*time.Minute)) || !got.ExpiresAt.Equal(now.Add(3*time.Hour)) {
		t.Errorf("after TouchSession: %+v", got)
	}
	list, err := s.ListSessions(ctx, amy.ID)
	noErr(t, "ListSessions", err)
	if len(list) != 2 || list[0].ID != "s2" || list[1].ID != "s1" {
		t.Errorf("ListSessions = %+v, want s2, s1", list)
	}

	// s2 expires at now+2h, s1 now at now+3h.
	n, err := s.DeleteExpiredSessions(ctx, now.Add(150*time.Minute))
	noErr(t, "DeleteExpiredSessions", err)
	if n != 1 {
		t.Errorf("DeleteExpiredSessions removed %d, want 1", n)
	}
	if _, err := s.GetSession(ctx, "s2"); err == nil {
		t.Error("expired session s2 still there")
	}
	noErr(t, "CreateSession 4", s.CreateSession(ctx, store.Session{ID: "s4", AccountID: amy.ID, CSRFToken: "c", ExpiresAt: now.Add(time.Hour)}))
	noErr(t, "DeleteAccountSessions", s.DeleteAccountSessions(ctx, amy.ID, "s4"))
	if list, _ = s.ListSessions(ctx, amy.ID); len(list) != 1 || list[0].ID != "s4" {
		t.Errorf("after DeleteAccountSessions keeping s4: %+v", list)
	}
	noErr(t, "DeleteSession", s.DeleteSession(ctx, "s4"))
	wantErr(t, "DeleteSession again", s.DeleteSession(ctx, "s4"), store.ErrNotFound)
}

func testQueryAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustDomain(t, s, "a.example")
	b := mustDomain(t, s, "b.example")
	mustAdmin(t, s, "admin", store.RoleMasterAdmin)
	for i, local := range []string{"carol", "alice", "bob_x", "dave"} {
		acct := mustAccount(t, s, a, local, int64(1000*(i+1)))
		if local == "dave" {
			acct.DisplayName = "Dave ALICE-fan"
			noErr(t, "UpdateAccount", s.UpdateAccount(ctx, acct))
		}
	}
	mustAccount(t, s, b, "zoe", 0)
	addrs := func(as []store.Account) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Address)
		}
		return out
	}
	tests := []struct {
		name  string
		q     store.AccountQuery
		want  []string
		total int
	}{
		{"all", store.AccountQuery{AllDomains: true}, []string{"alice@a.example", "bob_x@a.example", "carol@a.example", "dave@a.example", "zoe@b.example"}, 5},
		{"none", store.AccountQuery{}, nil, 0},
		{"domain", store.AccountQuery{Domains: []string{"b.example"}}, []string{"zoe@b.example"}, 1},
		{"search address or name", store.AccountQuery{AllDomains: true, Search: "ALICE"}, []string{"alice@a.example", "dave@a.example"}, 2},
		// "_" is literal, not a LIKE wildcard.
		{"search literal", store.AccountQuery{AllDomains: true, Search: "b_x"}, []string{"bob_x@a.example"}, 1},
		{"search wildcard", store.AccountQuery{AllDomains: true, Search: "%"}, nil, 0},
		{"sort quota desc", store.AccountQuery{Domains: []string{"a.example"}, Sort: store.SortQuota, Desc: true}, []string{"dave@a.example", "bob_x@a.example", "alice@a.example", "carol@a.example"}, 4},
		{"page", store.AccountQuery{AllDomains: true, Limit: 2, Offset: 2}, []string{"carol@a.example", "dave@a.example"}, 5},
	}
	for _, tc := range tests {
		got, total, err := s.QueryAccounts(ctx, tc.q)
		noErr(t, "QueryAccounts "+tc.name, err)
		if !slices.Equal(addrs(got), tc.want) || total != tc.total {
			t.Errorf("QueryAccounts %s = %v (total %d), want %v (total %d)", tc.name, addrs(got), total, tc.want, tc.total)
		}
	}
	if _, _, err := s.QueryAccounts(ctx, store.AccountQuery{AllDomains: true, Sort: "password_hash"}); err == nil {
		t.Error("QueryAccounts with an unknown sort succeeded")
	}
}

func testStats(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustDomain(t, s, "a.example")
	mustDomain(t, s, "b.example")
	u1 := mustAccount(t, s, a, "u1", 10000)
	u2 := mustAccount(t, s, a, "u2", 0)
	_, err := s.CreateAlias(ctx, store.Alias{Address: "team@a.example", Targets: []string{"u1@a.example"}})
	noErr(t, "CreateAlias", err)
	mustAppend(t, s, newMsg(mustMailbox(t, s, u1.ID, "INBOX").ID, 100), newMsg(mustMailbox(t, s, u1.ID, "Sent").ID, 50))
	mustAppend(t, s, newMsg(mustMailbox(t, s, u2.ID, "INBOX").ID, 7))

	ds, err := s.DomainStats(ctx, nil)
	noErr(t, "DomainStats", err)
	want := []store.DomainStats{
		{Domain: "a.example", Mailboxes: 2, Aliases: 1, Messages: 3, Bytes: 157, QuotaBytes: 10000},
		{Domain: "b.example"},
	}
	if !slices.Equal(ds, want) {
		t.Errorf("DomainStats = %+v, want %+v", ds, want)
	}
	ds, err = s.DomainStats(ctx, []string{"b.example"})
	noErr(t, "DomainStats one", err)
	if !slices.Equal(ds, want[1:]) {
		t.Errorf("DomainStats(b) = %+v", ds)
	}
	if ds, _ = s.DomainStats(ctx, []string{}); len(ds) != 0 {
		t.Errorf("DomainStats(none) = %+v", ds)
	}
	ms, total, err := s.MailboxStats(ctx, store.MailboxStatsQuery{Domain: "a.example"})
	noErr(t, "MailboxStats", err)
	wantM := []store.MailboxStats{{Address: "u1@a.example", Messages: 2, Bytes: 150, QuotaBytes: 10000}, {Address: "u2@a.example", Messages: 1, Bytes: 7}}
	if !slices.Equal(ms, wantM) || total != 2 {
		t.Errorf("MailboxStats = %+v (total %d), want %+v (total 2)", ms, total, wantM)
	}
	_, _, err = s.MailboxStats(ctx, store.MailboxStatsQuery{Domain: "missing.example"})
	wantErr(t, "MailboxStats unknown", err, store.ErrNotFound)

	// A third mailbox makes each order different: u1 uses the most
	// bytes, u3 holds the most messages, u2 has no quota.
	u3 := mustAccount(t, s, a, "u3", 500)
	m3 := mustMailbox(t, s, u3.ID, "INBOX").ID
	mustAppend(t, s, newMsg(m3, 10), newMsg(m3, 10), newMsg(m3, 10))
	for _, tc := range []struct {
		name string
		q    store.MailboxStatsQuery
		want []string
	}{
		{"address", store.MailboxStatsQuery{Sort: store.StatsByAddress}, []string{"u1", "u2", "u3"}},
		{"address desc", store.MailboxStatsQuery{Desc: true}, []string{"u3", "u2", "u1"}},
		{"used desc", store.MailboxStatsQuery{Sort: store.StatsByUsed, Desc: true}, []string{"u1", "u3", "u2"}},
		{"quota", store.MailboxStatsQuery{Sort: store.StatsByQuota}, []string{"u2", "u3", "u1"}},
		{"messages desc", store.MailboxStatsQuery{Sort: store.StatsByMessages, Desc: true}, []string{"u3", "u1", "u2"}},
		{"messages", store.MailboxStatsQuery{Sort: store.StatsByMessages}, []string{"u2", "u1", "u3"}},
		{"page", store.MailboxStatsQuery{Sort: store.StatsByUsed, Desc: true, Limit: 1, Offset: 1}, []string{"u3"}},
		{"past the end", store.MailboxStatsQuery{Offset: 3}, nil},
	} {
		tc.q.Domain = "a.example"
		ms, total, err := s.MailboxStats(ctx, tc.q)
		noErr(t, "MailboxStats "+tc.name, err)
		var got []string
		for _, m := range ms {
			got = append(got, strings.TrimSuffix(m.Address, "@a.example"))
		}
		if !slices.Equal(got, tc.want) || total != 3 {
			t.Errorf("MailboxStats %s = %v (total %d), want %v (total 3)", tc.name, got, total, tc.want)
		}
		if tc.name == "messages desc" && ms[0] != (store.MailboxStats{Address: "u3@a.example", Messages: 3, Bytes: 30, QuotaBytes: 500}) {
			t.Errorf("MailboxStats of u3 = %+v", ms[0])
		}
	}
	if _, _, err := s.MailboxStats(ctx, store.MailboxStatsQuery{Domain: "a.example", Sort: "password_hash"}); err == nil {
		t.Error("MailboxStats with an unknown sort succeeded")
	}
}
