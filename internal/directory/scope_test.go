package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/dnsrecords"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

const scopePW = "correct horse battery"

var quiet = slog.New(slog.DiscardHandler)

// The permission fixture is built once and copied per case: every case
// starts from the same state and may change it freely, without paying for
// password hashing again.
var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
	// tokenIDs are the API token IDs of the fixture's mailboxes.
	tokenIDs = map[string]int64{}
)

// buildTemplate makes:
//
//	domains a.example (DomainAdmin bob), b.example (DomainAdmin carl);
//	  bob and carl may hold 5 domains each
//	mailboxes amy@a.example, zed@a.example, other@b.example, each with
//	  a forward to fw@ext.example, sender address s@<domain>, an API token
//	  and a portal session
//	aliases team@a.example, team@b.example
//	domain aliases a-alias.example, b-alias.example
//	relay domains r.a.example, r.b.example
//	an ed25519 DKIM key "sel1" in each domain
func buildTemplate() (string, error) {
	dir, err := os.MkdirTemp("", "mailport-scope-")
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		return "", err
	}
	defer st.Close()
	d := directory.New(st, nil, directory.Options{Logger: quiet})
	cli := d.As(access.CLI())
	steps := []func() error{
		func() error { return d.EnsureAdmin(ctx, "admin", scopePW) },
		func() error { _, err := cli.AddDomain(ctx, "a.example"); return err },
		func() error { _, err := cli.AddDomain(ctx, "b.example"); return err },
	}
	for _, dom := range []string{"a", "b"} {
		dom := dom
		steps = append(steps,
			func() error {
				_, err := cli.GenerateDKIM(ctx, dom+".example", "ed25519", "sel1")
				return err
			},
			func() error {
				_, err := cli.AddAlias(ctx, "team@"+dom+".example", []string{"x@ext.example"})
				return err
			},
			func() error { return cli.AddDomainAlias(ctx, dom+"-alias.example", dom+".example") },
			func() error {
				_, err := cli.AddRelayDomain(ctx, "r."+dom+".example", "mx.r.example", 25, nil)
				return err
			})
	}
	steps = append(steps,
		func() error {
			_, err := cli.CreateAdmin(ctx, directory.NewAdmin{Login: "bob", Password: scopePW, Role: store.RoleDomainAdmin, Domains: []string{"a.example"},
				Limits: directory.Limits{MaxDomains: 5}})
			return err
		},
		func() error {
			_, err := cli.CreateAdmin(ctx, directory.NewAdmin{Login: "carl", Password: scopePW, Role: store.RoleDomainAdmin, Domains: []string{"b.example"},
				Limits: directory.Limits{MaxDomains: 5}})
			return err
		})
	for _, mb := range []string{"amy@a.example", "zed@a.example", "other@b.example"} {
		mb := mb
		steps = append(steps,
			func() error {
				_, err := cli.AddMailbox(ctx, directory.NewUser{Address: mb, Password: scopePW, QuotaBytes: 1 << 20})
				return err
			},
			func() error { return cli.AddForward(ctx, mb, "fw@ext.example", true) },
			func() error { return cli.AddSender(ctx, mb, "s@"+strings.SplitN(mb, "@", 2)[1]) },
			func() error {
				_, tok, err := cli.CreateToken(ctx, mb, "t", nil)
				tokenIDs[mb] = tok.ID
				return err
			},
			func() error {
				a, err := st.GetAccountByAddress(ctx, mb)
				if err == nil {
					_, _, err = d.Access().CreateSession(ctx, a, "192.0.2.1", "test")
				}
				return err
			})
	}
	for i, f := range steps {
		if err := f(); err != nil {
			return "", errors.Join(errors.New("template step "+string(rune('0'+i))), err)
		}
	}
	return dir, nil
}

type scopeFixture struct {
	st  store.Store
	dir *directory.Service
}

