package directory_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"mailport/internal/directory"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

const pw = "correct horse battery"

// newDirectory returns a directory on a fresh database with example.test,
// alias.test (domain alias), and mailboxes alice, bob and carol.
func newDirectory(t *testing.T) *directory.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := directory.New(st, nil, directory.Options{PlusSeparator: "+"})
	must(t, func() error { _, err := d.AddDomain(ctx, "Example.TEST"); return err }())
	must(t, func() error { _, err := d.AddDomain(ctx, "other.test"); return err }())
	must(t, d.AddDomainAlias(ctx, "alias.test", "example.test"))
	for _, u := range []string{"alice@example.test", "bob@example.test", "carol@other.test"} {
		must(t, func() error { _, err := d.AddUser(ctx, directory.NewUser{Address: u, Password: pw}); return err }())
	}
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func localAddrs(r directory.Resolution) []string {
	var out []string
	for _, l := range r.Local {
		out = append(out, l.Account.Address)
	}
	sort.Strings(out)
	return out
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "BOB@example.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "all@example.test", []string{"team@example.test", "carol@other.test", "friend@elsewhere.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "diamond@example.test", []string{"team@example.test", "alice@example.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "ext@example.test", []string{"someone@elsewhere.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "tagged+x@example.test", []string{"carol@other.test"})
	must(t, err)

	tests := []struct {
		addr     string
		local    []string
		external []string
		detail   string
		err      error
	}{
		{addr: "alice@example.test", local: []string{"alice@example.test"}},
		{addr: "ALICE@Example.Test", local: []string{"alice@example.test"}},
		{addr: "alice+news@example.test", local: []string{"alice@example.test"}, detail: "news"},
		{addr: "alice+a+b@example.test", local: []string{"alice@example.test"}, detail: "a+b"},
		{addr: "alice@alias.test", local: []string{"alice@example.test"}},
		{addr: "alice+x@alias.test", local: []string{"alice@example.test"}, detail: "x"},
		{addr: "team@example.test", local: []string{"alice@example.test", "bob@example.test"}},
		{addr: "team@alias.test", local: []string{"alice@example.test", "bob@example.test"}},
		{addr: "team+x@example.test", local: []string{"alice@example.test", "bob@example.test"}},
		{addr: "all@example.test", local: []string{"alice@example.test", "bob@example.test", "carol@other.test"}, external: []string{"friend@elsewhere.test"}},
		{addr: "diamond@example.test", local: []string{"alice@example.test", "bob@example.test"}},
		{addr: "ext@example.test", external: []string{"someone@elsewhere.test"}},
		{addr: "tagged+x@example.test", local: []string{"carol@other.test"}},
		{addr: "nobody@example.test", err: directory.ErrUnknownRecipient},
		{addr: "+x@example.test", err: directory.ErrUnknownRecipient},
		{addr: "alice@elsewhere.test", err: directory.ErrRelayDenied},
		{addr: "alice%elsewhere.test@example.test", err: directory.ErrRelayDenied},
		{addr: `"alice@elsewhere.test"@example.test`, err: directory.ErrRelayDenied},
		{addr: "@example.test:alice@elsewhere.test", err: directory.ErrRelayDenied},
		{addr: "not an address", err: directory.ErrInvalidAddress},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			r, err := d.Resolve(ctx, tc.addr)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Resolve(%q) err = %v, want %v", tc.addr, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.addr, err)
			}
			if got := localAddrs(r); !equal(got, tc.local) {
				t.Errorf("local = %v, want %v", got, tc.local)
			}
			if !equal(r.External, tc.external) {
				t.Errorf("external = %v, want %v", r.External, tc.external)
			}
			if len(r.Local) == 1 && r.Local[0].Detail != tc.detail {
				t.Errorf("detail = %q, want %q", r.Local[0].Detail, tc.detail)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResolveLoops(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.AddAlias(ctx, "a@example.test", []string{"b@example.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "b@example.test", []string{"c@alias.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "c@example.test", []string{"a@example.test"})
	must(t, err)
	if _, err := d.Resolve(ctx, "a@example.test"); !errors.Is(err, directory.ErrLoop) {
		t.Fatalf("loop: err = %v", err)
	}
	// A chain longer than the depth limit fails like a loop.
	for i := 0; i < 15; i++ {
		_, err := d.AddAlias(ctx, chain(i), []string{chain(i + 1)})
		must(t, err)
	}
	_, err = d.AddAlias(ctx, chain(15), []string{"alice@example.test"})
	must(t, err)
	if _, err := d.Resolve(ctx, chain(0)); !errors.Is(err, directory.ErrLoop) {
		t.Fatalf("deep chain: err = %v", err)
	}
	// A chain within the limit resolves.
	r, err := d.Resolve(ctx, chain(8))
	must(t, err)
	if got := localAddrs(r); !equal(got, []string{"alice@example.test"}) {
		t.Fatalf("chain(8) = %v", got)
	}
	// An alias to itself is refused when created.
	if _, err := d.AddAlias(ctx, "self@example.test", []string{"SELF@example.test"}); !errors.Is(err, directory.ErrLoop) {
		t.Fatalf("self alias: err = %v", err)
	}
}

func chain(i int) string { return "chain" + string(rune('a'+i)) + "@example.test" }

func TestResolveDisabled(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	a, err := d.GetUser(ctx, "bob@example.test")
	must(t, err)
	a.Enabled = false
	must(t, d.Store().UpdateAccount(ctx, a))
	if _, err := d.Resolve(ctx, "bob@example.test"); !errors.Is(err, directory.ErrDisabled) {
		t.Fatalf("disabled: err = %v", err)
	}
}

func TestDirectoryErrors(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"duplicate domain", func() error { _, err := d.AddDomain(ctx, "EXAMPLE.test"); return err }(), store.ErrExists},
		{"domain that is a domain alias", func() error { _, err := d.AddDomain(ctx, "alias.test"); return err }(), store.ErrExists},
		{"bad domain", func() error { _, err := d.AddDomain(ctx, "no_underscores.test"); return err }(), directory.ErrInvalidDomain},
		{"domain alias to unknown domain", d.AddDomainAlias(ctx, "x.test", "unknown.test"), store.ErrNotFound},
		{"domain alias that is a domain", d.AddDomainAlias(ctx, "other.test", "example.test"), store.ErrExists},
		{"user in unknown domain", func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "x@unknown.test", Password: pw})
			return err
		}(), directory.ErrDomainNotHosted},
		{"user in a domain alias", func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "x@alias.test", Password: pw})
			return err
		}(), directory.ErrDomainNotHosted},
		{"alias in unknown domain", func() error {
			_, err := d.AddAlias(ctx, "x@unknown.test", []string{"bob@example.test"})
			return err
		}(), directory.ErrDomainNotHosted},
		{"sender address in unknown domain", d.AddSender(ctx, "alice@example.test", "x@unknown.test"), directory.ErrDomainNotHosted},
		{"duplicate user", func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "Alice@example.test", Password: pw})
			return err
		}(), store.ErrExists},
		{"malformed user", func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "alice", Password: pw})
			return err
		}(), directory.ErrInvalidAddress},
		{"user with separator", func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "a+b@example.test", Password: pw})
			return err
		}(), directory.ErrInvalidAddress},
		{"alias over a mailbox", func() error {
			_, err := d.AddAlias(ctx, "alice@example.test", []string{"bob@example.test"})
			return err
		}(), store.ErrExists},
		{"alias with bad target", func() error {
			_, err := d.AddAlias(ctx, "x@example.test", []string{"not-an-address"})
			return err
		}(), directory.ErrInvalidAddress},
		{"remove unknown user", d.RemoveUser(ctx, "ghost@example.test"), store.ErrNotFound},
		{"remove unknown alias", d.RemoveAlias(ctx, "ghost@example.test"), store.ErrNotFound},
		{"remove unknown domain", d.RemoveDomain(ctx, "ghost.test"), store.ErrNotFound},
		{"forward of unknown mailbox", d.AddForward(ctx, "ghost@example.test", "x@elsewhere.test", false), store.ErrNotFound},
		{"sender of unknown mailbox", d.AddSender(ctx, "ghost@example.test", "x@example.test"), store.ErrNotFound},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := d.AddUser(ctx, directory.NewUser{Address: "weak@example.test", Password: "short"}); err == nil {
		t.Error("weak password accepted")
	}
}

