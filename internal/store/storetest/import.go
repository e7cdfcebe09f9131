package storetest

import (
	"slices"
	"testing"

	"mailport/internal/store"
)

// importBatch is a batch that refers to its own domain and accounts, and
// to the existing domain "old.example".
func importBatch(adminID int64) store.ImportBatch {
	return store.ImportBatch{
		Domains:       []store.Domain{{Name: "new.example", SDRHost: "mx.old-server.example", SDRPort: 2525}, {Name: "plain.example"}},
		DomainAliases: []store.DomainAlias{{Alias: "new-alias.example", Domain: "new.example"}, {Alias: "old-alias.example", Domain: "old.example"}},
		RelayDomains: []store.RelayDomain{
			{Name: "relay.new.example", Host: "10.0.0.1", Port: 25, Recipients: []string{"a@relay.new.example", "b@relay.new.example"}},
			{Name: "any.example", Host: "mx.any.example", Port: 587},
		},
		Accounts: []store.Account{
			{Address: "amy@new.example", DisplayName: "Amy", PasswordHash: "{BLF-CRYPT}$2y$05$x", QuotaBytes: 1000, Enabled: true},
			{Address: "off@old.example", PasswordHash: "h", Enabled: false, Role: store.RoleUser},
		},
		Folders: defaultFolders,
		Aliases: []store.Alias{{Address: "team@new.example", Targets: []string{"amy@new.example", "x@ext.example", "amy@new.example"}}},
		SenderAddresses: []store.MailboxSender{
			{Mailbox: "amy@new.example", Address: "sales@new.example"},
			{Mailbox: "off@old.example", Address: "off@new-alias.example"},
		},
		Forwards: []store.MailboxForward{{Mailbox: "amy@new.example", Target: "fw@ext.example", KeepCopy: true}},
		AssignTo: adminID,
	}
}

func testImport(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "old.example")
	admin, err := s.CreateAccount(ctx, store.Account{Address: "boss", PasswordHash: "h", Enabled: true, Role: store.RoleDomainAdmin}, nil)
	noErr(t, "CreateAccount boss", err)

	noErr(t, "Import", s.Import(ctx, importBatch(admin.ID)))

	d, err := s.GetDomain(ctx, "new.example")
	noErr(t, "GetDomain new.example", err)
	if d.SDRHost != "mx.old-server.example" || d.SDRPort != 2525 {
		t.Errorf("new.example SDR = %s:%d", d.SDRHost, d.SDRPort)
	}
	if p, err := s.GetDomain(ctx, "plain.example"); err != nil || p.SDRHost != "" || p.SDRPort != 0 {
		t.Errorf("plain.example = %+v, %v", p, err)
	}
	ds, err := s.AdminDomains(ctx, admin.ID)
	noErr(t, "AdminDomains", err)
	if !slices.Equal(ds, []string{"new.example", "plain.example"}) {
		t.Errorf("AdminDomains = %v, want the two imported domains", ds)
	}
	if da, err := s.GetDomainAlias(ctx, "old-alias.example"); err != nil || da.Domain != "old.example" {
		t.Errorf("old-alias.example = %+v, %v", da, err)
	}
	r, err := s.GetRelayDomain(ctx, "relay.new.example")
	noErr(t, "GetRelayDomain", err)
	if r.Host != "10.0.0.1" || r.Port != 25 || !slices.Equal(r.Recipients, []string{"a@relay.new.example", "b@relay.new.example"}) {
		t.Errorf("relay.new.example = %+v", r)
	}
	amy, err := s.GetAccountByAddress(ctx, "amy@new.example")
	noErr(t, "GetAccountByAddress amy", err)
	if amy.DisplayName != "Amy" || amy.PasswordHash != "{BLF-CRYPT}$2y$05$x" || amy.QuotaBytes != 1000 ||
		!amy.Enabled || amy.Role != store.RoleUser || amy.DomainID != d.ID {
		t.Errorf("amy = %+v", amy)
	}
	off, err := s.GetAccountByAddress(ctx, "off@old.example")
	noErr(t, "GetAccountByAddress off", err)
	if off.Enabled {
		t.Error("off@old.example imported enabled")
	}
	boxes, err := s.ListMailboxes(ctx, amy.ID)
	noErr(t, "ListMailboxes", err)
	if len(boxes) != len(defaultFolders) {
		t.Errorf("amy has %d folders, want %d", len(boxes), len(defaultFolders))
	}
	al, err := s.GetAlias(ctx, "team@new.example")
	noErr(t, "GetAlias", err)
	if !slices.Equal(al.Targets, []string{"amy@new.example", "x@ext.example"}) {
		t.Errorf("alias targets = %v (duplicates dropped, order kept)", al.Targets)
	}
	ss, err := s.ListSenderAddresses(ctx, off.ID)
	noErr(t, "ListSenderAddresses", err)
	if len(ss) != 1 || ss[0].Address != "off@new-alias.example" {
		t.Errorf("senders of off = %+v", ss)
	}
	fs, err := s.ListForwards(ctx, amy.ID)
	noErr(t, "ListForwards", err)
	if len(fs) != 1 || fs[0].Target != "fw@ext.example" || !fs[0].KeepCopy {
		t.Errorf("forwards of amy = %+v", fs)
	}
	// Deleting an imported domain cascades like a created one.
	if _, err := s.DeleteDomain(ctx, "new.example"); err != nil {
		t.Fatalf("DeleteDomain new.example: %v", err)
	}
	if _, err := s.GetAccountByAddress(ctx, "amy@new.example"); err == nil {
		t.Error("amy survived the removal of its domain")
	}
}

