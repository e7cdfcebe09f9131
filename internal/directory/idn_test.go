package directory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/dnsrecords"
	"mailport/internal/store"
)

// An internationalized domain is one domain whichever form names it: the
// admin's (U-labels or A-labels, any case), an SMTP client's without
// SMTPUTF8 (A-labels: only SMTPUTF8, RFC 6531, allows U-labels) or with
// it, and a login's.

// idnDirectory adds bücher.test as typed, with mailbox user, alias info,
// the domain alias münchen.test and the relay domain zweig.bücher.test,
// each written in another form.
func idnDirectory(t *testing.T, typed string) (*directory.Service, *authCheck) {
	t.Helper()
	ctx := t.Context()
	d := newDirectory(t)
	dom, err := d.AddDomain(ctx, typed)
	must(t, err)
	if dom.Name != "xn--bcher-kva.test" {
		t.Fatalf("AddDomain(%q) = %q, want the A-label form", typed, dom.Name)
	}
	_, err = d.AddUser(ctx, directory.NewUser{Address: "User@BÜCHER.test", Password: pw})
	must(t, err)
	_, err = d.AddAlias(ctx, "info@xn--bcher-kva.test", []string{"user@bücher.test"})
	must(t, err)
	must(t, d.AddDomainAlias(ctx, "MÜNCHEN.test", "xn--bcher-kva.test"))
	_, err = d.AddRelayDomain(ctx, "zweig.bücher.test", "mx.zweig.bücher.test", 25, []string{"a@zweig.xn--bcher-kva.test"})
	must(t, err)
	return d, &authCheck{st: d.Store()}
}

func TestIDNResolvesBothForms(t *testing.T) {
	for _, typed := range []string{"bücher.test", "XN--BCHER-KVA.test", "BÜCHER.Test."} {
		t.Run(typed, func(t *testing.T) {
			ctx := t.Context()
			d, au := idnDirectory(t, typed)
			for _, rcpt := range []string{
				"user@xn--bcher-kva.test", "user@bücher.test", "USER@BÜCHER.TEST", "user@XN--BCHER-KVA.TEST",
				"user+tag@bücher.test", "info@bücher.test", "info@xn--bcher-kva.test",
				"user@münchen.test", "user@xn--mnchen-3ya.test",
			} {
				res, err := d.Resolve(ctx, rcpt)
				if err != nil {
					t.Errorf("Resolve(%s): %v", rcpt, err)
					continue
				}
				if got := localAddrs(res); !slices.Equal(got, []string{"user@xn--bcher-kva.test"}) {
					t.Errorf("Resolve(%s) = %v, want the mailbox user@xn--bcher-kva.test", rcpt, got)
				}
				if !d.IsLocalAddress(ctx, rcpt) && !strings.HasPrefix(rcpt, "info@") {
					t.Errorf("IsLocalAddress(%s) = false", rcpt)
				}
			}
			for _, rcpt := range []string{"a@zweig.bücher.test", "A@ZWEIG.XN--BCHER-KVA.TEST"} {
				res, err := d.Resolve(ctx, rcpt)
				if err != nil || len(res.Relay) != 1 {
					t.Fatalf("Resolve(%s) = %+v, %v; want one relayed address", rcpt, res, err)
				}
				if r := res.Relay[0]; r.Address != "a@zweig.xn--bcher-kva.test" || r.Host != "mx.zweig.xn--bcher-kva.test" {
					t.Errorf("Resolve(%s) relays %+v; want A-labels, the form to put on the wire", rcpt, r)
				}
			}
			if _, err := d.Resolve(ctx, "b@zweig.bücher.test"); !errors.Is(err, directory.ErrUnknownRecipient) {
				t.Errorf("address off the relay list: %v", err)
			}

			// Split domain routing set in one form applies to the other.
			must(t, d.SetSDR(ctx, "bücher.test", "alt.bücher.test", 2525))
			res, err := d.Resolve(ctx, "nobody@xn--bcher-kva.test")
			if err != nil || len(res.Relay) != 1 || res.Relay[0].Host != "alt.xn--bcher-kva.test" {
				t.Errorf("split routing: %+v, %v", res, err)
			}

			for _, login := range []string{"user@bücher.test", " USER@XN--BCHER-KVA.TEST ", "user@BÜCHER.test"} {
				if a, err := au.login(ctx, login, pw); err != nil || a.Address != "user@xn--bcher-kva.test" {
					t.Errorf("login %q: %+v, %v", login, a, err)
				}
			}
			// A password set through one form logs in through the other.
			must(t, d.SetPassword(ctx, "user@bücher.test", pw+" 2"))
			if _, err := au.login(ctx, "user@xn--bcher-kva.test", pw+" 2"); err != nil {
				t.Errorf("login after SetPassword through the U-label form: %v", err)
			}
		})
	}
}

