package storetest

import (
	"slices"
	"testing"
	"time"

	"mailport/internal/store"
)

func testDomains(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	b := mustDomain(t, s, "b.example")
	a := mustDomain(t, s, "a.example")
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("domain ids %d and %d, want distinct non-zero", a.ID, b.ID)
	}
	if a.Name != "a.example" || a.CreatedAt.Before(before) || a.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("created domain = %+v", a)
	}

	_, err := s.CreateDomain(ctx, "a.example")
	wantErr(t, "CreateDomain duplicate", err, store.ErrExists)

	got, err := s.GetDomain(ctx, "a.example")
	noErr(t, "GetDomain", err)
	if got.ID != a.ID || got.Name != a.Name || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("GetDomain = %+v, want %+v", got, a)
	}
	_, err = s.GetDomain(ctx, "missing.example")
	wantErr(t, "GetDomain missing", err, store.ErrNotFound)

	list, err := s.ListDomains(ctx)
	noErr(t, "ListDomains", err)
	if len(list) != 2 || list[0].Name != "a.example" || list[1].Name != "b.example" {
		t.Errorf("ListDomains = %+v, want a.example, b.example", list)
	}

	blobs, err := s.DeleteDomain(ctx, "b.example")
	noErr(t, "DeleteDomain", err)
	if len(blobs) != 0 {
		t.Errorf("DeleteDomain of empty domain returned blobs %v", blobs)
	}
	_, err = s.GetDomain(ctx, "b.example")
	wantErr(t, "GetDomain after delete", err, store.ErrNotFound)
	_, err = s.DeleteDomain(ctx, "b.example")
	wantErr(t, "DeleteDomain again", err, store.ErrNotFound)

	// The name is free again.
	mustDomain(t, s, "b.example")
}

