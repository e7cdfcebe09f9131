package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailport/internal/config"
	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/dnsrecords"
)

func TestDomainSDRCommands(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	if r := ok(t, mp(t, "", "domain", "sdr", "example.test", "--data", d)); r.stdout != "split domain routing of example.test off\n" {
		t.Errorf("sdr show: %q", r.stdout)
	}
	r := ok(t, mp(t, "", "domain", "sdr", "Example.test", "--host", "old.example.net", "--port", "2525", "--data", d))
	if r.stdout != "example.test: unknown addresses relayed to old.example.net:2525\n" {
		t.Errorf("sdr set: %q", r.stdout)
	}
	r = ok(t, mp(t, "", "domain", "sdr", "example.test", "--host", "2001:db8::5", "--data", d))
	if r.stdout != "example.test: unknown addresses relayed to [2001:db8::5]:25\n" {
		t.Errorf("sdr set with default port: %q", r.stdout)
	}
	ok(t, mp(t, "", "domain", "sdr", "example.test", "--off", "--data", d))
	if r := ok(t, mp(t, "", "domain", "sdr", "example.test", "--data", d)); !strings.Contains(r.stdout, "off") {
		t.Errorf("sdr after --off: %q", r.stdout)
	}

	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"domain", "sdr"}, exitUsage, "usage: mailport domain sdr DOMAIN"},
		{[]string{"domain", "sdr", "example.test", "--host", "h.test", "--off"}, exitUsage, "exclude"},
		{[]string{"domain", "sdr", "example.test", "--host", "h.test", "--port", "0"}, exitUsage, "--port"},
		{[]string{"domain", "sdr", "example.test", "--host", "h.test", "--port", "x"}, exitUsage, "--port"},
		{[]string{"domain", "sdr", "example.test", "--host", "bad host"}, exitFail, "invalid destination"},
		{[]string{"domain", "sdr", "ghost.test", "--host", "h.test"}, exitFail, "not found"},
		{[]string{"domain", "sdr", "ghost.test", "--off"}, exitFail, "not found"},
	}
	for _, c := range cases {
		r := mp(t, "", append(c.args, "--data", d)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}

func TestRelayDomainCommands(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	rcpts := filepath.Join(t.TempDir(), "rcpts")
	os.WriteFile(rcpts, []byte("# accepted addresses\nA@relay.test\n\n  b@relay.test  \n# done\n"), 0o600)

	r := ok(t, mp(t, "", "relay-domain", "add", "relay.test", "--to", "mx.relay.test:2525", "--recipients", rcpts, "--data", d))
	if r.stdout != "relay domain relay.test -> mx.relay.test:2525 (2 recipients)\n" {
		t.Errorf("add: %q", r.stdout)
	}
	r = ok(t, mp(t, "", "relay-domain", "add", "backup.test", "--to", "[2001:db8::7]:25", "--data", d))
	if r.stdout != "relay domain backup.test -> [2001:db8::7]:25 (any address)\n" {
		t.Errorf("add without list: %q", r.stdout)
	}
	ok(t, mp(t, "", "relay-domain", "add", "noport.test", "--to", "mx.noport.test", "--data", d))
	r = ok(t, mp(t, "", "relay-domain", "list", "--data", d))
	want := []string{"DOMAIN", "backup.test  [2001:db8::7]:25", "noport.test  mx.noport.test:25", "relay.test   mx.relay.test:2525"}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("list lacks %q:\n%s", w, r.stdout)
		}
	}
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 4 || !strings.HasSuffix(lines[3], "2") || !strings.HasSuffix(lines[1], "any") {
		t.Errorf("list:\n%s", r.stdout)
	}
	ok(t, mp(t, "", "relay-domain", "remove", "noport.test", "--data", d))
	if r := ok(t, mp(t, "", "relay-domain", "list", "--data", d)); strings.Contains(r.stdout, "noport") {
		t.Errorf("list after remove:\n%s", r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("a@relay2.test\nsomeone@other.test\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("# nothing\n\n"), 0o600)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"relay-domain", "add", "relay2.test"}, exitUsage, "--to"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "h.test:0"}, exitUsage, "bad port"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "h.test:1:2"}, exitUsage, "bad destination"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "bad host:25"}, exitFail, "invalid destination"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "h.test:25", "--recipients", bad}, exitFail, "not in the domain"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "h.test:25", "--recipients", empty}, exitFail, "no addresses"},
		{[]string{"relay-domain", "add", "relay2.test", "--to", "h.test:25", "--recipients", filepath.Join(d, "missing")}, exitFail, "no such file"},
		{[]string{"relay-domain", "add", "example.test", "--to", "h.test:25"}, exitFail, "already exists"},
		{[]string{"relay-domain", "add", "relay.test", "--to", "h.test:25"}, exitFail, "already exists"},
		{[]string{"relay-domain", "remove", "ghost.test"}, exitFail, "not found"},
		{[]string{"relay-domain", "remove"}, exitUsage, "usage"},
		{[]string{"domain", "add", "relay.test"}, exitFail, "already exists"},
	}
	for _, c := range cases {
		r := mp(t, "", append(c.args, "--data", d)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}

func TestDKIMCommands(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "", "domain-alias", "add", "alias.test", "example.test", "--data", d))

	r := ok(t, mp(t, "", "dkim", "generate", "example.test", "--algorithm", "ed25519", "--selector", "s1", "--data", d))
	first := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(first, "s1._domainkey.example.test TXT v=DKIM1; k=ed25519; p=") || strings.Contains(first, "\n") {
		t.Errorf("generate: %q", r.stdout)
	}
	r = ok(t, mp(t, "", "dkim", "generate", "example.test", "--selector", "s2", "--data", d))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "s2._domainkey.example.test TXT v=DKIM1; k=rsa; p=") || !strings.Contains(lines[1], "keep the older keys published") {
		t.Errorf("second generate: %q", r.stdout)
	}
	// show: one line per published key, exactly NAME TXT VALUE.
	r = ok(t, mp(t, "", "dkim", "show", "example.test", "--data", d))
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != first || !strings.HasPrefix(lines[1], "s2._domainkey.example.test TXT v=DKIM1; k=rsa; p=") {
		t.Errorf("show:\n%s", r.stdout)
	}
	r = ok(t, mp(t, "", "dkim", "show", "alias.test", "--data", d))
	if !strings.HasPrefix(r.stdout, "s1._domainkey.alias.test TXT v=DKIM1; k=ed25519; p=") {
		t.Errorf("show alias:\n%s", r.stdout)
	}
	r = ok(t, mp(t, "", "dkim", "list", "example.test", "--data", d))
	if !strings.Contains(r.stdout, "s1        ed25519    false") || !strings.Contains(r.stdout, "s2        rsa        true") {
		t.Errorf("list:\n%s", r.stdout)
	}
	ok(t, mp(t, "", "dkim", "activate", "example.test", "s1", "--data", d))
	if r := ok(t, mp(t, "", "dkim", "list", "example.test", "--data", d)); !strings.Contains(r.stdout, "s1        ed25519    true") {
		t.Errorf("list after activate:\n%s", r.stdout)
	}
	ok(t, mp(t, "", "dkim", "remove", "example.test", "s1", "--data", d))
	r = ok(t, mp(t, "", "dkim", "show", "example.test", "--data", d))
	if strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "s2._domainkey") {
		t.Errorf("show after remove:\n%s", r.stdout)
	}

	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"dkim", "generate", "example.test", "--algorithm", "dsa"}, exitFail, "unknown key algorithm"},
		{[]string{"dkim", "generate", "example.test", "--selector", "s2"}, exitFail, "already exists"},
		{[]string{"dkim", "generate", "example.test", "--selector", "bad_sel"}, exitFail, "selector"},
		{[]string{"dkim", "generate", "ghost.test"}, exitFail, "not found"},
		{[]string{"dkim", "generate", "alias.test"}, exitFail, "alias of example.test"},
		{[]string{"dkim", "generate"}, exitUsage, "usage"},
		{[]string{"dkim", "show", "ghost.test"}, exitFail, "not found"},
		{[]string{"dkim", "remove", "example.test", "nope"}, exitFail, "not found"},
		{[]string{"dkim", "activate", "example.test"}, exitUsage, "usage"},
	}
	for _, c := range cases {
		r := mp(t, "", append(c.args, "--data", d)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}

func TestDNSCommand(t *testing.T) {
	d := newDataDir(t) // hostname mx.example.test, ports base 20000
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "", "dkim", "generate", "example.test", "--algorithm", "ed25519", "--selector", "s1", "--data", d))
	dk := strings.TrimSpace(ok(t, mp(t, "", "dkim", "show", "example.test", "--data", d)).stdout)

	r := ok(t, mp(t, "", "dns", "example.test", "--data", d))
	id := dnsrecords.MTASTSID(dnsrecords.MTASTSPolicy("mx.example.test", ""))
	want := []string{
		"example.test MX 10 mx.example.test",
		"example.test TXT v=spf1 mx ~all",
		dk,
		"_dmarc.example.test TXT v=DMARC1; p=quarantine; adkim=r; aspf=r",
		"_mta-sts.example.test TXT v=STSv1; id=" + id,
		"mta-sts.example.test CNAME mx.example.test",
		"autoconfig.example.test CNAME mx.example.test",
		"_submission._tcp.example.test SRV 0 1 20587 mx.example.test",
		"_submissions._tcp.example.test SRV 0 1 20465 mx.example.test",
		"_imaps._tcp.example.test SRV 0 1 20993 mx.example.test",
		"_pop3s._tcp.example.test SRV 0 1 20995 mx.example.test",
		"# MTA-STS policy, to be served at https://mta-sts.example.test/.well-known/mta-sts.txt:",
		"#   version: STSv1",
		"#   mode: testing",
		"#   mx: mx.example.test",
		"#   max_age: 604800",
	}
	if got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dns output:\n%s\nwant:\n%s", r.stdout, strings.Join(want, "\n"))
	}
	r = ok(t, mp(t, "", "dns", "example.test", "--spf-hardfail", "--dmarc-policy", "reject", "--data", d))
	if !strings.Contains(r.stdout, "v=spf1 mx -all") || !strings.Contains(r.stdout, "v=DMARC1; p=reject;") {
		t.Errorf("dns with options:\n%s", r.stdout)
	}

	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"dns"}, exitUsage, "usage: mailport dns DOMAIN"},
		{[]string{"dns", "a.test", "b.test"}, exitUsage, "usage"},
		{[]string{"dns", "example.test", "--dmarc-policy", "maybe"}, exitUsage, "--dmarc-policy"},
		{[]string{"dns", "elsewhere.test"}, exitFail, "not found"},
	}
	for _, c := range cases {
		r := mp(t, "", append(c.args, "--data", d)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, r.code, c.code, r.stderr, c.msg)
		}
	}
}