// TestIDNDuplicates: the other form of an existing name is the same name,
// refused as existing (the API's 409).
func TestIDNDuplicates(t *testing.T) {
	ctx := t.Context()
	d, _ := idnDirectory(t, "bücher.test")
	for name, err := range map[string]error{
		"domain in A-labels": func() error { _, err := d.AddDomain(ctx, "xn--bcher-kva.test"); return err }(),
		"domain upper case":  func() error { _, err := d.AddDomain(ctx, "BÜCHER.TEST"); return err }(),
		"domain alias":       d.AddDomainAlias(ctx, "XN--BCHER-KVA.test", "example.test"),
		"domain as alias of a domain alias": func() error {
			_, err := d.AddDomain(ctx, "xn--mnchen-3ya.test")
			return err
		}(),
		"relay domain": func() error {
			_, err := d.AddRelayDomain(ctx, "xn--bcher-kva.test", "mx.example.test", 25, nil)
			return err
		}(),
		"relay domain twice": func() error {
			_, err := d.AddRelayDomain(ctx, "zweig.xn--bcher-kva.test", "mx.example.test", 25, nil)
			return err
		}(),
		"mailbox": func() error {
			_, err := d.AddUser(ctx, directory.NewUser{Address: "user@xn--bcher-kva.test", Password: pw})
			return err
		}(),
		"alias over a mailbox": func() error {
			_, err := d.AddAlias(ctx, "USER@xn--bcher-kva.test", []string{"alice@example.test"})
			return err
		}(),
		"alias twice": func() error {
			_, err := d.AddAlias(ctx, "info@bücher.test", []string{"alice@example.test"})
			return err
		}(),
	} {
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("%s: %v, want ErrExists", name, err)
		}
	}
	ds, err := d.ListDomains(ctx)
	must(t, err)
	if n := len(ds); n != 3 {
		t.Errorf("%d domains after the refusals, want 3", n)
	}
}

// TestIDNImportDuplicates: an import names a domain in one form while the
// store, or an earlier line, holds the other.
func TestIDNImportDuplicates(t *testing.T) {
	const header = "kind,name,target,host,port,display_name,quota_bytes,enabled,keep_copy,password,password_hash\n"
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	_, err := master.AddDomain(t.Context(), "bücher.example")
	mustDo(t, "AddDomain", err)
	for file, want := range map[string]string{
		header + "domain,XN--BCHER-KVA.example,,,,,,,,,\n":                                 "already exists as a hosted domain",
		header + "domain,straße.example,,,,,,,,,\ndomain,xn--strae-oqa.example,,,,,,,,,\n": "already a domain in line 2",
	} {
		rep, err := master.Import(t.Context(), directory.FormatCSV, strings.NewReader(file), directory.ImportOptions{})
		if !errors.Is(err, directory.ErrImportRejected) || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, want) {
			t.Errorf("import of\n%s= %v, %+v; want one error %q", file, err, rep.Errors, want)
		}
	}
}