func testDomainAliases(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "example.com")
	mustDomain(t, s, "other.example")

	noErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, "example.net", "example.com"))
	noErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, "example.org", "example.com"))

	tests := []struct {
		name          string
		alias, domain string
		want          error
	}{
		{"duplicate alias", "example.net", "other.example", store.ErrExists},
		{"alias is a hosted domain", "other.example", "example.com", store.ErrExists},
		{"unknown domain", "example.info", "missing.example", store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, tc.alias, tc.domain), tc.want)
		})
	}

	_, err := s.CreateDomain(ctx, "example.net")
	wantErr(t, "CreateDomain named like an alias", err, store.ErrExists)

	got, err := s.GetDomainAlias(ctx, "example.net")
	noErr(t, "GetDomainAlias", err)
	if got != (store.DomainAlias{Alias: "example.net", Domain: "example.com"}) {
		t.Errorf("GetDomainAlias = %+v", got)
	}
	_, err = s.GetDomainAlias(ctx, "example.com")
	wantErr(t, "GetDomainAlias of a domain", err, store.ErrNotFound)

	list, err := s.ListDomainAliases(ctx)
	noErr(t, "ListDomainAliases", err)
	want := []store.DomainAlias{{Alias: "example.net", Domain: "example.com"}, {Alias: "example.org", Domain: "example.com"}}
	if !slices.Equal(list, want) {
		t.Errorf("ListDomainAliases = %+v, want %+v", list, want)
	}

	noErr(t, "DeleteDomainAlias", s.DeleteDomainAlias(ctx, "example.org"))
	wantErr(t, "DeleteDomainAlias again", s.DeleteDomainAlias(ctx, "example.org"), store.ErrNotFound)
	_, err = s.GetDomainAlias(ctx, "example.org")
	wantErr(t, "GetDomainAlias after delete", err, store.ErrNotFound)

	// Deleting the domain takes its aliases with it.
	_, err = s.DeleteDomain(ctx, "example.com")
	noErr(t, "DeleteDomain", err)
	list, err = s.ListDomainAliases(ctx)
	noErr(t, "ListDomainAliases", err)
	if len(list) != 0 {
		t.Errorf("domain aliases left after DeleteDomain: %+v", list)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	d2 := mustDomain(t, s, "example.org")

	bob := mustAccount(t, s, d, "bob", 1<<20)
	alice := mustAccount(t, s, d, "alice", 0)
	carol := mustAccount(t, s, d2, "carol", 0)
	if bob.ID == 0 || bob.ID == alice.ID {
		t.Fatalf("account ids %d, %d", bob.ID, alice.ID)
	}
	if bob.UsedBytes != 0 || bob.QuotaBytes != 1<<20 || !bob.Enabled || bob.Role != store.RoleUser || bob.CreatedAt.IsZero() {
		t.Errorf("created account = %+v", bob)
	}

	admin, err := s.CreateAccount(ctx, store.Account{Address: "admin", Role: store.RoleMasterAdmin, Enabled: true}, nil)
	noErr(t, "CreateAccount admin without domain", err)
	if admin.DomainID != 0 {
		t.Errorf("admin DomainID = %d, want 0", admin.DomainID)
	}

	_, err = s.CreateAccount(ctx, store.Account{Address: "bob@example.com", DomainID: d.ID}, nil)
	wantErr(t, "CreateAccount duplicate address", err, store.ErrExists)
	_, err = s.CreateAccount(ctx, store.Account{Address: "x@nowhere.example", DomainID: d.ID + d2.ID + 100}, nil)
	wantErr(t, "CreateAccount with unknown domain id", err, store.ErrNotFound)

	got, err := s.GetAccount(ctx, bob.ID)
	noErr(t, "GetAccount", err)
	if got.Address != bob.Address || got.DomainID != d.ID || got.DisplayName != "bob" ||
		got.PasswordHash != bob.PasswordHash || got.QuotaBytes != bob.QuotaBytes || !got.CreatedAt.Equal(bob.CreatedAt) {
		t.Errorf("GetAccount = %+v, want %+v", got, bob)
	}
	got, err = s.GetAccountByAddress(ctx, "alice@example.com")
	noErr(t, "GetAccountByAddress", err)
	if got.ID != alice.ID {
		t.Errorf("GetAccountByAddress id = %d, want %d", got.ID, alice.ID)
	}
	got, err = s.GetAccountByAddress(ctx, "admin")
	noErr(t, "GetAccountByAddress admin", err)
	if got.Role != store.RoleMasterAdmin {
		t.Errorf("admin role = %q", got.Role)
	}
	_, err = s.GetAccount(ctx, admin.ID+1000)
	wantErr(t, "GetAccount missing", err, store.ErrNotFound)
	_, err = s.GetAccountByAddress(ctx, "nobody@example.com")
	wantErr(t, "GetAccountByAddress missing", err, store.ErrNotFound)

	listTests := []struct {
		domain string
		want   []string
	}{
		{"example.com", []string{"alice@example.com", "bob@example.com"}},
		{"example.org", []string{"carol@example.org"}},
		{"", []string{"admin", "alice@example.com", "bob@example.com", "carol@example.org"}},
	}
	for _, tc := range listTests {
		list, err := s.ListAccounts(ctx, tc.domain)
		noErr(t, "ListAccounts "+tc.domain, err)
		var addrs []string
		for _, a := range list {
			addrs = append(addrs, a.Address)
		}
		if !slices.Equal(addrs, tc.want) {
			t.Errorf("ListAccounts(%q) = %v, want %v", tc.domain, addrs, tc.want)
		}
	}
	_, err = s.ListAccounts(ctx, "missing.example")
	wantErr(t, "ListAccounts of unknown domain", err, store.ErrNotFound)

	upd := carol
	upd.DisplayName = "Carol C."
	upd.PasswordHash = "new-hash"
	upd.QuotaBytes = 5000
	upd.Enabled = false
	upd.Role = store.RoleDomainAdmin
	upd.Address = "ignored@example.org"
	upd.UsedBytes = 12345
	noErr(t, "UpdateAccount", s.UpdateAccount(ctx, upd))
	got, err = s.GetAccount(ctx, carol.ID)
	noErr(t, "GetAccount after update", err)
	if got.DisplayName != "Carol C." || got.PasswordHash != "new-hash" || got.QuotaBytes != 5000 ||
		got.Enabled || got.Role != store.RoleDomainAdmin {
		t.Errorf("updated account = %+v", got)
	}
	if got.Address != "carol@example.org" || got.UsedBytes != 0 {
		t.Errorf("UpdateAccount changed address or usage: %+v", got)
	}
	upd.ID = admin.ID + 1000
	wantErr(t, "UpdateAccount missing", s.UpdateAccount(ctx, upd), store.ErrNotFound)
}

func testAccountFoldersAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	a := mustAccount(t, s, d, "bob", 0)
	mbs, err := s.ListMailboxes(ctx, a.ID)
	noErr(t, "ListMailboxes", err)
	if got, want := names(mbs), []string{"Drafts", "INBOX", "Junk", "Sent", "Trash"}; !slices.Equal(got, want) {
		t.Fatalf("folders = %v, want %v", got, want)
	}
	for _, m := range mbs {
		if m.AccountID != a.ID || m.UIDNext != 1 || m.UIDValidity == 0 || m.Messages != 0 {
			t.Errorf("new folder %+v", m)
		}
		if m.Name == "Sent" && m.SpecialUse != store.SpecialSent {
			t.Errorf("Sent special use = %q", m.SpecialUse)
		}
	}

	// A folder list that cannot be created (duplicate name) leaves no
	// account behind.
	_, err = s.CreateAccount(ctx, store.Account{Address: "eve@example.com", DomainID: d.ID, Enabled: true},
		[]store.MailboxSpec{{Name: "INBOX"}, {Name: "INBOX"}})
	wantErr(t, "CreateAccount with duplicate folders", err, store.ErrExists)
	_, err = s.GetAccountByAddress(ctx, "eve@example.com")
	wantErr(t, "account after failed create", err, store.ErrNotFound)
	// And the address can then be created properly.
	mustAccount(t, s, d, "eve", 0)
}

func testDeleteAccount(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	alice := mustAccount(t, s, d, "alice", 0)
	inbox := mustMailbox(t, s, bob.ID, "INBOX")
	sent := mustMailbox(t, s, bob.ID, "Sent")
	bobMsgs := mustAppend(t, s, newMsg(inbox.ID, 100), newMsg(inbox.ID, 200), newMsg(sent.ID, 300))
	aliceMsgs := mustAppend(t, s, newMsg(mustMailbox(t, s, alice.ID, "INBOX").ID, 50))
	noErr(t, "AddForward", s.AddForward(ctx, store.Forward{AccountID: bob.ID, Target: "bob@elsewhere.example"}))
	noErr(t, "AddSenderAddress", s.AddSenderAddress(ctx, store.SenderAddress{AccountID: bob.ID, Address: "info@example.com"}))

	blobs, err := s.DeleteAccount(ctx, bob.ID)
	noErr(t, "DeleteAccount", err)
	if !sameSet(blobs, blobsOf(bobMsgs)) {
		t.Errorf("DeleteAccount blobs = %v, want %v", blobs, blobsOf(bobMsgs))
	}
	_, err = s.GetAccount(ctx, bob.ID)
	wantErr(t, "GetAccount after delete", err, store.ErrNotFound)
	_, err = s.GetMailboxByID(ctx, inbox.ID)
	wantErr(t, "GetMailboxByID after account delete", err, store.ErrNotFound)
	_, err = s.GetMessage(ctx, inbox.ID, bobMsgs[0].UID)
	wantErr(t, "GetMessage after account delete", err, store.ErrNotFound)
	fwd, err := s.ListForwards(ctx, bob.ID)
	noErr(t, "ListForwards", err)
	snd, err := s.ListSenderAddresses(ctx, bob.ID)
	noErr(t, "ListSenderAddresses", err)
	if len(fwd) != 0 || len(snd) != 0 {
		t.Errorf("forwards %v and sender addresses %v left after DeleteAccount", fwd, snd)
	}
	_, err = s.DeleteAccount(ctx, bob.ID)
	wantErr(t, "DeleteAccount again", err, store.ErrNotFound)

	// Alice is untouched.
	got, err := s.GetMessage(ctx, aliceMsgs[0].MailboxID, aliceMsgs[0].UID)
	noErr(t, "GetMessage of other account", err)
	if got.BlobID != aliceMsgs[0].BlobID {
		t.Errorf("other account's message changed: %+v", got)
	}
	acct, err := s.GetAccount(ctx, alice.ID)
	noErr(t, "GetAccount alice", err)
	if acct.UsedBytes != 50 {
		t.Errorf("alice UsedBytes = %d, want 50", acct.UsedBytes)
	}
}

func testDeleteDomainCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	keep := mustDomain(t, s, "keep.example")
	bob := mustAccount(t, s, d, "bob", 0)
	alice := mustAccount(t, s, d, "alice", 0)
	kate := mustAccount(t, s, keep, "kate", 0)
	doomed := mustAppend(t, s,
		newMsg(mustMailbox(t, s, bob.ID, "INBOX").ID, 10),
		newMsg(mustMailbox(t, s, alice.ID, "Sent").ID, 20),
	)
	kept := mustAppend(t, s, newMsg(mustMailbox(t, s, kate.ID, "INBOX").ID, 30))
	_, err := s.CreateAlias(ctx, store.Alias{Address: "team@example.com", Targets: []string{"bob@example.com"}})
	noErr(t, "CreateAlias", err)
	_, err = s.CreateAlias(ctx, store.Alias{Address: "team@keep.example", Targets: []string{"bob@example.com"}})
	noErr(t, "CreateAlias", err)
	noErr(t, "CreateDomainAlias", s.CreateDomainAlias(ctx, "example.net", "example.com"))

	blobs, err := s.DeleteDomain(ctx, "example.com")
	noErr(t, "DeleteDomain", err)
	if !sameSet(blobs, blobsOf(doomed)) {
		t.Errorf("DeleteDomain blobs = %v, want %v", blobs, blobsOf(doomed))
	}
	for _, id := range []int64{bob.ID, alice.ID} {
		_, err := s.GetAccount(ctx, id)
		wantErr(t, "GetAccount after DeleteDomain", err, store.ErrNotFound)
	}
	_, err = s.GetAlias(ctx, "team@example.com")
	wantErr(t, "GetAlias after DeleteDomain", err, store.ErrNotFound)
	_, err = s.GetDomainAlias(ctx, "example.net")
	wantErr(t, "GetDomainAlias after DeleteDomain", err, store.ErrNotFound)

	// The other domain keeps everything, including an alias whose target
	// was in the deleted domain (targets are plain addresses).
	if _, err := s.GetAccount(ctx, kate.ID); err != nil {
		t.Errorf("GetAccount of other domain: %v", err)
	}
	if _, err := s.GetAlias(ctx, "team@keep.example"); err != nil {
		t.Errorf("GetAlias of other domain: %v", err)
	}
	if _, err := s.GetMessage(ctx, kept[0].MailboxID, kept[0].UID); err != nil {
		t.Errorf("GetMessage of other domain: %v", err)
	}
}

