package directory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/store"
)

// A DomainAdmin adds domains only when max_domains allows it, and never a
// name that is, is below or is above one hosted here for someone else.
func TestDomainSquatting(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	master := f.as(t, "admin")
	// Names of others that bob (a.example) must not reach: a relay domain
	// below no hosted domain, and a domain nobody administers.
	_, err := master.AddRelayDomain(ctx, "branch.partner.example", "mx.partner.example", 25, nil)
	must(t, err)
	_, err = master.AddDomain(ctx, "shop.corp.example")
	must(t, err)

	// max_domains 0: bob may not add domains at all.
	_, err = master.UpdateAdmin(ctx, "bob", directory.AdminUpdate{Limits: &directory.Limits{}})
	must(t, err)
	_, err = f.as(t, "bob").AddDomain(ctx, "new.example")
	if !errors.Is(err, access.ErrForbidden) || !strings.Contains(err.Error(), "max_domains") {
		t.Fatalf("AddDomain with max_domains 0: %v", err)
	}
	_, err = master.UpdateAdmin(ctx, "bob", directory.AdminUpdate{Limits: &directory.Limits{MaxDomains: 10}})
	must(t, err)

	bob := f.as(t, "bob")
	before := f.auditCount(t)
	for _, name := range []string{
		"b.example",                   // carl's domain
		"Sub.B.Example",               // below carl's domain
		"b-alias.example",             // carl's domain alias
		"x.b-alias.example",           // below it
		"r.b.example",                 // carl's relay domain
		"partner.example",             // above a relay domain of no one's domain
		"deep.branch.partner.example", // below it
		"corp.example",                // above a domain bob does not administer
		"shop.corp.example",           // that domain itself
		"co.uk",                       // a public suffix
	} {
		_, err := bob.AddDomain(ctx, name)
		if !errors.Is(err, access.ErrForbidden) {
			t.Errorf("bob adds %s: %v, want ErrForbidden", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "ask a MasterAdmin") {
			t.Errorf("bob adds %s: message %q does not say what to do", name, err)
		}
	}
	if strings.Contains(errorOf(bob.AddDomain(ctx, "partner.example")), "branch.partner.example") {
		t.Error("the refusal names the other's relay domain")
	}
	if n := f.auditCount(t); n != before {
		t.Errorf("refused domains were audited: %d -> %d entries", before, n)
	}
	ds, err := master.ListDomains(ctx)
	must(t, err)
	for _, d := range ds {
		if d.Name == "corp.example" || d.Name == "partner.example" || d.Name == "co.uk" || strings.HasSuffix(d.Name, ".b.example") {
			t.Errorf("refused domain %s was created", d.Name)
		}
	}

	// Names below, above and beside its own are bob's to take.
	for _, name := range []string{"sub.a.example", "x.a-alias.example", "mail.bobs.example", "bobs.example", "deep.r.a.example"} {
		if _, err := bob.AddDomain(ctx, name); err != nil {
			t.Errorf("bob adds %s: %v", name, err)
		}
	}
	own, err := bob.ListDomains(ctx)
	must(t, err)
	var names []string
	for _, d := range own {
		names = append(names, d.Name)
	}
	if want := []string{"a.example", "bobs.example", "deep.r.a.example", "mail.bobs.example", "sub.a.example", "x.a-alias.example"}; !slices.Equal(names, want) {
		t.Errorf("bob's domains %v, want %v", names, want)
	}
	// Its own names taken again are conflicts, not refusals.
	for _, name := range []string{"a.example", "a-alias.example", "r.a.example"} {
		if _, err := bob.AddDomain(ctx, name); !errors.Is(err, store.ErrExists) {
			t.Errorf("bob adds %s again: %v, want ErrExists", name, err)
		}
	}

	// The rules bind DomainAdmins only.
	_, err = master.AddDomain(ctx, "sub.b.example")
	must(t, err)

	// An import is held to the same rules, row by row.
	rep, err := f.as(t, "carl").Import(ctx, directory.FormatCSV, strings.NewReader("kind,name\ndomain,corp.example\ndomain,carls.example\n"), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrImportRejected) || len(rep.Errors) != 1 || rep.Errors[0].Line != 2 || !strings.Contains(rep.Errors[0].Message, "permission denied") {
		t.Errorf("carl imports corp.example: %v %+v", err, rep.Errors)
	}
	_, err = master.UpdateAdmin(ctx, "carl", directory.AdminUpdate{Limits: &directory.Limits{}})
	must(t, err)
	rep, err = f.as(t, "carl").Import(ctx, directory.FormatCSV, strings.NewReader("kind,name\ndomain,carls.example\n"), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrImportRejected) || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "max_domains") {
		t.Errorf("carl imports a domain with max_domains 0: %v %+v", err, rep.Errors)
	}
}

func errorOf(_ store.Domain, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
