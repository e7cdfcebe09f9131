package msgauth_test

import (
	"context"
	"crypto"
	"errors"
	"net"
	"strings"
	"testing"

	msgauthres "github.com/emersion/go-msgauth/authres"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/msgauth"
	"mailport/internal/msgauth/dkim"
	"mailport/internal/msgauth/dmarc"
	"mailport/internal/msgauth/spf"
)

const body = "To: bob@other.test\r\n" +
	"Subject: report\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <42@example.test>\r\n" +
	"\r\n" +
	"numbers attached\r\n"

// senderZone publishes what mailport's own domain would: SPF for its
// address, an Ed25519 DKIM key and a p=reject DMARC policy.
func senderZone(t *testing.T) (*dns.Mock, crypto.Signer) {
	t.Helper()
	key, err := dkim.GenerateKey(dkim.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.DNSRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	z := &dns.Mock{}
	z.AddTXT("example.test", "v=spf1 ip4:127.0.0.2 -all")
	z.AddTXT("s1._domainkey.example.test", rec)
	z.AddTXT("_dmarc.example.test", "v=DMARC1; p=reject; rua=mailto:dmarc@example.test")
	z.AddTXT("bounces.example.test", "v=spf1 ip4:127.0.0.2 -all")
	z.AddTXT("esp.test", "v=spf1 ip4:192.0.2.0/24 -all")
	// bücher.test publishes the same, under its A-labels as DNS must.
	z.AddTXT("xn--bcher-kva.test", "v=spf1 ip4:127.0.0.2 -all")
	z.AddTXT("s1._domainkey.xn--bcher-kva.test", rec)
	z.AddTXT("_dmarc.xn--bcher-kva.test", "v=DMARC1; p=reject")
	return z, key
}

func signed(t *testing.T, key crypto.Signer, domain, msg string) string {
	t.Helper()
	h, err := dkim.Sign(strings.NewReader(msg), domain, "s1", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h + msg
}

func TestEvaluate(t *testing.T) {
	z, key := senderZone(t)
	fromAlice := "From: Alice <alice@example.test>\r\n" + body
	// An internationalized From (RFC 6532) in U-labels.
	fromJuergen := "From: Jürgen <jürgen@Bücher.test>\r\n" + body
	tests := []struct {
		name       string
		ip         string
		mailFrom   string
		msg        string
		spf        spf.Result
		dkim       []dkim.Status
		dmarc      dmarc.Status
		reject     bool
		fromDomain string
	}{
		{"all pass", "127.0.0.2", "alice@example.test", signed(t, key, "example.test", fromAlice),
			spf.Pass, []dkim.Status{dkim.StatusPass}, dmarc.StatusPass, false, "example.test"},
		{"forwarded: SPF fails, DKIM carries DMARC", "198.51.100.1", "alice@example.test", signed(t, key, "example.test", fromAlice),
			spf.Fail, []dkim.Status{dkim.StatusPass}, dmarc.StatusPass, false, "example.test"},
		{"unsigned from the right host: SPF aligned", "127.0.0.2", "alice@bounces.example.test", fromAlice,
			spf.Pass, nil, dmarc.StatusPass, false, "example.test"},
		{"forged From through an ESP", "192.0.2.9", "bulk@esp.test", fromAlice,
			spf.Pass, nil, dmarc.StatusFail, true, "example.test"},
		{"tampered signed mail from elsewhere", "198.51.100.1", "alice@example.test",
			strings.Replace(signed(t, key, "example.test", fromAlice), "numbers", "letters", 1),
			spf.Fail, []dkim.Status{dkim.StatusFail}, dmarc.StatusFail, true, "example.test"},
		{"null sender uses HELO", "127.0.0.2", "", fromAlice,
			spf.None, nil, dmarc.StatusFail, true, "example.test"},
		{"no From", "127.0.0.2", "alice@example.test", body,
			spf.Pass, nil, dmarc.StatusPermError, false, ""},
		{"two From fields", "127.0.0.2", "alice@example.test", "From: a@example.test\r\nFrom: b@evil.test\r\n" + body,
			spf.Pass, nil, dmarc.StatusPermError, false, ""},
		{"two addresses in From", "127.0.0.2", "alice@example.test", "From: a@example.test, b@evil.test\r\n" + body,
			spf.Pass, nil, dmarc.StatusPermError, false, ""},
		{"undecodable display name still gives the domain", "127.0.0.2", "alice@example.test", "From: =?x-unknown?q?A?= <a@Example.TEST>\r\n" + body,
			spf.Pass, nil, dmarc.StatusPass, false, "example.test"},
		// RFC 8616: SPF, the _dmarc lookup and alignment use the
		// A-labels of U-label domains.
		{"U-label From and MAIL FROM, d= in A-labels", "127.0.0.2", "jürgen@bücher.test", signed(t, key, "xn--bcher-kva.test", fromJuergen),
			spf.Pass, []dkim.Status{dkim.StatusPass}, dmarc.StatusPass, false, "xn--bcher-kva.test"},
		{"U-label From, unsigned, SPF aligned", "127.0.0.2", "jürgen@BÜCHER.test", fromJuergen,
			spf.Pass, nil, dmarc.StatusPass, false, "xn--bcher-kva.test"},
		{"U-label From forged through an ESP", "192.0.2.9", "bulk@esp.test", fromJuergen,
			spf.Pass, nil, dmarc.StatusFail, true, "xn--bcher-kva.test"},
		{"domain without DMARC", "127.0.0.2", "alice@example.test", "From: someone@nodmarc.test\r\n" + body,
			spf.Pass, nil, dmarc.StatusNone, false, "nodmarc.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := msgauth.Evaluate(context.Background(), z, net.ParseIP(tc.ip), "mx.client.test", tc.mailFrom, strings.NewReader(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if v.SPF.Result != tc.spf {
				t.Errorf("SPF %s (%s), want %s", v.SPF.Result, v.SPF.Explanation, tc.spf)
			}
			if len(v.DKIM) != len(tc.dkim) {
				t.Fatalf("%d DKIM results, want %d", len(v.DKIM), len(tc.dkim))
			}
			for i, d := range v.DKIM {
				if d.Status != tc.dkim[i] {
					t.Errorf("DKIM %d: %s (%v), want %s", i, d.Status, d.Err, tc.dkim[i])
				}
			}
			if v.DMARC.Status != tc.dmarc || v.Reject() != tc.reject || v.FromDomain != tc.fromDomain {
				t.Errorf("DMARC %s (%s) reject=%v from=%q, want %s reject=%v from=%q",
					v.DMARC.Status, v.DMARC.Reason, v.Reject(), v.FromDomain, tc.dmarc, tc.reject, tc.fromDomain)
			}
			if v.Quarantine() {
				t.Error("quarantine with a p=reject policy at pct=100")
			}

			field := v.AuthResultsHeader("mx.other.test")
			value, ok := strings.CutPrefix(field, "Authentication-Results: ")
			if !ok || !strings.HasSuffix(field, "\r\n") {
				t.Fatalf("field %q", field)
			}
			id, results, err := msgauthres.Parse(strings.ReplaceAll(strings.TrimSuffix(value, "\r\n"), "\r\n\t", " "))
			if err != nil || id != "mx.other.test" {
				t.Fatalf("parse %q: %v", field, err)
			}
			for _, r := range results {
				switch r := r.(type) {
				case *msgauthres.SPFResult:
					if string(r.Value) != string(tc.spf) {
						t.Errorf("header spf=%s", r.Value)
					}
				case *msgauthres.DMARCResult:
					if string(r.Value) != string(tc.dmarc) {
						t.Errorf("header dmarc=%s", r.Value)
					}
				}
			}
		})
	}
}

