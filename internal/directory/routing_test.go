package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailport/internal/directory"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/msgauth/dkim"
	"mailport/internal/store"
)

func TestSDRAndRelayDomainErrors(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.AddRelayDomain(ctx, "relay.test", "mx.relay.test", 25, nil)
	must(t, err)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"sdr unknown domain", d.SetSDR(ctx, "ghost.test", "h.test", 25), store.ErrNotFound},
		{"sdr on a domain alias", d.SetSDR(ctx, "alias.test", "h.test", 25), store.ErrNotFound},
		{"sdr on a relay domain", d.SetSDR(ctx, "relay.test", "h.test", 25), store.ErrNotFound},
		{"sdr bad host", d.SetSDR(ctx, "example.test", "bad host", 25), directory.ErrInvalidRoute},
		{"sdr empty host", d.SetSDR(ctx, "example.test", "", 25), directory.ErrInvalidRoute},
		{"sdr port 0", d.SetSDR(ctx, "example.test", "h.test", 0), directory.ErrInvalidRoute},
		{"sdr port too big", d.SetSDR(ctx, "example.test", "h.test", 65536), directory.ErrInvalidRoute},
		{"clear sdr unknown domain", d.ClearSDR(ctx, "ghost.test"), store.ErrNotFound},
		{"relay domain that is hosted", func() error { _, err := d.AddRelayDomain(ctx, "Example.test", "h.test", 25, nil); return err }(), store.ErrExists},
		{"relay domain that is a domain alias", func() error { _, err := d.AddRelayDomain(ctx, "alias.test", "h.test", 25, nil); return err }(), store.ErrExists},
		{"relay domain twice", func() error { _, err := d.AddRelayDomain(ctx, "relay.test", "h.test", 25, nil); return err }(), store.ErrExists},
		{"relay domain bad name", func() error { _, err := d.AddRelayDomain(ctx, "bad_name.test", "h.test", 25, nil); return err }(), directory.ErrInvalidDomain},
		{"relay domain bad host", func() error { _, err := d.AddRelayDomain(ctx, "r2.test", "h..test", 25, nil); return err }(), directory.ErrInvalidRoute},
		{"relay domain bad port", func() error { _, err := d.AddRelayDomain(ctx, "r2.test", "h.test", -1, nil); return err }(), directory.ErrInvalidRoute},
		{"relay recipient elsewhere", func() error {
			_, err := d.AddRelayDomain(ctx, "r2.test", "h.test", 25, []string{"a@r2.test", "b@other.test"})
			return err
		}(), directory.ErrInvalidAddress},
		{"relay recipient malformed", func() error {
			_, err := d.AddRelayDomain(ctx, "r2.test", "h.test", 25, []string{"nobody"})
			return err
		}(), directory.ErrInvalidAddress},
		{"remove unknown relay domain", d.RemoveRelayDomain(ctx, "ghost.test"), store.ErrNotFound},
		{"hosted domain named like a relay domain", func() error { _, err := d.AddDomain(ctx, "relay.test"); return err }(), store.ErrExists},
		{"domain alias named like a relay domain", d.AddDomainAlias(ctx, "relay.test", "example.test"), store.ErrExists},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	// Nothing of the failed r2.test was stored.
	list, err := d.ListRelayDomains(ctx)
	must(t, err)
	if len(list) != 1 || list[0].Name != "relay.test" {
		t.Errorf("relay domains = %+v", list)
	}
}

func TestSDRAndRelayDomainValues(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	must(t, d.SetSDR(ctx, "EXAMPLE.test", "[2001:DB8::1]", 2525))
	dom, err := d.GetDomain(ctx, "example.test")
	must(t, err)
	if dom.SDRHost != "2001:db8::1" || dom.SDRPort != 2525 {
		t.Errorf("sdr = %q:%d", dom.SDRHost, dom.SDRPort)
	}
	must(t, d.SetSDR(ctx, "example.test", "Old.Example.NET.", 25))
	dom, err = d.GetDomain(ctx, "example.test")
	must(t, err)
	if dom.SDRHost != "old.example.net" || dom.SDRPort != 25 {
		t.Errorf("sdr = %q:%d", dom.SDRHost, dom.SDRPort)
	}
	must(t, d.ClearSDR(ctx, "example.test"))
	dom, err = d.GetDomain(ctx, "example.test")
	must(t, err)
	if dom.SDRHost != "" || dom.SDRPort != 0 {
		t.Errorf("sdr after clear = %q:%d", dom.SDRHost, dom.SDRPort)
	}

	rd, err := d.AddRelayDomain(ctx, "Relay.TEST", "MX.relay.test", 2525, []string{" B@relay.test", "a@RELAY.test", "b@relay.test"})
	must(t, err)
	if rd.Name != "relay.test" || rd.Host != "mx.relay.test" || rd.Port != 2525 || !equal(rd.Recipients, []string{"b@relay.test", "a@relay.test"}) {
		t.Errorf("AddRelayDomain = %+v", rd)
	}
	list, err := d.ListRelayDomains(ctx)
	must(t, err)
	if len(list) != 1 || !equal(list[0].Recipients, []string{"a@relay.test", "b@relay.test"}) {
		t.Errorf("ListRelayDomains = %+v", list)
	}
	must(t, d.RemoveRelayDomain(ctx, "RELAY.test"))
	list, err = d.ListRelayDomains(ctx)
	must(t, err)
	if len(list) != 0 {
		t.Errorf("after remove: %+v", list)
	}
}