// newScopeFixture copies the template database and opens it.
func newScopeFixture(t *testing.T) *scopeFixture {
	t.Helper()
	templateOnce.Do(func() { templateDir, templateErr = buildTemplate() })
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	path := filepath.Join(t.TempDir(), "db")
	src, err := os.Open(filepath.Join(templateDir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &scopeFixture{st: st, dir: directory.New(st, nil, directory.Options{Logger: quiet})}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// as returns the scope of a login as the API would build it.
func (f *scopeFixture) as(t *testing.T, login string) *directory.Scope {
	t.Helper()
	a, err := f.st.GetAccountByAddress(t.Context(), login)
	if err != nil {
		t.Fatal(err)
	}
	p, err := access.Load(t.Context(), f.st, a, access.ViaAPI, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	return f.dir.As(p)
}

func (f *scopeFixture) auditCount(t *testing.T) int {
	t.Helper()
	es, err := f.st.ListAudit(t.Context(), store.AuditFilter{AllDomains: true})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// target is what an operation acts on: a domain and a mailbox in it.
type target struct{ dom, mbox string }

func (tg target) local() string { return strings.SplitN(tg.dom, ".", 2)[0] }

// The five actors of the permission matrix, each with its target.
var actors = []struct {
	name  string
	login string
	tg    target
}{
	{"MasterAdmin", "admin", target{"a.example", "zed@a.example"}},
	{"DomainAdmin own domain", "bob", target{"a.example", "zed@a.example"}},
	{"DomainAdmin other domain", "bob", target{"b.example", "other@b.example"}},
	{"MailUser self", "amy@a.example", target{"a.example", "amy@a.example"}},
	{"MailUser other", "amy@a.example", target{"a.example", "zed@a.example"}},
}

func ptr[T any](v T) *T { return &v }

// TestPermissionMatrix calls every Scope operation as each actor. want
// has one letter per actor in the order above: A = allowed (nil error),
// D = denied (access.ErrForbidden, nothing changed, nothing audited).
func TestPermissionMatrix(t *testing.T) {
	srv := dnsrecords.Server{Hostname: "mx.example.net"}
	ops := []struct {
		name    string
		mutates bool
		want    string
		run     func(ctx context.Context, sc *directory.Scope, tg target) error
	}{
		{"domain.create", true, "AAADD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.AddDomain(ctx, "new.example")
			return err
		}},
		{"domain.get", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GetDomain(ctx, tg.dom)
			return err
		}},
		{"domain.list", false, "AAADD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListDomains(ctx)
			return err
		}},
		{"domain.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveDomain(ctx, tg.dom)
		}},
		{"sdr.set", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.SetSDR(ctx, tg.dom, "old.example.net", 25)
		}},
		{"sdr.clear", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.ClearSDR(ctx, tg.dom)
		}},
		{"dkim.generate", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GenerateDKIM(ctx, tg.dom, "ed25519", "sel2")
			return err
		}},
		{"dkim.list", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListDKIM(ctx, tg.dom)
			return err
		}},
		{"dkim.activate", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.ActivateDKIM(ctx, tg.dom, "sel1")
		}},
		{"dkim.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveDKIM(ctx, tg.dom, "sel1")
		}},
		{"dns.records", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.DNSRecords(ctx, tg.dom, srv, dnsrecords.Options{})
			return err
		}},
		{"domain_alias.create", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.AddDomainAlias(ctx, "new-alias.example", tg.dom)
		}},
		{"domain_alias.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveDomainAlias(ctx, tg.local()+"-alias.example")
		}},
		{"domain_alias.list", false, "AAADD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListDomainAliases(ctx)
			return err
		}},
		{"relay_domain.create", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.AddRelayDomain(ctx, "new."+tg.dom, "mx.new.example", 25, nil)
			return err
		}},
		{"relay_domain.get", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GetRelayDomain(ctx, "r."+tg.dom)
			return err
		}},
		{"relay_domain.update", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateRelayDomain(ctx, "r."+tg.dom, directory.RelayUpdate{Port: ptr(2525)})
			return err
		}},
		{"relay_domain.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveRelayDomain(ctx, "r."+tg.dom)
		}},
		{"relay_domain.list", false, "AAADD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListRelayDomains(ctx)
			return err
		}},
		{"mailbox.create", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.AddMailbox(ctx, directory.NewUser{Address: "new@" + tg.dom, Password: scopePW, QuotaBytes: 1000})
			return err
		}},
		{"mailbox.get", false, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GetMailbox(ctx, tg.mbox)
			return err
		}},
		{"mailbox.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveMailbox(ctx, tg.mbox)
		}},
		{"mailbox.update display name", true, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateMailbox(ctx, tg.mbox, directory.MailboxUpdate{DisplayName: ptr("New Name")})
			return err
		}},
		{"mailbox.update password", true, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateMailbox(ctx, tg.mbox, directory.MailboxUpdate{Password: ptr("another long password")})
			return err
		}},
		{"mailbox.update quota", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateMailbox(ctx, tg.mbox, directory.MailboxUpdate{QuotaBytes: ptr(int64(5000))})
			return err
		}},
		{"mailbox.update enabled", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateMailbox(ctx, tg.mbox, directory.MailboxUpdate{Enabled: ptr(false)})
			return err
		}},
		{"mailbox.update name and quota", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateMailbox(ctx, tg.mbox, directory.MailboxUpdate{DisplayName: ptr("X"), QuotaBytes: ptr(int64(0))})
			return err
		}},
		{"mailbox.list", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListMailboxes(ctx, directory.MailboxQuery{Domain: tg.dom})
			return err
		}},
		{"password.change", true, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.ChangePassword(ctx, tg.mbox, "another long password")
		}},
		{"alias.create", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.AddAlias(ctx, "new@"+tg.dom, []string{"x@ext.example"})
			return err
		}},
		{"alias.get", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GetAlias(ctx, "team@"+tg.dom)
			return err
		}},
		{"alias.update", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.SetAliasTargets(ctx, "team@"+tg.dom, []string{"y@ext.example"})
			return err
		}},
		{"alias.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveAlias(ctx, "team@"+tg.dom)
		}},
		{"alias.list", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListAliases(ctx, tg.dom)
			return err
		}},
		{"sender.create", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.AddSender(ctx, tg.mbox, "boss@"+tg.dom)
		}},
		{"sender.list", false, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListSenders(ctx, tg.mbox)
			return err
		}},
		{"sender.delete", true, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveSender(ctx, tg.mbox, "s@"+tg.dom)
		}},
		{"forward.create", true, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.AddForward(ctx, tg.mbox, "fw2@ext.example", false)
		}},
		{"forward.list", false, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListForwards(ctx, tg.mbox)
			return err
		}},
		{"forward.delete", true, "AADAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveForward(ctx, tg.mbox, "fw@ext.example")
		}},
		{"stats.domains", false, "AAADD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.DomainStats(ctx)
			return err
		}},
		{"stats.mailboxes", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, _, err := sc.MailboxStats(ctx, store.MailboxStatsQuery{Domain: tg.dom})
			return err
		}},
		{"audit.list", false, "AADDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListAudit(ctx, directory.AuditQuery{Domain: tg.dom})
			return err
		}},
		{"admin.create", true, "ADDDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.CreateAdmin(ctx, directory.NewAdmin{Login: "dora", Password: scopePW, Role: store.RoleDomainAdmin})
			return err
		}},
		{"admin.list", false, "ADDDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListAdmins(ctx)
			return err
		}},
		{"admin.get other", false, "ADDDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.GetAdmin(ctx, "carl")
			return err
		}},
		{"admin.update", true, "ADDDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.UpdateAdmin(ctx, "carl", directory.AdminUpdate{Limits: &directory.Limits{MaxMailboxes: 99}})
			return err
		}},
		{"admin.delete", true, "ADDDD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RemoveAdmin(ctx, "carl")
		}},
		{"token.create", true, "ADDAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, _, err := sc.CreateToken(ctx, tg.mbox, "new", nil)
			return err
		}},
		{"token.list", false, "ADDAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListTokens(ctx, tg.mbox)
			return err
		}},
		{"token.delete", true, "ADDAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RevokeToken(ctx, tg.mbox, tokenIDs[tg.mbox])
		}},
		{"session.list", false, "ADDAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			_, err := sc.ListSessions(ctx, tg.mbox)
			return err
		}},
		{"session.delete_all", true, "ADDAD", func(ctx context.Context, sc *directory.Scope, tg target) error {
			return sc.RevokeOtherSessions(ctx, tg.mbox, "")
		}},
	}
	for _, op := range ops {
		if len(op.want) != len(actors) {
			t.Fatalf("%s: want %q has no entry for every actor", op.name, op.want)
		}
		for i, ac := range actors {
			t.Run(op.name+"/"+ac.name, func(t *testing.T) {
				f := newScopeFixture(t)
				sc := f.as(t, ac.login)
				before := f.auditCount(t)
				err := op.run(t.Context(), sc, ac.tg)
				audited := f.auditCount(t) - before
				if op.want[i] == 'A' {
					if err != nil {
						t.Fatalf("want allowed, got %v", err)
					}
					if op.mutates && audited != 1 {
						t.Errorf("allowed change wrote %d audit entries, want 1", audited)
					}
				} else {
					if !errors.Is(err, access.ErrForbidden) {
						t.Fatalf("want ErrForbidden, got %v", err)
					}
				}
				if (!op.mutates || op.want[i] == 'D') && audited != 0 {
					t.Errorf("%d audit entries for a read or a denied change", audited)
				}
			})
		}
	}
}