// TestIDNDNSRecords: the records to publish and the DKIM keys are named in
// A-labels, the form DNS holds, whichever form the request used.
func TestIDNDNSRecords(t *testing.T) {
	ctx := t.Context()
	d, _ := idnDirectory(t, "bücher.test")
	k, err := d.GenerateDKIM(ctx, "BÜCHER.test", "ed25519", "sel")
	must(t, err)
	if k.Domain != "xn--bcher-kva.test" {
		t.Errorf("DKIM key of %q", k.Domain)
	}
	for _, name := range []string{"bücher.test", "xn--bcher-kva.test", "münchen.test"} {
		recs, err := d.DNSRecords(ctx, name, dnsrecords.Server{Hostname: "mx.example.test", SubmissionPort: 587}, dnsrecords.Options{})
		if err != nil {
			t.Fatalf("DNSRecords(%s): %v", name, err)
		}
		owner := strings.Replace(strings.Replace(name, "bücher", "xn--bcher-kva", 1), "münchen", "xn--mnchen-3ya", 1)
		var dkim bool
		for _, r := range recs {
			if strings.ContainsFunc(r.Name, func(c rune) bool { return c > 0x7f }) || !strings.HasSuffix(r.Name, owner) {
				t.Errorf("DNSRecords(%s): record %s is not under %s in A-labels", name, r, owner)
			}
			dkim = dkim || r.Name == "sel._domainkey."+owner
		}
		if !dkim {
			t.Errorf("DNSRecords(%s): no DKIM record sel._domainkey.%s in %v", name, owner, recs)
		}
		sel, key, ok, err := d.SigningKey(ctx, name)
		if err != nil || !ok || sel != "sel" || key == nil {
			t.Errorf("SigningKey(%s) = %q, %v, %v", name, sel, ok, err)
		}
	}
}

// TestIDNScope: a DomainAdmin of the domain manages it through either form.
func TestIDNScope(t *testing.T) {
	ctx := t.Context()
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	_, err := master.AddDomain(ctx, "xn--bcher-kva.example")
	mustDo(t, "AddDomain", err)
	_, err = master.CreateAdmin(ctx, directory.NewAdmin{Login: "idnadmin", Password: scopePW, Role: store.RoleDomainAdmin, Domains: []string{"BÜCHER.example"},
		Limits: directory.Limits{MaxDomains: 3}})
	mustDo(t, "CreateAdmin", err)
	da := f.as(t, "idnadmin")
	if !access.CanManageDomain(da.Principal(), "xn--bcher-kva.example") {
		t.Fatalf("domains of the DomainAdmin: %v", da.Principal().Domains)
	}
	_, err = da.AddMailbox(ctx, directory.NewUser{Address: "jürgen@bücher.example", Password: mbPW})
	mustDo(t, "AddMailbox", err)
	mb, err := da.GetMailbox(ctx, "JÜRGEN@XN--BCHER-KVA.example")
	mustDo(t, "GetMailbox", err)
	if mb.Address != "jürgen@xn--bcher-kva.example" || mb.Domain != "xn--bcher-kva.example" {
		t.Errorf("mailbox %+v", mb)
	}
	mustDo(t, "AddSender", da.AddSender(ctx, "jürgen@xn--bcher-kva.example", "info@bücher.example"))
	ss, err := da.ListSenders(ctx, "jürgen@bücher.example")
	mustDo(t, "ListSenders", err)
	if len(ss) != 1 || ss[0].Address != "info@xn--bcher-kva.example" {
		t.Errorf("senders %+v", ss)
	}
	mustDo(t, "ChangePassword", da.ChangePassword(ctx, "jürgen@bücher.example", mbPW+" 2"))
	// The public suffix list holds A-labels: 公司.cn (xn--55qx5d.cn) is
	// one, under which others register.
	if _, err := da.AddDomain(ctx, "公司.cn"); !errors.Is(err, access.ErrForbidden) || !strings.Contains(err.Error(), "public suffix") {
		t.Errorf("DomainAdmin adds the public suffix 公司.cn: %v", err)
	}
	if v := directory.DomainView(store.Domain{Name: "xn--bcher-kva.example"}); v.UnicodeName != "bücher.example" {
		t.Errorf("view %+v, want unicode_name bücher.example", v)
	}
}