// TestEvaluateHeaderGolden pins the exact Authentication-Results field of
// a fully passing message.
func TestEvaluateHeaderGolden(t *testing.T) {
	z, key := senderZone(t)
	msg := signed(t, key, "example.test", "From: Alice <alice@example.test>\r\n"+body)
	v, err := msgauth.Evaluate(context.Background(), z, net.ParseIP("127.0.0.2"), "mx.example.test", "alice@example.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	want := "Authentication-Results: mx.other.test;\r\n" +
		"\tspf=pass reason=\"matched ip\" smtp.mailfrom=alice@example.test;\r\n" +
		"\tdkim=pass header.a=ed25519-sha256 header.b=" + v.DKIM[0].SignaturePrefix + " header.d=example.test header.i=@example.test header.s=s1;\r\n" +
		"\tdmarc=pass reason=\"SPF and DKIM aligned\" header.from=example.test\r\n"
	if got := v.AuthResultsHeader("mx.other.test"); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestEvaluateDNSFailures(t *testing.T) {
	z, key := senderZone(t)
	z.SetFail("example.test", errors.New("servfail"))
	z.SetFail("_dmarc.example.test", errors.New("servfail"))
	z.SetFail("s1._domainkey.example.test", errors.New("servfail"))
	msg := signed(t, key, "example.test", "From: alice@example.test\r\n"+body)
	v, err := msgauth.Evaluate(context.Background(), z, net.ParseIP("127.0.0.2"), "mx.example.test", "alice@example.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if v.SPF.Result != spf.TempError || len(v.DKIM) != 1 || v.DKIM[0].Status != dkim.StatusTempError || v.DMARC.Status != dmarc.StatusTempError || v.Reject() {
		t.Fatalf("got spf %s, dkim %+v, dmarc %s", v.SPF.Result, v.DKIM, v.DMARC.Status)
	}
}

func TestEvaluateLimits(t *testing.T) {
	z, _ := senderZone(t)
	huge := strings.Repeat("X-Pad: "+strings.Repeat("a", 998)+"\r\n", 1100) + "From: alice@example.test\r\n\r\nbody\r\n"
	v, err := msgauth.Evaluate(context.Background(), z, net.ParseIP("127.0.0.2"), "mx.example.test", "alice@example.test", strings.NewReader(huge))
	if err != nil {
		t.Fatal(err)
	}
	if v.DMARC.Status != dmarc.StatusPermError || v.Reject() || v.SPF.Result != spf.Pass {
		t.Fatalf("got dmarc %s spf %s", v.DMARC.Status, v.SPF.Result)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := msgauth.Evaluate(ctx, z, net.ParseIP("127.0.0.2"), "h.test", "a@example.test", strings.NewReader(body)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestEvaluateOverRealDNS runs the whole evaluation through the real
// resolver and the test DNS server, as two mailport instances will: the
// RSA key record is longer than one TXT string and one UDP answer.
func TestEvaluateOverRealDNS(t *testing.T) {
	key, err := dkim.GenerateKey(dkim.RSA)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.DNSRecord(key)
	z := &dns.Mock{}
	z.AddTXT("example.test", "v=spf1 ip4:127.0.0.2 -all")
	z.AddTXT("s1._domainkey.example.test", rec)
	z.AddTXT("_dmarc.example.test", "v=DMARC1; p=reject")
	srv, err := dnstest.Start(z)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	msg := signed(t, key, "example.test", "From: alice@example.test\r\n"+body)
	v, err := msgauth.Evaluate(context.Background(), dns.NewResolver([]string{srv.Addr}), net.ParseIP("127.0.0.2"), "mx.example.test", "alice@example.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if v.SPF.Result != spf.Pass || len(v.DKIM) != 1 || v.DKIM[0].Status != dkim.StatusPass || v.DMARC.Status != dmarc.StatusPass {
		t.Fatalf("got spf %s, dkim %+v, dmarc %s (%s)", v.SPF.Result, v.DKIM, v.DMARC.Status, v.DMARC.Reason)
	}
}