func testAliases(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "example.com")
	mustDomain(t, s, "example.org")

	team, err := s.CreateAlias(ctx, store.Alias{
		Address: "team@example.com",
		Targets: []string{"zed@example.com", "amy@example.com", "ext@elsewhere.example", "amy@example.com"},
	})
	noErr(t, "CreateAlias", err)
	wantTargets := []string{"zed@example.com", "amy@example.com", "ext@elsewhere.example"}
	if team.ID == 0 || !slices.Equal(team.Targets, wantTargets) {
		t.Errorf("CreateAlias = %+v, want targets %v (given order, duplicates dropped)", team, wantTargets)
	}
	_, err = s.CreateAlias(ctx, store.Alias{Address: "info@example.com", Targets: []string{"team@example.com"}})
	noErr(t, "CreateAlias alias of alias", err)
	_, err = s.CreateAlias(ctx, store.Alias{Address: "sales@example.org", Targets: []string{"amy@example.com"}})
	noErr(t, "CreateAlias other domain", err)

	_, err = s.CreateAlias(ctx, store.Alias{Address: "team@example.com", Targets: []string{"x@example.com"}})
	wantErr(t, "CreateAlias duplicate", err, store.ErrExists)
	_, err = s.CreateAlias(ctx, store.Alias{Address: "x@missing.example", Targets: []string{"x@example.com"}})
	wantErr(t, "CreateAlias in unknown domain", err, store.ErrNotFound)

	got, err := s.GetAlias(ctx, "team@example.com")
	noErr(t, "GetAlias", err)
	if got.ID != team.ID || got.Address != team.Address || !slices.Equal(got.Targets, wantTargets) {
		t.Errorf("GetAlias = %+v, want %+v", got, team)
	}
	_, err = s.GetAlias(ctx, "nobody@example.com")
	wantErr(t, "GetAlias missing", err, store.ErrNotFound)

	listTests := []struct {
		domain string
		want   []string
	}{
		{"example.com", []string{"info@example.com", "team@example.com"}},
		{"example.org", []string{"sales@example.org"}},
		{"", []string{"info@example.com", "sales@example.org", "team@example.com"}},
	}
	for _, tc := range listTests {
		list, err := s.ListAliases(ctx, tc.domain)
		noErr(t, "ListAliases "+tc.domain, err)
		var addrs []string
		for _, a := range list {
			addrs = append(addrs, a.Address)
			if a.Address == "team@example.com" && !slices.Equal(a.Targets, wantTargets) {
				t.Errorf("ListAliases targets of team = %v", a.Targets)
			}
		}
		if !slices.Equal(addrs, tc.want) {
			t.Errorf("ListAliases(%q) = %v, want %v", tc.domain, addrs, tc.want)
		}
	}
	_, err = s.ListAliases(ctx, "missing.example")
	wantErr(t, "ListAliases of unknown domain", err, store.ErrNotFound)

	// Replacing the targets keeps the alias (its ID) and drops the old
	// targets; an unknown alias is ErrNotFound.
	set, err := s.SetAliasTargets(ctx, "team@example.com", []string{"new@example.com", "amy@example.com", "new@example.com"})
	noErr(t, "SetAliasTargets", err)
	got, err = s.GetAlias(ctx, "team@example.com")
	noErr(t, "GetAlias after SetAliasTargets", err)
	if want := []string{"new@example.com", "amy@example.com"}; set.ID != team.ID || got.ID != team.ID || !slices.Equal(got.Targets, want) || !slices.Equal(set.Targets, want) {
		t.Errorf("after SetAliasTargets: returned %+v, stored %+v, want ID %d and targets %v", set, got, team.ID, want)
	}
	_, err = s.SetAliasTargets(ctx, "nobody@example.com", []string{"x@example.com"})
	wantErr(t, "SetAliasTargets missing", err, store.ErrNotFound)
	if _, err := s.SetAliasTargets(ctx, "team@example.com", nil); err == nil {
		t.Error("SetAliasTargets without targets succeeded")
	}

	noErr(t, "DeleteAlias", s.DeleteAlias(ctx, "team@example.com"))
	_, err = s.GetAlias(ctx, "team@example.com")
	wantErr(t, "GetAlias after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteAlias again", s.DeleteAlias(ctx, "team@example.com"), store.ErrNotFound)
	// Recreating it starts with only the new targets.
	again, err := s.CreateAlias(ctx, store.Alias{Address: "team@example.com", Targets: []string{"new@example.com"}})
	noErr(t, "CreateAlias again", err)
	got, err = s.GetAlias(ctx, "team@example.com")
	noErr(t, "GetAlias recreated", err)
	if !slices.Equal(got.Targets, []string{"new@example.com"}) || got.ID != again.ID {
		t.Errorf("recreated alias = %+v", got)
	}
}