// TestDeniedChangesNothing spot-checks that denied changes leave the
// objects alone (the matrix only checks the error and the audit log).
func TestDeniedChangesNothing(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob, amy := f.as(t, "bob"), f.as(t, "amy@a.example")
	bob.RemoveMailbox(ctx, "other@b.example")
	amy.UpdateMailbox(ctx, "amy@a.example", directory.MailboxUpdate{QuotaBytes: ptr(int64(0))})
	amy.RemoveAlias(ctx, "team@a.example")
	bob.RemoveDomainAlias(ctx, "b-alias.example")
	if _, err := f.st.GetAccountByAddress(ctx, "other@b.example"); err != nil {
		t.Errorf("other@b.example: %v", err)
	}
	if a, _ := f.st.GetAccountByAddress(ctx, "amy@a.example"); a.QuotaBytes != 1<<20 {
		t.Errorf("amy's quota changed to %d by amy", a.QuotaBytes)
	}
	if _, err := f.st.GetAlias(ctx, "team@a.example"); err != nil {
		t.Errorf("team@a.example: %v", err)
	}
	if _, err := f.st.GetDomainAlias(ctx, "b-alias.example"); err != nil {
		t.Errorf("b-alias.example: %v", err)
	}
}

func TestListsAreScoped(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob := f.as(t, "bob")
	ds, err := bob.ListDomains(ctx)
	must(t, err)
	if len(ds) != 1 || ds[0].Name != "a.example" {
		t.Errorf("bob's domains: %+v", ds)
	}
	page, err := bob.ListMailboxes(ctx, directory.MailboxQuery{})
	must(t, err)
	var addrs []string
	for _, m := range page.Mailboxes {
		addrs = append(addrs, m.Address)
	}
	if !slices.Equal(addrs, []string{"amy@a.example", "zed@a.example"}) || page.Total != 2 {
		t.Errorf("bob's mailboxes: %v (total %d)", addrs, page.Total)
	}
	page, err = f.as(t, "admin").ListMailboxes(ctx, directory.MailboxQuery{Sort: store.SortAddress, Desc: true, Limit: 1})
	must(t, err)
	if page.Total != 3 || len(page.Mailboxes) != 1 || page.Mailboxes[0].Address != "zed@a.example" {
		t.Errorf("master's first mailbox by address desc: %+v", page)
	}
	if _, err := bob.ListMailboxes(ctx, directory.MailboxQuery{Sort: "password"}); !errors.Is(err, directory.ErrInvalidQuery) {
		t.Errorf("unknown sort: %v", err)
	}
	als, err := bob.ListAliases(ctx, "")
	must(t, err)
	if len(als) != 1 || als[0].Address != "team@a.example" {
		t.Errorf("bob's aliases: %+v", als)
	}
	das, err := bob.ListDomainAliases(ctx)
	must(t, err)
	if len(das) != 1 || das[0].Alias != "a-alias.example" {
		t.Errorf("bob's domain aliases: %+v", das)
	}
	rds, err := bob.ListRelayDomains(ctx)
	must(t, err)
	if len(rds) != 1 || rds[0].Name != "r.a.example" {
		t.Errorf("bob's relay domains: %+v", rds)
	}
	stats, err := bob.DomainStats(ctx)
	must(t, err)
	if len(stats) != 1 || stats[0].Domain != "a.example" || stats[0].Mailboxes != 2 || stats[0].QuotaBytes != 2<<20 {
		t.Errorf("bob's stats: %+v", stats)
	}
	// A DomainAdmin without domains sees nothing, not everything.
	cli := f.dir.As(access.CLI())
	_, err = cli.CreateAdmin(ctx, directory.NewAdmin{Login: "empty", Password: scopePW, Role: store.RoleDomainAdmin})
	must(t, err)
	empty := f.as(t, "empty")
	if ds, _ := empty.ListDomains(ctx); len(ds) != 0 {
		t.Errorf("admin without domains lists %+v", ds)
	}
	if p, _ := empty.ListMailboxes(ctx, directory.MailboxQuery{}); p.Total != 0 {
		t.Errorf("admin without domains lists %+v", p)
	}
	if s, _ := empty.DomainStats(ctx); len(s) != 0 {
		t.Errorf("admin without domains: stats %+v", s)
	}
	if es, _ := empty.ListAudit(ctx, directory.AuditQuery{}); len(es) != 0 {
		t.Errorf("admin without domains reads %d audit entries", len(es))
	}
	// DKIM views carry no private key.
	keys, err := bob.ListDKIM(ctx, "a.example")
	must(t, err)
	b, _ := json.Marshal(keys)
	if len(keys) != 1 || strings.Contains(strings.ToLower(string(b)), "private") {
		t.Errorf("dkim view: %s", b)
	}
}

