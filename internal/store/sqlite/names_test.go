package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"mailport/internal/store"
)

// oldNames fills db as a version before 7 left it: names as the admin
// wrote them, U-labels and A-labels side by side.
func oldNames(t *testing.T, db *DB) store.Account {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.CreateDomain(ctx, "bücher.test")
	must(err)
	_, err = db.CreateDomain(ctx, "plain.test")
	must(err)
	must(db.SetDomainSDR(ctx, "bücher.test", "mx.münchen.test", 25))
	must(db.SetDomainSDR(ctx, "plain.test", "192.0.2.1", 25))
	must(db.CreateDomainAlias(ctx, "münchen.test", "bücher.test"))
	must(db.CreateRelayDomain(ctx, store.RelayDomain{Name: "zweig.bücher.test", Host: "relay.bücher.test", Port: 25,
		Recipients: []string{"a@zweig.bücher.test", "b@zweig.bücher.test"}}))
	acct, err := db.CreateAccount(ctx, store.Account{Address: "jürgen@bücher.test", DomainID: d.ID, Enabled: true},
		[]store.MailboxSpec{{Name: "INBOX"}})
	must(err)
	_, err = db.CreateAccount(ctx, store.Account{Address: "admin", Role: store.RoleMasterAdmin, Enabled: true}, nil)
	must(err)
	must(db.AddSenderAddress(ctx, store.SenderAddress{AccountID: acct.ID, Address: "jürgen@münchen.test"}))
	// The same forward in both forms: one forward once converted.
	must(db.AddForward(ctx, store.Forward{AccountID: acct.ID, Target: "x@straße.test"}))
	must(db.AddForward(ctx, store.Forward{AccountID: acct.ID, Target: "x@xn--strae-oqa.test"}))
	_, err = db.CreateAlias(ctx, store.Alias{Address: "info@bücher.test",
		Targets: []string{"jürgen@bücher.test", "jürgen@xn--bcher-kva.test", "y@example.org"}})
	must(err)
	_, err = db.AppendAudit(ctx, store.AuditEntry{Actor: "admin", ActorRole: store.RoleMasterAdmin, Action: "domain.create",
		ObjectType: "domain", ObjectID: "bücher.test", Domain: "bücher.test"})
	must(err)
	return acct
}

func runCanonicalNames(ctx context.Context, db *DB) error {
	return withTx(ctx, db.w, func(tx *sql.Tx) error { return canonicalNames(ctx, tx) })
}

func TestCanonicalNames(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	acct := oldNames(t, db)
	if err := runCanonicalNames(ctx, db); err != nil {
		t.Fatalf("canonicalNames: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the rewrite: %v", err)
	}

	var names []string
	ds, err := db.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		names = append(names, d.Name+" "+d.SDRHost)
	}
	slices.Sort(names)
	if want := []string{"plain.test 192.0.2.1", "xn--bcher-kva.test mx.xn--mnchen-3ya.test"}; !slices.Equal(names, want) {
		t.Errorf("domains %q, want %q", names, want)
	}
	if da, err := db.GetDomainAlias(ctx, "xn--mnchen-3ya.test"); err != nil || da.Domain != "xn--bcher-kva.test" {
		t.Errorf("domain alias: %+v, %v", da, err)
	}
	rd, err := db.GetRelayDomain(ctx, "zweig.xn--bcher-kva.test")
	if err != nil {
		t.Fatalf("relay domain: %v", err)
	}
	if rd.Host != "relay.xn--bcher-kva.test" || !slices.Equal(rd.Recipients, []string{"a@zweig.xn--bcher-kva.test", "b@zweig.xn--bcher-kva.test"}) {
		t.Errorf("relay domain %+v", rd)
	}
	if _, ok, err := db.RelayRoute(ctx, "zweig.xn--bcher-kva.test", "a@zweig.xn--bcher-kva.test"); err != nil || !ok {
		t.Errorf("relay route of a converted recipient: %v, %v", ok, err)
	}
	got, err := db.GetAccountByAddress(ctx, "jürgen@xn--bcher-kva.test")
	if err != nil || got.ID != acct.ID {
		t.Fatalf("mailbox under its new address: %+v, %v", got, err)
	}
	if _, err := db.GetAccountByAddress(ctx, "admin"); err != nil {
		t.Errorf("admin login without a domain: %v", err)
	}
	ss, err := db.ListSenderAddresses(ctx, acct.ID)
	if err != nil || len(ss) != 1 || ss[0].Address != "jürgen@xn--mnchen-3ya.test" {
		t.Errorf("sender addresses %+v, %v", ss, err)
	}
	fs, err := db.ListForwards(ctx, acct.ID)
	if err != nil || len(fs) != 1 || fs[0].Target != "x@xn--strae-oqa.test" {
		t.Errorf("forwards %+v, %v (the two forms are one forward)", fs, err)
	}
	al, err := db.GetAlias(ctx, "info@xn--bcher-kva.test")
	if err != nil || !slices.Equal(al.Targets, []string{"jürgen@xn--bcher-kva.test", "y@example.org"}) {
		t.Errorf("alias %+v, %v", al, err)
	}
	es, err := db.ListAudit(ctx, store.AuditFilter{Domains: []string{"xn--bcher-kva.test"}})
	if err != nil || len(es) != 1 {
		t.Errorf("audit entries of the converted domain: %d, %v", len(es), err)
	}

	// A second run finds nothing to change.
	if err := runCanonicalNames(ctx, db); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

// TestCanonicalNamesRefusesTwoForms: two domains an older version kept
// apart that are one name are not merged; the rewrite fails naming both,
// and nothing is changed.
func TestCanonicalNamesRefusesTwoForms(t *testing.T) {
	for name, fill := range map[string]func(db *DB) error{
		"two domains": func(db *DB) error {
			if _, err := db.CreateDomain(t.Context(), "bücher.test"); err != nil {
				return err
			}
			_, err := db.CreateDomain(t.Context(), "xn--bcher-kva.test")
			return err
		},
		"domain and domain alias": func(db *DB) error {
			if _, err := db.CreateDomain(t.Context(), "bücher.test"); err != nil {
				return err
			}
			if _, err := db.CreateDomain(t.Context(), "other.test"); err != nil {
				return err
			}
			return db.CreateDomainAlias(t.Context(), "xn--bcher-kva.test", "other.test")
		},
	} {
		t.Run(name, func(t *testing.T) {
			db := openTemp(t)
			ctx := t.Context()
			if err := fill(db); err != nil {
				t.Fatal(err)
			}
			err := runCanonicalNames(ctx, db)
			if err == nil || !strings.Contains(err.Error(), "xn--bcher-kva.test") || !strings.Contains(err.Error(), "previous mailport") {
				t.Fatalf("err = %v, want one naming the two forms", err)
			}
			if _, err := db.GetDomain(ctx, "bücher.test"); errors.Is(err, store.ErrNotFound) {
				t.Error("the refused rewrite changed a name")
			}
		})
	}
}

// TestGoStepsHaveFiles: every Go step belongs to a migration file, which
// is what runs it.
func TestGoStepsHaveFiles(t *testing.T) {
	for v := range goSteps {
		names, err := fs.Glob(migrationFiles, fmt.Sprintf("migrations/%04d_*.sql", v))
		if err != nil || len(names) != 1 {
			t.Errorf("Go step of version %d: migration files %q, %v; want one", v, names, err)
		}
	}
}