func testSenderAddresses(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)
	amy := mustAccount(t, s, d, "amy", 0)

	for _, addr := range []string{"sales@example.com", "info@example.com"} {
		noErr(t, "AddSenderAddress", s.AddSenderAddress(ctx, store.SenderAddress{AccountID: bob.ID, Address: addr}))
	}
	// Two accounts may share a sender address (a shared role address).
	noErr(t, "AddSenderAddress shared", s.AddSenderAddress(ctx, store.SenderAddress{AccountID: amy.ID, Address: "info@example.com"}))
	wantErr(t, "AddSenderAddress duplicate",
		s.AddSenderAddress(ctx, store.SenderAddress{AccountID: bob.ID, Address: "info@example.com"}), store.ErrExists)
	wantErr(t, "AddSenderAddress unknown account",
		s.AddSenderAddress(ctx, store.SenderAddress{AccountID: amy.ID + 1000, Address: "x@example.com"}), store.ErrNotFound)

	list, err := s.ListSenderAddresses(ctx, bob.ID)
	noErr(t, "ListSenderAddresses", err)
	want := []store.SenderAddress{{AccountID: bob.ID, Address: "info@example.com"}, {AccountID: bob.ID, Address: "sales@example.com"}}
	if !slices.Equal(list, want) {
		t.Errorf("ListSenderAddresses = %+v, want %+v", list, want)
	}

	noErr(t, "RemoveSenderAddress", s.RemoveSenderAddress(ctx, store.SenderAddress{AccountID: bob.ID, Address: "info@example.com"}))
	wantErr(t, "RemoveSenderAddress again",
		s.RemoveSenderAddress(ctx, store.SenderAddress{AccountID: bob.ID, Address: "info@example.com"}), store.ErrNotFound)
	list, err = s.ListSenderAddresses(ctx, bob.ID)
	noErr(t, "ListSenderAddresses", err)
	if !slices.Equal(list, want[1:]) {
		t.Errorf("ListSenderAddresses after remove = %+v", list)
	}
	list, err = s.ListSenderAddresses(ctx, amy.ID)
	noErr(t, "ListSenderAddresses amy", err)
	if len(list) != 1 || list[0].Address != "info@example.com" {
		t.Errorf("amy's sender addresses = %+v", list)
	}
}

func testForwards(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.com")
	bob := mustAccount(t, s, d, "bob", 0)

	noErr(t, "AddForward", s.AddForward(ctx, store.Forward{AccountID: bob.ID, Target: "b@elsewhere.example", KeepCopy: true}))
	noErr(t, "AddForward", s.AddForward(ctx, store.Forward{AccountID: bob.ID, Target: "a@elsewhere.example"}))
	wantErr(t, "AddForward duplicate",
		s.AddForward(ctx, store.Forward{AccountID: bob.ID, Target: "a@elsewhere.example", KeepCopy: true}), store.ErrExists)
	wantErr(t, "AddForward unknown account",
		s.AddForward(ctx, store.Forward{AccountID: bob.ID + 1000, Target: "a@elsewhere.example"}), store.ErrNotFound)

	list, err := s.ListForwards(ctx, bob.ID)
	noErr(t, "ListForwards", err)
	want := []store.Forward{
		{AccountID: bob.ID, Target: "a@elsewhere.example", KeepCopy: false},
		{AccountID: bob.ID, Target: "b@elsewhere.example", KeepCopy: true},
	}
	if !slices.Equal(list, want) {
		t.Errorf("ListForwards = %+v, want %+v", list, want)
	}
	noErr(t, "RemoveForward", s.RemoveForward(ctx, bob.ID, "a@elsewhere.example"))
	wantErr(t, "RemoveForward again", s.RemoveForward(ctx, bob.ID, "a@elsewhere.example"), store.ErrNotFound)
	list, err = s.ListForwards(ctx, bob.ID)
	noErr(t, "ListForwards", err)
	if !slices.Equal(list, want[1:]) {
		t.Errorf("ListForwards after remove = %+v", list)
	}
}