func TestDomainAdminLimits(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	cli := f.dir.As(access.CLI())
	// bob has a.example with 2 mailboxes (2 MiB of quota), 1 alias, 2
	// sender addresses, 1 domain alias.
	_, err := cli.UpdateAdmin(ctx, "bob", directory.AdminUpdate{Limits: &directory.Limits{
		MaxDomains: 2, MaxMailboxes: 3, MaxAliases: 4, MaxDomainAliases: 2, MaxStorageBytes: 4 << 20,
	}})
	must(t, err)
	bob := f.as(t, "bob")
	mbox := func(local string, quota int64) error {
		_, err := bob.AddMailbox(ctx, directory.NewUser{Address: local + "@a.example", Password: scopePW, QuotaBytes: quota})
		return err
	}
	wantLimit := func(what string, err error, msg string) {
		t.Helper()
		if !errors.Is(err, directory.ErrLimitExceeded) {
			t.Fatalf("%s: err = %v, want ErrLimitExceeded", what, err)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: message %q does not say %q", what, err, msg)
		}
	}

	// Storage: a mailbox needs a quota, and the quotas must fit.
	wantLimit("mailbox without quota", mbox("c", 0), "needs a quota")
	wantLimit("mailbox over storage", mbox("c", 3<<20), "storage")
	must(t, mbox("c", 1<<20))
	wantLimit("4th mailbox", mbox("d", 1), "limit reached: 3 mailboxes for admin bob")
	if _, err := f.st.GetAccountByAddress(ctx, "d@a.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mailbox past the limit was created: %v", err)
	}
	_, err = bob.UpdateMailbox(ctx, "c@a.example", directory.MailboxUpdate{QuotaBytes: ptr(int64(3 << 20))})
	wantLimit("quota raise past storage", err, "storage")
	_, err = bob.UpdateMailbox(ctx, "c@a.example", directory.MailboxUpdate{QuotaBytes: ptr(int64(1 << 19))})
	must(t, err)
	_, err = bob.UpdateMailbox(ctx, "c@a.example", directory.MailboxUpdate{DisplayName: ptr("C")})
	must(t, err)
	// Removing one frees a slot.
	must(t, bob.RemoveMailbox(ctx, "c@a.example"))
	must(t, mbox("d", 1<<20))

	// Aliases and sender addresses share one limit: 1 + 2 used of 4.
	_, err = bob.AddAlias(ctx, "sales@a.example", []string{"amy@a.example"})
	must(t, err)
	wantLimit("sender past alias limit", bob.AddSender(ctx, "amy@a.example", "boss@a.example"), "4 aliases and sender addresses")
	_, err = bob.AddAlias(ctx, "more@a.example", []string{"amy@a.example"})
	wantLimit("alias past limit", err, "aliases")

	must(t, bob.AddDomainAlias(ctx, "a2.example", "a.example"))
	wantLimit("domain alias past limit", bob.AddDomainAlias(ctx, "a3.example", "a.example"), "2 domain aliases")

	// Domains: bob has 1 of 2; the new one is his.
	_, err = bob.AddDomain(ctx, "bobs.example")
	must(t, err)
	if _, err := bob.GetDomain(ctx, "bobs.example"); err != nil {
		t.Errorf("new domain not managed by its creator: %v", err)
	}
	if got, _ := f.as(t, "bob").ListDomains(ctx); len(got) != 2 {
		t.Errorf("bob's domains after AddDomain: %+v", got)
	}
	_, err = bob.AddDomain(ctx, "third.example")
	wantLimit("3rd domain", err, "2 domains")

	// Limits bind DomainAdmins only.
	_, err = cli.AddMailbox(ctx, directory.NewUser{Address: "e@a.example", Password: scopePW})
	must(t, err)
	admin, err := cli.GetAdmin(ctx, "bob")
	must(t, err)
	if admin.Usage.Mailboxes != 4 || admin.Usage.Domains != 2 || admin.Usage.Aliases != 4 || admin.Usage.DomainAliases != 2 {
		t.Errorf("usage = %+v", admin.Usage)
	}
	// A DomainAdmin reads its own limits and usage.
	self, err := bob.GetAdmin(ctx, "bob")
	must(t, err)
	if self.Limits.MaxMailboxes != 3 {
		t.Errorf("bob's own view: %+v", self)
	}
	// A DomainAdmin cannot create admins through a mailbox role.
	_, err = bob.AddMailbox(ctx, directory.NewUser{Address: "f@a.example", Password: scopePW, Role: store.RoleMasterAdmin})
	if !errors.Is(err, access.ErrForbidden) {
		t.Errorf("DomainAdmin creating a MasterAdmin mailbox: %v", err)
	}
}