// TestDNSCheckCommand runs --check against a local DNS server named in
// mailport.toml: first with everything published (exit 0), then with
// records missing or wrong (exit 1).
func TestDNSCheckCommand(t *testing.T) {
	d := newDataDir(t)
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "", "dkim", "generate", "example.test", "--algorithm", "ed25519", "--selector", "s1", "--data", d))
	dk := strings.TrimSpace(ok(t, mp(t, "", "dkim", "show", "example.test", "--data", d)).stdout)
	_, dkValue, _ := strings.Cut(dk, " TXT ")

	zone := &dns.Mock{}
	zone.AddMX("example.test", "mx.example.test", 10)
	zone.AddIP("mx.example.test", "127.0.0.1")
	zone.AddIP("mta-sts.example.test", "127.0.0.1")
	zone.AddIP("autoconfig.example.test", "127.0.0.1")
	zone.AddTXT("example.test", "v=spf1 mx ~all")
	zone.AddTXT("s1._domainkey.example.test", dkValue)
	zone.AddTXT("_dmarc.example.test", "v=DMARC1; p=quarantine")
	zone.AddTXT("_mta-sts.example.test", "v=STSv1; id="+dnsrecords.MTASTSID(dnsrecords.MTASTSPolicy("mx.example.test", "")))
	srv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The test DNS server has no SRV records, so the client listeners
	// that would get them are off.
	cfg, err := config.Load(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DNS.Servers = []string{srv.Addr}
	cfg.Listeners = map[string]string{"submission": "off", "submissions": "off", "imaps": "off", "pop3s": "off"}
	if err := cfg.Save(d); err != nil {
		t.Fatal(err)
	}

	r := ok(t, mp(t, "", "dns", "example.test", "--check", "--data", d))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	checked := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		checked++
		if !strings.HasPrefix(l, "OK ") {
			t.Errorf("not OK: %s", l)
		}
	}
	if checked != 7 {
		t.Errorf("%d records checked, want 7:\n%s", checked, r.stdout)
	}

	zone.SetTXT("_dmarc.example.test")
	zone.SetTXT("example.test", "v=spf1 include:elsewhere.test -all")
	// With IMAPS on, its SRV record is looked up too, and is missing.
	delete(cfg.Listeners, "imaps")
	if err := cfg.Save(d); err != nil {
		t.Fatal(err)
	}
	r = mp(t, "", "dns", "example.test", "--check", "--data", d)
	if r.code != exitFail || !strings.Contains(r.stderr, "not published correctly") {
		t.Errorf("check with problems: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, w := range []string{
		"MISSING  _dmarc.example.test TXT v=DMARC1; p=quarantine; adkim=r; aspf=r\n",
		"WRONG    example.test TXT v=spf1 mx ~all (got v=spf1 include:elsewhere.test -all)\n",
		"OK       example.test MX 10 mx.example.test\n",
		"MISSING  _imaps._tcp.example.test SRV 0 1 20993 mx.example.test\n",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestCheckDNS(t *testing.T) {
	recs := dnsrecords.Required("example.test", dnsrecords.Server{Hostname: "mx.example.test"}, nil, dnsrecords.Options{})
	zone := &dns.Mock{}
	zone.AddMX("example.test", "mx.example.test", 10)
	zone.AddIP("mx.example.test", "192.0.2.1")
	zone.AddIP("autoconfig.example.test", "192.0.2.1")
	zone.AddIP("mta-sts.example.test", "192.0.2.2")
	zone.AddTXT("example.test", "v=spf1 mx -all")
	zone.AddTXT("_dmarc.example.test", "v=DMARC1; p=reject")
	var out strings.Builder
	if checkDNS(t.Context(), &out, zone, "mx.example.test", recs) {
		t.Error("checkDNS reported success with the MTA-STS record missing")
	}
	want := "OK       example.test MX 10 mx.example.test\n" +
		"OK       example.test TXT v=spf1 mx ~all\n" +
		"OK       _dmarc.example.test TXT v=DMARC1; p=quarantine; adkim=r; aspf=r\n" +
		"MISSING  _mta-sts.example.test TXT v=STSv1; id=" + dnsrecords.MTASTSID(dnsrecords.MTASTSPolicy("mx.example.test", "")) + "\n" +
		"WRONG    mta-sts.example.test CNAME mx.example.test (got 192.0.2.2)\n" +
		"OK       autoconfig.example.test CNAME mx.example.test\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	zone.AddTXT("_mta-sts.example.test", "v=STSv1; id="+dnsrecords.MTASTSID(dnsrecords.MTASTSPolicy("mx.example.test", "")))
	zone.A["mta-sts.example.test"] = zone.A["mx.example.test"]
	out.Reset()
	if !checkDNS(t.Context(), &out, zone, "mx.example.test", recs) {
		t.Errorf("checkDNS failed with everything published:\n%s", out.String())
	}
}