const testMessage = "From: alice@example.test\r\nTo: bob@elsewhere.test\r\nSubject: hello\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nHello.\r\n"

// signAndVerify signs testMessage for domain with the directory's active
// key and verifies it against zone; it returns the selector used.
func signAndVerify(t *testing.T, d *directory.Service, zone *dns.Mock, domain string) (string, dkim.Status) {
	t.Helper()
	ctx := context.Background()
	sel, key, ok, err := d.SigningKey(ctx, domain)
	if err != nil || !ok {
		t.Fatalf("SigningKey(%s) = %q, %v, %v", domain, sel, ok, err)
	}
	sig, err := dkim.Sign(strings.NewReader(testMessage), domain, sel, key, nil)
	must(t, err)
	res, err := dkim.Verify(ctx, strings.NewReader(sig+testMessage), zone)
	must(t, err)
	if len(res) != 1 {
		t.Fatalf("%d verification results", len(res))
	}
	return sel, res[0].Status
}

// publish puts the directory's DKIM records of domain into zone, replacing
// what was there.
func publish(t *testing.T, d *directory.Service, zone *dns.Mock, domain string, names ...string) {
	t.Helper()
	for _, n := range names {
		zone.SetTXT(n)
	}
	recs, err := d.DKIMRecords(context.Background(), domain)
	must(t, err)
	for _, r := range recs {
		zone.AddTXT(r.Name, r.Value)
	}
}

// TestDKIMRotation walks the rotation procedure: generate, publish, sign;
// generate a new key (it signs from now on, the old one stays published so
// mail signed before still verifies); remove the old key.
func TestDKIMRotation(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	zone := &dns.Mock{}

	if _, _, ok, err := d.SigningKey(ctx, "example.test"); ok || err != nil {
		t.Fatalf("SigningKey without keys: ok %v, err %v", ok, err)
	}
	k1, err := d.GenerateDKIM(ctx, "Example.test", "ed25519", "S1")
	must(t, err)
	if k1.Selector != "s1" || k1.Algorithm != "ed25519" || !k1.Active || k1.Domain != "example.test" {
		t.Fatalf("GenerateDKIM = %+v", k1)
	}
	publish(t, d, zone, "example.test")
	sel, st := signAndVerify(t, d, zone, "example.test")
	if sel != "s1" || st != dkim.StatusPass {
		t.Fatalf("first key: selector %s, status %s", sel, st)
	}
	// A message signed with s1, still in flight during the rotation.
	sel1, key1, _, _ := d.SigningKey(ctx, "example.test")
	oldSig, err := dkim.Sign(strings.NewReader(testMessage), "example.test", sel1, key1, nil)
	must(t, err)

	k2, err := d.GenerateDKIM(ctx, "example.test", "", "")
	must(t, err)
	wantSel := "mp" + time.Now().UTC().Format("20060102")
	if k2.Algorithm != "rsa" || !strings.HasPrefix(k2.Selector, wantSel) {
		t.Errorf("default key = %s %s, want rsa and selector %s", k2.Algorithm, k2.Selector, wantSel)
	}
	recs, err := d.DKIMRecords(ctx, "example.test")
	must(t, err)
	if len(recs) != 2 || recs[0].Name != "s1._domainkey.example.test" || recs[1].Name != k2.Selector+"._domainkey.example.test" ||
		!strings.HasPrefix(recs[0].Value, "v=DKIM1; k=ed25519; p=") || !strings.HasPrefix(recs[1].Value, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("records during rotation: %v", recs)
	}
	publish(t, d, zone, "example.test", "s1._domainkey.example.test")
	sel, st = signAndVerify(t, d, zone, "example.test")
	if sel != k2.Selector || st != dkim.StatusPass {
		t.Fatalf("after rotation: selector %s, status %s", sel, st)
	}
	res, err := dkim.Verify(ctx, strings.NewReader(oldSig+testMessage), zone)
	must(t, err)
	if len(res) != 1 || res[0].Status != dkim.StatusPass {
		t.Fatalf("mail signed before the rotation: %+v", res)
	}

	// A second default key on the same day gets a free selector.
	k3, err := d.GenerateDKIM(ctx, "example.test", "ed25519", "")
	must(t, err)
	if k3.Selector != wantSel+"b" {
		t.Errorf("second selector of the day = %s, want %sb", k3.Selector, wantSel)
	}
	// Going back to an older key, then removing keys.
	must(t, d.ActivateDKIM(ctx, "example.test", k2.Selector))
	if sel, _, _, _ := d.SigningKey(ctx, "example.test"); sel != k2.Selector {
		t.Errorf("after ActivateDKIM: signing with %s", sel)
	}
	must(t, d.RemoveDKIM(ctx, "example.test", "s1"))
	must(t, d.RemoveDKIM(ctx, "example.test", k2.Selector))
	if sel, _, _, _ := d.SigningKey(ctx, "example.test"); sel != k3.Selector {
		t.Errorf("after removing the active key: signing with %s, want %s", sel, k3.Selector)
	}
	keys, err := d.ListDKIM(ctx, "example.test")
	must(t, err)
	if len(keys) != 1 || keys[0].Selector != k3.Selector || !keys[0].Active {
		t.Errorf("keys left: %+v", keys)
	}
}