// testImportAtomic: a batch whose last object fails leaves nothing behind.
func testImportAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustDomain(t, s, "old.example")
	mustAccount(t, s, mustDomainGet(t, s, "old.example"), "taken", 0)
	bad := []struct {
		name string
		edit func(b *store.ImportBatch)
		want error
	}{
		{"forward of unknown mailbox", func(b *store.ImportBatch) {
			b.Forwards = append(b.Forwards, store.MailboxForward{Mailbox: "nobody@new.example", Target: "x@ext.example"})
		}, store.ErrNotFound},
		{"existing account", func(b *store.ImportBatch) {
			b.Accounts = append(b.Accounts, store.Account{Address: "taken@old.example", PasswordHash: "h"})
		}, store.ErrExists},
		{"relay domain named like an imported domain", func(b *store.ImportBatch) {
			b.RelayDomains = append(b.RelayDomains, store.RelayDomain{Name: "plain.example", Host: "h.example", Port: 25})
		}, store.ErrExists},
		{"domain alias named like an existing domain", func(b *store.ImportBatch) {
			b.DomainAliases = append(b.DomainAliases, store.DomainAlias{Alias: "old.example", Domain: "new.example"})
		}, store.ErrExists},
		{"alias in an unknown domain", func(b *store.ImportBatch) {
			b.Aliases = append(b.Aliases, store.Alias{Address: "a@nowhere.example", Targets: []string{"x@ext.example"}})
		}, store.ErrNotFound},
		{"duplicate sender address", func(b *store.ImportBatch) {
			b.SenderAddresses = append(b.SenderAddresses, b.SenderAddresses[0])
		}, store.ErrExists},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			b := importBatch(0)
			tc.edit(&b)
			wantErr(t, "Import", s.Import(ctx, b), tc.want)
			ds, err := s.ListDomains(ctx)
			noErr(t, "ListDomains", err)
			if len(ds) != 1 || ds[0].Name != "old.example" {
				t.Errorf("domains after failed import = %v, want only old.example", ds)
			}
			for _, name := range []string{"new-alias.example", "old-alias.example"} {
				if _, err := s.GetDomainAlias(ctx, name); err == nil {
					t.Errorf("domain alias %s left behind", name)
				}
			}
			if rds, _ := s.ListRelayDomains(ctx); len(rds) != 0 {
				t.Errorf("relay domains left behind: %v", rds)
			}
			if _, err := s.GetAccountByAddress(ctx, "off@old.example"); err == nil {
				t.Error("account off@old.example left behind")
			}
		})
	}
}

func mustDomainGet(t *testing.T, s store.Store, name string) store.Domain {
	t.Helper()
	d, err := s.GetDomain(t.Context(), name)
	noErr(t, "GetDomain "+name, err)
	return d
}
