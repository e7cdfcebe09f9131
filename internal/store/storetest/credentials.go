package storetest

import (
	"bytes"
	"testing"

	"mailport/internal/store"
)

func testReplaceCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAccount(t, s, mustDomain(t, s, "example.org"), "pw", 0)
	old := a.PasswordHash
	ok, err := s.ReplaceCredentials(ctx, a.ID, "not the hash", "new1", "{SCRAM-SHA-256}1")
	noErr(t, "ReplaceCredentials (stale)", err)
	if ok {
		t.Error("ReplaceCredentials replaced credentials whose hash did not match")
	}
	ok, err = s.ReplaceCredentials(ctx, a.ID, old, "new2", "{SCRAM-SHA-256}2")
	noErr(t, "ReplaceCredentials", err)
	if !ok {
		t.Error("ReplaceCredentials did not replace the current credentials")
	}
	got, err := s.GetAccount(ctx, a.ID)
	noErr(t, "GetAccount", err)
	if got.PasswordHash != "new2" || got.SCRAMSHA256 != "{SCRAM-SHA-256}2" {
		t.Errorf("credentials = %q, %q; want new2, {SCRAM-SHA-256}2", got.PasswordHash, got.SCRAMSHA256)
	}
	if ok, err := s.ReplaceCredentials(ctx, a.ID+1000, "x", "y", "z"); err != nil || ok {
		t.Errorf("ReplaceCredentials of unknown account = %v, %v; want false, nil", ok, err)
	}
}

// testSCRAMCredential: the credential is kept by create, import and
// update, and an update that changes the hash without a new credential
// drops the old one (it would let the old password in over SCRAM).
func testSCRAMCredential(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := mustDomain(t, s, "example.org")
	a, err := s.CreateAccount(ctx, store.Account{Address: "scram@example.org", DomainID: d.ID,
		PasswordHash: "h1", SCRAMSHA256: "{SCRAM-SHA-256}c1", Enabled: true}, nil)
	noErr(t, "CreateAccount", err)
	got, err := s.GetAccountByAddress(ctx, "scram@example.org")
	noErr(t, "GetAccountByAddress", err)
	if got.SCRAMSHA256 != "{SCRAM-SHA-256}c1" {
		t.Fatalf("created credential = %q", got.SCRAMSHA256)
	}

	got.DisplayName = "Other name"
	noErr(t, "UpdateAccount (name)", s.UpdateAccount(ctx, got))
	if got, _ = s.GetAccount(ctx, a.ID); got.SCRAMSHA256 != "{SCRAM-SHA-256}c1" {
		t.Errorf("credential after a name change = %q, want it kept", got.SCRAMSHA256)
	}

	got.PasswordHash, got.SCRAMSHA256 = "h2", "{SCRAM-SHA-256}c2"
	noErr(t, "UpdateAccount (password)", s.UpdateAccount(ctx, got))
	if got, _ = s.GetAccount(ctx, a.ID); got.PasswordHash != "h2" || got.SCRAMSHA256 != "{SCRAM-SHA-256}c2" {
		t.Errorf("after a password change = %q, %q; want h2, {SCRAM-SHA-256}c2", got.PasswordHash, got.SCRAMSHA256)
	}

	got.PasswordHash = "h3"
	noErr(t, "UpdateAccount (hash alone)", s.UpdateAccount(ctx, got))
	if got, _ = s.GetAccount(ctx, a.ID); got.PasswordHash != "h3" || got.SCRAMSHA256 != "" {
		t.Errorf("after a hash change alone = %q, %q; want h3 and no credential", got.PasswordHash, got.SCRAMSHA256)
	}

	noErr(t, "Import", s.Import(ctx, store.ImportBatch{Accounts: []store.Account{
		{Address: "imported@example.org", PasswordHash: "h", SCRAMSHA256: "{SCRAM-SHA-256}i", Enabled: true},
	}}))
	if got, _ := s.GetAccountByAddress(ctx, "imported@example.org"); got.SCRAMSHA256 != "{SCRAM-SHA-256}i" {
		t.Errorf("imported credential = %q", got.SCRAMSHA256)
	}
	accts, err := s.ListAccounts(ctx, "example.org")
	noErr(t, "ListAccounts", err)
	for _, l := range accts {
		if l.Address == "imported@example.org" && l.SCRAMSHA256 != "{SCRAM-SHA-256}i" {
			t.Errorf("listed credential = %q", l.SCRAMSHA256)
		}
	}
}

func testInstanceSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	k1, err := s.InstanceSecret(ctx, "scram-mock-salt")
	noErr(t, "InstanceSecret", err)
	if len(k1) != 32 || bytes.Equal(k1, make([]byte, 32)) {
		t.Errorf("secret = %x, want 32 random bytes", k1)
	}
	k2, err := s.InstanceSecret(ctx, "scram-mock-salt")
	noErr(t, "InstanceSecret again", err)
	if !bytes.Equal(k1, k2) {
		t.Error("secret changed between reads")
	}
	_, err = s.InstanceSecret(ctx, "no such secret")
	wantErr(t, "InstanceSecret unknown", err, store.ErrNotFound)
}