func TestAddUserCreatesFolders(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	a, err := d.GetUser(ctx, "alice@example.test")
	must(t, err)
	mbs, err := d.Store().ListMailboxes(ctx, a.ID)
	must(t, err)
	got := map[string]string{}
	for _, m := range mbs {
		got[m.Name] = m.SpecialUse
	}
	for _, f := range directory.DefaultFolders {
		if use, ok := got[f.Name]; !ok || use != f.SpecialUse {
			t.Errorf("folder %s: present %v, special-use %q, want %q", f.Name, ok, use, f.SpecialUse)
		}
	}
}

func relayTargets(r directory.Resolution) []string {
	var out []string
	for _, t := range r.Relay {
		out = append(out, fmt.Sprintf("%s>%s:%d", t.Address, t.Host, t.Port))
	}
	sort.Strings(out)
	return out
}

// TestResolveRouting covers split domain routing and relay domains: which
// addresses relay, where to, and which are still refused.
func TestResolveRouting(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	// example.test is split: some users still live on old.example.net.
	must(t, d.SetSDR(ctx, "example.test", "old.example.net", 2525))
	_, err := d.AddRelayDomain(ctx, "backup.test", "mx.backup.test", 25, nil)
	must(t, err)
	_, err = d.AddRelayDomain(ctx, "listed.test", "192.0.2.7", 2526, []string{"known@listed.test", "Other@Listed.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "moved@example.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "fan@other.test", []string{"x@backup.test", "known@listed.test", "ext@elsewhere.test"})
	must(t, err)
	_, err = d.AddAlias(ctx, "bad@other.test", []string{"stranger@listed.test"})
	must(t, err)

	tests := []struct {
		addr     string
		local    []string
		relay    []string
		external []string
		err      error
	}{
		// A local mailbox stays local even with split routing.
		{addr: "alice@example.test", local: []string{"alice@example.test"}},
		{addr: "alice+tag@example.test", local: []string{"alice@example.test"}},
		// Unknown users of the split domain go to the other server.
		{addr: "moved@example.test", relay: []string{"moved@example.test>old.example.net:2525"}},
		{addr: "Moved+Tag@Example.test", relay: []string{"moved+tag@example.test>old.example.net:2525"}},
		// Through the domain alias, the canonical address is relayed.
		{addr: "moved@alias.test", relay: []string{"moved@example.test>old.example.net:2525"}},
		// An alias mixing local and split-routed targets.
		{addr: "team@example.test", local: []string{"alice@example.test"}, relay: []string{"moved@example.test>old.example.net:2525"}},
		// other.test has no split routing.
		{addr: "nobody@other.test", err: directory.ErrUnknownRecipient},
		// Relay domains.
		{addr: "anyone@backup.test", relay: []string{"anyone@backup.test>mx.backup.test:25"}},
		{addr: "known@listed.test", relay: []string{"known@listed.test>192.0.2.7:2526"}},
		{addr: "OTHER@listed.test", relay: []string{"other@listed.test>192.0.2.7:2526"}},
		{addr: "known+x@listed.test", relay: []string{"known+x@listed.test>192.0.2.7:2526"}},
		{addr: "stranger@listed.test", err: directory.ErrUnknownRecipient},
		// Alias targets in relay domains relay; others stay external.
		{addr: "fan@other.test", relay: []string{"known@listed.test>192.0.2.7:2526", "x@backup.test>mx.backup.test:25"},
			external: []string{"ext@elsewhere.test"}},
		{addr: "bad@other.test", err: directory.ErrUnknownRecipient},
		// Everything else is still no relay.
		{addr: "someone@elsewhere.test", err: directory.ErrRelayDenied},
		{addr: "someone@sub.backup.test", err: directory.ErrRelayDenied},
		{addr: "a%b@backup.test", err: directory.ErrRelayDenied},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			r, err := d.Resolve(ctx, tc.addr)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Resolve(%q) err = %v, want %v", tc.addr, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.addr, err)
			}
			if got := localAddrs(r); !equal(got, tc.local) {
				t.Errorf("local = %v, want %v", got, tc.local)
			}
			if got := relayTargets(r); !equal(got, tc.relay) {
				t.Errorf("relay = %v, want %v", got, tc.relay)
			}
			if !equal(r.External, tc.external) {
				t.Errorf("external = %v, want %v", r.External, tc.external)
			}
		})
	}

	// A disabled mailbox is not relayed away by split routing.
	a, err := d.GetUser(ctx, "bob@example.test")
	must(t, err)
	a.Enabled = false
	must(t, d.Store().UpdateAccount(ctx, a))
	if _, err := d.Resolve(ctx, "bob@example.test"); !errors.Is(err, directory.ErrDisabled) {
		t.Errorf("disabled mailbox in split domain: err = %v", err)
	}

	// Turning split routing off refuses unknown users again; removing a
	// relay domain denies relaying.
	must(t, d.ClearSDR(ctx, "example.test"))
	if _, err := d.Resolve(ctx, "moved@example.test"); !errors.Is(err, directory.ErrUnknownRecipient) {
		t.Errorf("after ClearSDR: err = %v", err)
	}
	must(t, d.RemoveRelayDomain(ctx, "backup.test"))
	if _, err := d.Resolve(ctx, "anyone@backup.test"); !errors.Is(err, directory.ErrRelayDenied) {
		t.Errorf("after RemoveRelayDomain: err = %v", err)
	}
}

func TestIsLocalAddress(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	must(t, d.SetSDR(ctx, "example.test", "old.example.net", 25))
	_, err := d.AddAlias(ctx, "team@example.test", []string{"alice@example.test"})
	must(t, err)
	_, err = d.AddRelayDomain(ctx, "backup.test", "mx.backup.test", 25, nil)
	must(t, err)
	for addr, want := range map[string]bool{
		"alice@example.test":     true,
		"ALICE+x@alias.test":     true,
		"carol@other.test":       true,
		"team@example.test":      false, // an alias, not a mailbox
		"moved@example.test":     false, // split-routed elsewhere
		"x@backup.test":          false,
		"alice@elsewhere.test":   false,
		"not an address at all":  false,
		"alice%x@example.test":   false,
		"nobody@other.test":      false,
		"alice+@example.test":    true, // empty detail, as Resolve reads it
		"carol+tag@other.test":   true,
		"carol+tag@other.test.":  true,
		"carol@other.test@x.org": false,
	} {
		if got := d.IsLocalAddress(ctx, addr); got != want {
			t.Errorf("IsLocalAddress(%q) = %v, want %v", addr, got, want)
		}
	}
}