func TestSenderOutsideOwnDomains(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob := f.as(t, "bob")
	for _, addr := range []string{"ceo@b.example", "x@b-alias.example"} {
		if err := bob.AddSender(ctx, "amy@a.example", addr); !errors.Is(err, access.ErrForbidden) {
			t.Errorf("bob hands out %s: %v", addr, err)
		}
	}
	// Its own domain alias is fine.
	must(t, bob.AddSender(ctx, "amy@a.example", "amy@a-alias.example"))
	// The MasterAdmin may hand out addresses of any hosted domain or
	// domain alias.
	master := f.as(t, "admin")
	must(t, master.AddSender(ctx, "amy@a.example", "amy@b-alias.example"))
	// A domain this server does not host is bad input for everyone, at
	// the address.
	for _, sc := range []*directory.Scope{bob, master} {
		err := sc.AddSender(ctx, "amy@a.example", "me@gmail.example")
		var ie *directory.InputError
		if !errors.Is(err, directory.ErrDomainNotHosted) || !errors.As(err, &ie) || ie.Field != "address" {
			t.Errorf("%s hands out me@gmail.example: %v", sc.Principal().Login(), err)
		}
	}
	// A MailUser may not give itself addresses.
	if err := f.as(t, "amy@a.example").AddSender(ctx, "amy@a.example", "x@a.example"); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("MailUser adds its own sender address: %v", err)
	}
}

