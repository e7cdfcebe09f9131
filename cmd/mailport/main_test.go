package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mp runs one mailport command in-process.
type result struct {
	code           int
	stdout, stderr string
}

func mp(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func ok(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	return r
}

func newDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("admin-secret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ok(t, mp(t, "", "init", "--data", dir, "--hostname", "mx.example.test", "--ports-base", "20000", "--admin-password-file", pwFile))
	if !strings.Contains(r.stdout, "initialized") {
		t.Fatalf("init output: %q", r.stdout)
	}
	return dir
}

func TestInit(t *testing.T) {
	dir := newDataDir(t)
	for _, f := range []string{"mailport.toml", "tls/cert.pem", "tls/key.pem", "mailport.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not create %s: %v", f, err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "mailport.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "ports_base = 20000") || !strings.Contains(string(cfg), `hostname = "mx.example.test"`) {
		t.Errorf("mailport.toml:\n%s", cfg)
	}
	// A second init refuses to overwrite.
	if r := mp(t, "", "init", "--data", dir, "--hostname", "mx.example.test"); r.code != exitFail || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Errorf("second init: %+v", r)
	}
	// Without a password file the admin password is generated and printed.
	r := ok(t, mp(t, "", "init", "--data", filepath.Join(t.TempDir(), "d2"), "--hostname", "mx.example.test"))
	if !strings.Contains(r.stdout, "MasterAdmin login: admin  password: ") {
		t.Errorf("generated password not printed: %q", r.stdout)
	}
	// The admin can change its password.
	ok(t, mp(t, "new-admin-password\n", "user", "passwd", "admin", "--password-stdin", "--data", dir))
}

func TestInitErrors(t *testing.T) {
	tmp := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"init", "--data", tmp + "/a"}, exitUsage, "--hostname is required"},
		{[]string{"init", "--data", tmp + "/b", "--hostname", "bad host"}, exitFail, "invalid domain"},
		{[]string{"init", "--data", tmp + "/c", "--hostname", "mx.test", "--ports-base", "-5"}, exitFail, "ports_base"},
		{[]string{"init", "--data", tmp + "/d", "--hostname", "mx.test", "--listen", "not-an-ip"}, exitFail, "listen_address"},
		{[]string{"init", "--data", tmp + "/e", "--hostname", "mx.test", "--admin-password-file", tmp + "/missing"}, exitFail, "read password"},
		{[]string{"init", "--data", tmp + "/f", "--hostname", "mx.test", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"init", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"serve", "--data", tmp + "/nothing"}, exitFail, "mailport init"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{}, exitUsage, ""},
	}
	for _, c := range cases {
		r := mp(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
	// A weak admin password is refused.
	weak := filepath.Join(tmp, "weak")
	os.WriteFile(weak, []byte("123\n"), 0o600)
	if r := mp(t, "", "init", "--data", tmp+"/g", "--hostname", "mx.test", "--admin-password-file", weak); r.code != exitFail || !strings.Contains(r.stderr, "password") {
		t.Errorf("weak admin password: %+v", r)
	}
}

func TestDirectoryCommands(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "Example.TEST", "--data", d))
	ok(t, mp(t, "", "domain", "add", "other.test", "--data", d))
	if r := ok(t, mp(t, "", "domain", "list", "--data", d)); r.stdout != "example.test\nother.test\n" {
		t.Errorf("domain list: %q", r.stdout)
	}
	ok(t, mp(t, "", "domain-alias", "add", "alias.test", "example.test", "--data", d))
	if r := ok(t, mp(t, "", "domain-alias", "list", "--data", d)); !strings.Contains(r.stdout, "alias.test") || !strings.Contains(r.stdout, "example.test") {
		t.Errorf("domain-alias list: %q", r.stdout)
	}
	// Flags before or after the positional arguments.
	ok(t, mp(t, "password-one\n", "user", "add", "alice@example.test", "--password-stdin", "--name", "Alice", "--quota", "10M", "--data", d))
	ok(t, mp(t, "password-two\n", "user", "add", "--data", d, "--password-stdin", "bob@example.test"))
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("password-three"), 0o600)
	ok(t, mp(t, "", "user", "add", "carol@other.test", "--password-file", pwFile, "--data", d))
	r := ok(t, mp(t, "", "user", "list", "example.test", "--data", d))
	if !strings.Contains(r.stdout, "alice@example.test") || !strings.Contains(r.stdout, "10485760") || strings.Contains(r.stdout, "carol") {
		t.Errorf("user list example.test: %q", r.stdout)
	}
	if r := ok(t, mp(t, "", "user", "list", "--data", d)); !strings.Contains(r.stdout, "carol@other.test") || strings.Contains(r.stdout, "admin") {
		t.Errorf("user list: %q", r.stdout)
	}
	ok(t, mp(t, "new-password-1\n", "user", "passwd", "alice@example.test", "--password-stdin", "--data", d))

	r = ok(t, mp(t, "", "alias", "add", "team@example.test", "alice@example.test", "bob@example.test", "--data", d))
	if !strings.Contains(r.stdout, "team@example.test -> alice@example.test, bob@example.test") {
		t.Errorf("alias add: %q", r.stdout)
	}
	ok(t, mp(t, "", "alias", "add", "ext@other.test", "friend@elsewhere.test", "--data", d))
	if r := ok(t, mp(t, "", "alias", "list", "example.test", "--data", d)); !strings.Contains(r.stdout, "team@example.test") || strings.Contains(r.stdout, "ext@other.test") {
		t.Errorf("alias list: %q", r.stdout)
	}
	ok(t, mp(t, "", "sender", "add", "alice@example.test", "sales@example.test", "--data", d))
	if r := ok(t, mp(t, "", "sender", "list", "alice@example.test", "--data", d)); r.stdout != "sales@example.test\n" {
		t.Errorf("sender list: %q", r.stdout)
	}
	ok(t, mp(t, "", "sender", "remove", "alice@example.test", "sales@example.test", "--data", d))
	if r := ok(t, mp(t, "", "sender", "list", "alice@example.test", "--data", d)); r.stdout != "" {
		t.Errorf("sender list after remove: %q", r.stdout)
	}
	ok(t, mp(t, "", "forward", "add", "bob@example.test", "bob@elsewhere.test", "--keep-copy", "--data", d))
	if r := ok(t, mp(t, "", "forward", "list", "bob@example.test", "--data", d)); !strings.Contains(r.stdout, "bob@elsewhere.test  true") {
		t.Errorf("forward list: %q", r.stdout)
	}
	ok(t, mp(t, "", "forward", "remove", "bob@example.test", "bob@elsewhere.test", "--data", d))

	ok(t, mp(t, "", "alias", "remove", "team@example.test", "--data", d))
	ok(t, mp(t, "", "user", "remove", "bob@example.test", "--data", d))
	ok(t, mp(t, "", "domain-alias", "remove", "alias.test", "--data", d))
	ok(t, mp(t, "", "domain", "remove", "other.test", "--data", d))
	if r := ok(t, mp(t, "", "user", "list", "--data", d)); strings.Contains(r.stdout, "bob@") || strings.Contains(r.stdout, "carol@") {
		t.Errorf("user list after removals: %q", r.stdout)
	}
	if r := ok(t, mp(t, "", "domain", "list", "--data", d)); r.stdout != "example.test\n" {
		t.Errorf("domain list after remove: %q", r.stdout)
	}
}