func TestDKIMAliasDomain(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.GenerateDKIM(ctx, "example.test", "ed25519", "s1")
	must(t, err)
	zone := &dns.Mock{}
	// The alias publishes the domain's key under its own name.
	publish(t, d, zone, "alias.test")
	recs, err := d.DKIMRecords(ctx, "alias.test")
	must(t, err)
	if len(recs) != 1 || recs[0].Name != "s1._domainkey.alias.test" {
		t.Fatalf("alias records = %v", recs)
	}
	if sel, st := signAndVerify(t, d, zone, "alias.test"); sel != "s1" || st != dkim.StatusPass {
		t.Fatalf("alias signing: %s %s", sel, st)
	}
	// A domain without keys, or not ours, has no signing key.
	for _, dom := range []string{"other.test", "elsewhere.test", "bad_domain"} {
		if sel, key, ok, err := d.SigningKey(ctx, dom); ok || err != nil || sel != "" || key != nil {
			t.Errorf("SigningKey(%s) = %q, %v, %v, %v", dom, sel, key, ok, err)
		}
	}
}

func TestDKIMErrors(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.GenerateDKIM(ctx, "example.test", "ed25519", "s1")
	must(t, err)
	gen := func(domain, alg, sel string) error { _, err := d.GenerateDKIM(ctx, domain, alg, sel); return err }
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unknown domain", gen("ghost.test", "rsa", ""), store.ErrNotFound},
		{"domain alias", gen("alias.test", "rsa", ""), store.ErrNotFound},
		{"selector taken", gen("example.test", "rsa", "S1"), store.ErrExists},
		{"bad selector", gen("example.test", "rsa", "bad_selector"), directory.ErrInvalidDomain},
		{"selector with empty label", gen("example.test", "rsa", "a..b"), directory.ErrInvalidDomain},
		{"remove unknown key", d.RemoveDKIM(ctx, "example.test", "nope"), store.ErrNotFound},
		{"activate unknown key", d.ActivateDKIM(ctx, "example.test", "nope"), store.ErrNotFound},
		{"records of unknown domain", func() error { _, err := d.DKIMRecords(ctx, "ghost.test"); return err }(), store.ErrNotFound},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	if err := gen("example.test", "dsa", ""); err == nil || !strings.Contains(err.Error(), "algorithm") {
		t.Errorf("unknown algorithm: err = %v", err)
	}
	if keys, _ := d.ListDKIM(ctx, "example.test"); len(keys) != 1 {
		t.Errorf("failed generations stored keys: %+v", keys)
	}
}

func TestDNSRecords(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	_, err := d.GenerateDKIM(ctx, "example.test", "ed25519", "s1")
	must(t, err)
	srv := dnsrecords.Server{Hostname: "mx.example.test", SubmissionPort: 587, IMAPSPort: 993}
	recs, err := d.DNSRecords(ctx, "Example.test", srv, dnsrecords.Options{})
	must(t, err)
	var lines []string
	for _, r := range recs {
		lines = append(lines, r.String())
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"example.test MX 10 mx.example.test",
		"example.test TXT v=spf1 mx ~all",
		"s1._domainkey.example.test TXT v=DKIM1; k=ed25519; p=",
		"_dmarc.example.test TXT v=DMARC1; p=quarantine",
		"_mta-sts.example.test TXT v=STSv1; id=",
		"autoconfig.example.test CNAME mx.example.test",
		"_submission._tcp.example.test SRV 0 1 587 mx.example.test",
		"_imaps._tcp.example.test SRV 0 1 993 mx.example.test",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("records lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "_pop3s") {
		t.Errorf("record for a service that is off:\n%s", text)
	}
	// A domain alias gets the same records under its name.
	recs, err = d.DNSRecords(ctx, "alias.test", srv, dnsrecords.Options{})
	must(t, err)
	if recs[0].Name != "alias.test" || recs[2].Name != "s1._domainkey.alias.test" {
		t.Errorf("alias records: %v", recs)
	}
	if _, err := d.DNSRecords(ctx, "elsewhere.test", srv, dnsrecords.Options{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("records of a foreign domain: err = %v", err)
	}
}