func TestAuditLog(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	bob := f.as(t, "bob")
	_, err := bob.UpdateMailbox(ctx, "zed@a.example", directory.MailboxUpdate{DisplayName: ptr("Zed"), QuotaBytes: ptr(int64(2 << 20)), Password: ptr("a new long password")})
	must(t, err)
	must(t, f.as(t, "carl").RemoveAlias(ctx, "team@b.example"))

	es, err := bob.ListAudit(ctx, directory.AuditQuery{Limit: 1})
	must(t, err)
	if len(es) != 1 {
		t.Fatalf("bob reads %d entries, want 1", len(es))
	}
	e := es[0]
	if e.Actor != "bob" || e.ActorRole != store.RoleDomainAdmin || e.RemoteIP != "198.51.100.7" || e.Action != "mailbox.update" ||
		e.ObjectType != "mailbox" || e.ObjectID != "zed@a.example" || e.Domain != "a.example" {
		t.Errorf("entry = %+v", e)
	}
	var before, after map[string]any
	must(t, json.Unmarshal(e.Before, &before))
	must(t, json.Unmarshal(e.After, &after))
	if before["display_name"] != "" || after["display_name"] != "Zed" || before["quota_bytes"] != float64(1<<20) ||
		after["quota_bytes"] != float64(2<<20) || after["password_changed"] != true {
		t.Errorf("before %s after %s", e.Before, e.After)
	}
	for _, raw := range []json.RawMessage{e.Before, e.After} {
		if s := strings.ToLower(string(raw)); strings.Contains(s, "argon2") || strings.Contains(s, "hash") || strings.Contains(s, "a new long password") {
			t.Errorf("audit entry holds a secret: %s", raw)
		}
	}

	// bob sees a.example's entries (and r.a.example's) but never b.example's.
	all, err := bob.ListAudit(ctx, directory.AuditQuery{})
	must(t, err)
	for _, e := range all {
		if e.Domain != "a.example" && e.Domain != "r.a.example" {
			t.Errorf("bob reads an entry of %q: %+v", e.Domain, e)
		}
	}
	if _, err := bob.ListAudit(ctx, directory.AuditQuery{Domain: "b.example"}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("bob asks for b.example's entries: %v", err)
	}
	// The MasterAdmin reads everything, including server-wide entries
	// (admins, made with actor "cli" in the fixture).
	es, err = f.as(t, "admin").ListAudit(ctx, directory.AuditQuery{})
	must(t, err)
	kinds := map[string]bool{}
	for _, e := range es {
		kinds[e.Action] = true
		if e.Action == "admin.create" && (e.Actor != "cli" || e.Domain != "") {
			t.Errorf("admin.create entry: %+v", e)
		}
		if e.Action == "token.create" && strings.Contains(string(e.After), "hash") {
			t.Errorf("token entry holds its hash: %s", e.After)
		}
		if e.Action == "dkim.generate" && strings.Contains(strings.ToLower(string(e.After)), "private") {
			t.Errorf("dkim entry holds the key: %s", e.After)
		}
	}
	for _, k := range []string{"admin.create", "alias.delete", "mailbox.update", "mailbox.create", "domain.create", "token.create", "dkim.generate"} {
		if !kinds[k] {
			t.Errorf("no %s entry in %v", k, kinds)
		}
	}
	if _, err := f.as(t, "amy@a.example").ListAudit(ctx, directory.AuditQuery{}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("MailUser reads the audit log: %v", err)
	}
}