func TestDirectoryCommandErrors(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "password-one\n", "user", "add", "alice@example.test", "--password-stdin", "--data", d))
	cases := []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"", []string{"domain", "add", "example.test"}, exitFail, "already exists"},
		{"", []string{"domain", "add", "not_a_domain"}, exitFail, "invalid domain"},
		{"", []string{"domain", "add"}, exitUsage, "usage: mailport domain add DOMAIN"},
		{"", []string{"domain", "remove", "ghost.test"}, exitFail, "not found"},
		{"", []string{"domain", "frob"}, exitUsage, "unknown subcommand"},
		{"", []string{"domain"}, exitUsage, "missing subcommand"},
		{"", []string{"domain-alias", "add", "a.test", "ghost.test"}, exitFail, "not found"},
		{"", []string{"domain-alias", "add", "a.test"}, exitUsage, "usage"},
		{"password-two\n", []string{"user", "add", "alice@example.test", "--password-stdin"}, exitFail, "already exists"},
		{"password-two\n", []string{"user", "add", "bob@ghost.test", "--password-stdin"}, exitFail, "ghost.test"},
		{"password-two\n", []string{"user", "add", "not-an-address", "--password-stdin"}, exitFail, "invalid address"},
		{"short\n", []string{"user", "add", "bob@example.test", "--password-stdin"}, exitFail, "password too short"},
		{"password\n", []string{"user", "add", "bob@example.test", "--password-stdin"}, exitFail, "password"},
		{"", []string{"user", "add", "bob@example.test", "--password-stdin"}, exitFail, "empty password"},
		{"", []string{"user", "add", "bob@example.test"}, exitUsage, "--password-stdin"},
		{"password-two\n", []string{"user", "add", "bob@example.test", "--password-stdin", "--quota", "lots"}, exitUsage, "--quota"},
		{"", []string{"user", "remove", "ghost@example.test"}, exitFail, "not found"},
		{"password-two\n", []string{"user", "passwd", "ghost@example.test", "--password-stdin"}, exitFail, "not found"},
		{"", []string{"user", "list", "ghost.test"}, exitFail, "not found"},
		{"", []string{"alias", "add", "x@example.test"}, exitUsage, "usage"},
		{"", []string{"alias", "add", "alice@example.test", "bob@example.test"}, exitFail, "already exists"},
		{"", []string{"alias", "add", "x@ghost.test", "bob@example.test"}, exitFail, "not hosted here"},
		{"", []string{"alias", "add", "x@example.test", "bad target"}, exitFail, "invalid address"},
		{"", []string{"alias", "remove", "ghost@example.test"}, exitFail, "not found"},
		{"", []string{"sender", "add", "ghost@example.test", "x@example.test"}, exitFail, "not found"},
		{"", []string{"sender", "add", "alice@example.test", "bad"}, exitFail, "invalid address"},
		{"", []string{"forward", "add", "alice@example.test", "alice@example.test"}, exitFail, "loop"},
		{"", []string{"forward", "list", "ghost@example.test"}, exitFail, "not found"},
		{"", []string{"user", "list", "--data", filepath.Join(d, "missing")}, exitFail, "mailport init"},
	}
	for _, c := range cases {
		args := append(append([]string{}, c.args...), "--data", d)
		if len(c.args) > 2 && c.args[len(c.args)-2] == "--data" {
			args = c.args
		}
		r := mp(t, c.stdin, args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "2K": 2048, "10M": 10 << 20, "1g": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1T", "x", "99999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
