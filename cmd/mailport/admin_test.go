package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// openDB opens a data directory's database beside the commands (SQLite
// allows it; the commands open and close it per run).
func openDB(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "mailport.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminAndTokenCommands(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "", "domain", "add", "other.test", "--data", d))
	r := ok(t, mp(t, "bob-password-1\n", "admin", "add", "bob", "--role", "domainadmin", "--password-stdin", "--domains", "example.test", "--data", d))
	if !strings.Contains(r.stdout, "domainadmin bob added") {
		t.Errorf("admin add: %q", r.stdout)
	}
	ok(t, mp(t, "root-password-1\n", "admin", "add", "root2", "--role", "masteradmin", "--password-stdin", "--data", d))
	r = ok(t, mp(t, "", "admin", "limits", "bob", "--mailboxes", "1", "--storage", "10M", "--data", d))
	if !strings.Contains(r.stdout, "mailboxes       0     1") || !strings.Contains(r.stdout, "10485760") || !strings.Contains(r.stdout, "aliases         0     -") {
		t.Errorf("admin limits:\n%s", r.stdout)
	}
	// Without flags it shows the limits unchanged.
	if r2 := ok(t, mp(t, "", "admin", "limits", "bob", "--data", d)); r2.stdout != r.stdout {
		t.Errorf("admin limits without flags:\n%s\nwant\n%s", r2.stdout, r.stdout)
	}
	r = ok(t, mp(t, "", "admin", "list", "--data", d))
	for _, want := range []string{"admin ", "root2", "masteradmin", "bob", "example.test (1/0)", "0/1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("admin list lacks %q:\n%s", want, r.stdout)
		}
	}

	// The token is printed alone on stdout, once.
	r = ok(t, mp(t, "", "token", "create", "bob", "--name", "deploy script", "--data", d))
	secret := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(secret, access.TokenPrefix) || strings.Contains(secret, "\n") || !strings.Contains(r.stderr, "not shown again") {
		t.Fatalf("token create: stdout %q stderr %q", r.stdout, r.stderr)
	}
	r = ok(t, mp(t, "", "token", "list", "bob", "--data", d))
	if !strings.Contains(r.stdout, "deploy script") || !strings.Contains(r.stdout, secret[:11]) || strings.Contains(r.stdout, secret) || !strings.Contains(r.stdout, "never") {
		t.Errorf("token list:\n%s", r.stdout)
	}

	// The token acts as bob, with bob's domains and limits.
	st := openDB(t, d)
	mgr := access.NewManager(st, access.Options{})
	acct, tok, err := mgr.AuthenticateToken(t.Context(), secret)
	if err != nil || acct.Address != "bob" {
		t.Fatalf("AuthenticateToken: %v %v", acct.Address, err)
	}
	p, err := mgr.Principal(t.Context(), acct, access.ViaAPI, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	bob := directory.New(st, nil, directory.Options{}).As(p)
	if _, err := bob.AddMailbox(t.Context(), directory.NewUser{Address: "a@example.test", Password: "password-aaa", QuotaBytes: 1 << 20}); err != nil {
		t.Fatalf("first mailbox: %v", err)
	}
	if _, err := bob.AddMailbox(t.Context(), directory.NewUser{Address: "b@example.test", Password: "password-bbb", QuotaBytes: 1 << 20}); !errors.Is(err, directory.ErrLimitExceeded) {
		t.Errorf("second mailbox past --mailboxes 1: %v", err)
	}
	if _, err := bob.AddMailbox(t.Context(), directory.NewUser{Address: "c@other.test", Password: "password-ccc", QuotaBytes: 1}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("mailbox in another domain: %v", err)
	}

	ok(t, mp(t, "", "admin", "domains", "bob", "example.test,other.test", "--data", d))
	if ds, _ := st.AdminDomains(t.Context(), acct.ID); len(ds) != 2 {
		t.Errorf("after admin domains: %v", ds)
	}

	// The CLI's changes are audited as "cli".
	es, err := st.ListAudit(t.Context(), store.AuditFilter{AllDomains: true, Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range es {
		actions[e.Action] = true
		if e.ActorRole != store.RoleMasterAdmin {
			t.Errorf("cli entry with role %q", e.ActorRole)
		}
	}
	for _, a := range []string{"domain.create", "admin.create", "admin.update", "token.create"} {
		if !actions[a] {
			t.Errorf("no %s entry by cli: %v", a, actions)
		}
	}

	ok(t, mp(t, "", "token", "revoke", "bob", "1", "--data", d))
	if tok.ID != 1 {
		t.Fatalf("token id %d, the test revoked 1", tok.ID)
	}
	if _, _, err := mgr.AuthenticateToken(t.Context(), secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	ok(t, mp(t, "", "admin", "remove", "bob", "--data", d))
	if r := ok(t, mp(t, "", "admin", "list", "--data", d)); strings.Contains(r.stdout, "bob") {
		t.Errorf("admin list after remove:\n%s", r.stdout)
	}
}

func TestAdminCommandErrors(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no role", "pw-long-enough\n", []string{"admin", "add", "x", "--password-stdin"}, exitUsage, "--role"},
		{"bad role", "pw-long-enough\n", []string{"admin", "add", "x", "--role", "user", "--password-stdin"}, exitUsage, "--role"},
		{"no password", "", []string{"admin", "add", "x", "--role", "masteradmin"}, exitUsage, "password"},
		{"address as login", "pw-long-enough\n", []string{"admin", "add", "x@example.test", "--role", "masteradmin", "--password-stdin"}, exitFail, "invalid login"},
		{"unknown domain", "pw-long-enough\n", []string{"admin", "add", "x", "--role", "domainadmin", "--password-stdin", "--domains", "nope.test"}, exitFail, "not found"},
		{"limits unknown admin", "", []string{"admin", "limits", "ghost", "--mailboxes", "3"}, exitFail, "not found"},
		{"limits suffix on a count", "", []string{"admin", "limits", "admin", "--mailboxes", "3K"}, exitUsage, "--mailboxes"},
		{"limits on a master", "", []string{"admin", "limits", "admin", "--mailboxes", "3"}, exitFail, "only DomainAdmins"},
		{"remove unknown", "", []string{"admin", "remove", "ghost"}, exitFail, "not found"},
		{"token for unknown login", "", []string{"token", "create", "ghost"}, exitFail, "not found"},
		{"token bad expiry", "", []string{"token", "create", "admin", "--expires", "soon"}, exitUsage, "--expires"},
		{"token bad id", "", []string{"token", "revoke", "admin", "x"}, exitUsage, "bad token id"},
		{"token unknown id", "", []string{"token", "revoke", "admin", "77"}, exitFail, "not found"},
	}
	for _, tc := range cases {
		r := mp(t, tc.stdin, append(tc.args, "--data", d)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%s: exit %d stderr %q, want exit %d with %q", tc.name, r.code, r.stderr, tc.code, tc.msg)
		}
	}
}