func TestAdmins(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	master := f.as(t, "admin")
	bad := []directory.NewAdmin{
		{Login: "x@a.example", Password: scopePW, Role: store.RoleDomainAdmin},
		{Login: "cli", Password: scopePW, Role: store.RoleMasterAdmin},
		{Login: "", Password: scopePW, Role: store.RoleMasterAdmin},
		{Login: "-x", Password: scopePW, Role: store.RoleMasterAdmin},
		{Login: "dora", Password: scopePW, Role: store.RoleUser},
		{Login: "dora", Password: "short", Role: store.RoleDomainAdmin},
		{Login: "dora", Password: scopePW, Role: store.RoleDomainAdmin, Domains: []string{"missing.example"}},
		{Login: "dora", Password: scopePW, Role: store.RoleMasterAdmin, Domains: []string{"a.example"}},
		{Login: "dora", Password: scopePW, Role: store.RoleDomainAdmin, Limits: directory.Limits{MaxMailboxes: -1}},
		{Login: "bob", Password: scopePW, Role: store.RoleDomainAdmin},
	}
	for _, n := range bad {
		if _, err := master.CreateAdmin(ctx, n); err == nil {
			t.Errorf("CreateAdmin(%+v) succeeded", n)
		}
	}
	if _, err := f.st.GetAccountByAddress(ctx, "dora"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed CreateAdmin left an account: %v", err)
	}
	dora, err := master.CreateAdmin(ctx, directory.NewAdmin{Login: "Dora", Password: scopePW, Role: store.RoleDomainAdmin,
		Domains: []string{"b.example", "A.example"}, Limits: directory.Limits{MaxMailboxes: 7}})
	must(t, err)
	if dora.Login != "dora" || !slices.Equal(dora.Domains, []string{"a.example", "b.example"}) || dora.Limits.MaxMailboxes != 7 || dora.Usage.Mailboxes != 3 {
		t.Errorf("created %+v", dora)
	}
	list, err := master.ListAdmins(ctx)
	must(t, err)
	var logins []string
	for _, a := range list {
		logins = append(logins, a.Login)
	}
	if !slices.Equal(logins, []string{"admin", "bob", "carl", "dora"}) {
		t.Errorf("ListAdmins = %v", logins)
	}
	up, err := master.UpdateAdmin(ctx, "dora", directory.AdminUpdate{Domains: &[]string{"b.example"}, Enabled: ptr(false)})
	must(t, err)
	if !slices.Equal(up.Domains, []string{"b.example"}) || up.Enabled {
		t.Errorf("updated %+v", up)
	}
	if _, err := master.UpdateAdmin(ctx, "admin", directory.AdminUpdate{Enabled: ptr(false)}); err == nil {
		t.Error("an admin disabled itself")
	}
	if err := master.RemoveAdmin(ctx, "admin"); err == nil {
		t.Error("an admin removed itself")
	}
	if _, err := master.UpdateAdmin(ctx, "admin", directory.AdminUpdate{Limits: &directory.Limits{}}); err == nil {
		t.Error("limits set on a MasterAdmin")
	}
	if err := master.RemoveAdmin(ctx, "amy@a.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveAdmin of a mailbox: %v", err)
	}
	must(t, master.RemoveAdmin(ctx, "dora"))
	if _, err := master.GetAdmin(ctx, "dora"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed admin: %v", err)
	}
}

func TestScopeTokens(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	amy := f.as(t, "amy@a.example")
	secret, tok, err := amy.CreateToken(ctx, "amy@a.example", "phone", nil)
	must(t, err)
	acct, _, err := f.dir.Access().AuthenticateToken(ctx, secret)
	if err != nil || acct.Address != "amy@a.example" {
		t.Fatalf("AuthenticateToken = %v, %v", acct.Address, err)
	}
	toks, err := amy.ListTokens(ctx, "amy@a.example")
	must(t, err)
	if len(toks) != 2 || toks[1].Name != "phone" || toks[1].Prefix != secret[:len(toks[1].Prefix)] {
		t.Errorf("ListTokens = %+v", toks)
	}
	b, _ := json.Marshal(toks)
	if strings.Contains(string(b), secret) || strings.Contains(strings.ToLower(string(b)), "hash") {
		t.Errorf("token list leaks: %s", b)
	}
	// Another account's token ID is not found through amy's login.
	if err := amy.RevokeToken(ctx, "amy@a.example", tokenIDs["zed@a.example"]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking zed's token as amy: %v", err)
	}
	must(t, amy.RevokeToken(ctx, "amy@a.example", tok.ID))
	if _, _, err := f.dir.Access().AuthenticateToken(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	ss, err := amy.ListSessions(ctx, "amy@a.example")
	must(t, err)
	if len(ss) != 1 {
		t.Fatalf("sessions = %+v", ss)
	}
	must(t, amy.RevokeSession(ctx, "amy@a.example", ss[0].ID))
	zs, _ := f.as(t, "admin").ListSessions(ctx, "zed@a.example")
	if err := amy.RevokeSession(ctx, "amy@a.example", zs[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking zed's session as amy: %v", err)
	}
}

func TestMailUserSelfService(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	amy := f.as(t, "amy@a.example")
	m, err := amy.UpdateMailbox(ctx, "amy@a.example", directory.MailboxUpdate{DisplayName: ptr("Amy A."), Password: ptr("amy's new password")})
	must(t, err)
	if m.DisplayName != "Amy A." {
		t.Errorf("display name = %q", m.DisplayName)
	}
	a, _ := f.st.GetAccountByAddress(ctx, "amy@a.example")
	if acct, err := (&authCheck{f.st}).login(ctx, "amy@a.example", "amy's new password"); err != nil || acct.ID != a.ID {
		t.Errorf("new password does not work: %v", err)
	}
	if _, err := amy.UpdateMailbox(ctx, "amy@a.example", directory.MailboxUpdate{DisplayName: ptr("bad\nname")}); err == nil {
		t.Error("display name with a line break accepted")
	}
	must(t, amy.AddForward(ctx, "amy@a.example", "me@ext.example", true))
	fs, err := amy.ListForwards(ctx, "amy@a.example")
	must(t, err)
	if len(fs) != 2 {
		t.Errorf("forwards = %+v", fs)
	}
	got, err := amy.GetMailbox(ctx, "AMY@a.example")
	must(t, err)
	if got.Address != "amy@a.example" || got.QuotaBytes != 1<<20 {
		t.Errorf("GetMailbox = %+v", got)
	}
}
