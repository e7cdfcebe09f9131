package dkim_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/msgauth/dkim"
)

const message = "From: Alice <alice@example.test>\r\n" +
	"To: bob@other.test\r\n" +
	"Subject: Hello  there\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <1@example.test>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hi Bob,\r\n" +
	"this is the body.  \r\n" +
	"\r\n"

// keys are generated once: RSA-2048 generation is slow under -race.
var keys = sync.OnceValue(func() map[dkim.Algorithm]crypto.Signer {
	m := map[dkim.Algorithm]crypto.Signer{}
	for _, alg := range []dkim.Algorithm{dkim.RSA, dkim.Ed25519} {
		k, err := dkim.GenerateKey(alg)
		if err != nil {
			panic(err)
		}
		m[alg] = k
	}
	return m
})

func sign(t *testing.T, msg string, key crypto.Signer) string {
	t.Helper()
	h, err := dkim.Sign(strings.NewReader(msg), "example.test", "s1", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h + msg
}

// sigField cuts the DKIM-Signature field off a signed message.
func sigField(signed string) string {
	return signed[:len(signed)-len(message)]
}

func zoneFor(t *testing.T, key crypto.Signer) *dns.Mock {
	t.Helper()
	rec, err := dkim.DNSRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	zone := &dns.Mock{}
	zone.AddTXT(dkim.RecordName("s1", "example.test"), rec)
	return zone
}

func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	for alg, key := range keys() {
		t.Run(string(alg), func(t *testing.T) {
			zone := zoneFor(t, key)
			signed := sign(t, message, key)

			if !strings.HasPrefix(signed, "DKIM-Signature: ") {
				t.Fatalf("signature field: %q", signed[:40])
			}
			for _, want := range []string{"c=relaxed/relaxed", "a=" + string(alg) + "-sha256", "d=example.test", "s=s1"} {
				if !strings.Contains(sigField(signed), want) {
					t.Errorf("signature lacks %s", want)
				}
			}

			tests := []struct {
				name   string
				msg    string
				status dkim.Status
			}{
				{"intact", signed, dkim.StatusPass},
				// Relaxed canonicalization: header case, folding and
				// trailing white space may change in transit.
				{"relaxed changes", strings.Replace(strings.Replace(signed, "Subject: Hello  there", "subject:  Hello\r\n there", 1), "body.  \r\n", "body.\r\n", 1), dkim.StatusPass},
				{"tampered body", strings.Replace(signed, "this is the body", "this is a body", 1), dkim.StatusFail},
				{"tampered subject", strings.Replace(signed, "Subject: Hello", "Subject: Bye", 1), dkim.StatusFail},
				{"added To", strings.Replace(signed, "To: bob@other.test\r\n", "To: bob@other.test\r\nTo: eve@evil.test\r\n", 1), dkim.StatusFail},
				// From is oversigned: a second From breaks the signature.
				{"second From", strings.Replace(signed, "\r\n\r\nHi Bob", "\r\nFrom: mallory@evil.test\r\n\r\nHi Bob", 1), dkim.StatusFail},
				{"unsigned field added", strings.Replace(signed, "\r\n\r\nHi Bob", "\r\nX-Mailer: relay\r\n\r\nHi Bob", 1), dkim.StatusPass},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					res, err := dkim.Verify(ctx, strings.NewReader(tc.msg), zone)
					if err != nil {
						t.Fatal(err)
					}
					if len(res) != 1 {
						t.Fatalf("%d results", len(res))
					}
					r := res[0]
					if r.Status != tc.status {
						t.Fatalf("status %s (%v), want %s", r.Status, r.Err, tc.status)
					}
					if r.Domain != "example.test" || r.Selector != "s1" || r.Algorithm != string(alg)+"-sha256" || len(r.SignaturePrefix) != 8 {
						t.Fatalf("result fields: %+v", r)
					}
					if (r.Err == nil) != (tc.status == dkim.StatusPass) {
						t.Fatalf("Err %v with status %s", r.Err, r.Status)
					}
				})
			}
		})
	}
}

func TestVerifyKeyProblems(t *testing.T) {
	ctx := context.Background()
	key := keys()[dkim.Ed25519]
	signed := sign(t, message, key)
	other, err := dkim.GenerateKey(dkim.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	otherRec, _ := dkim.DNSRecord(other)
	rsaRec, _ := dkim.DNSRecord(keys()[dkim.RSA])

	tests := []struct {
		name   string
		zone   func(z *dns.Mock)
		status dkim.Status
	}{
		{"no key record", func(z *dns.Mock) {}, dkim.StatusPermError},
		{"DNS failure", func(z *dns.Mock) { z.SetFail("s1._domainkey.example.test", errors.New("servfail")) }, dkim.StatusTempError},
		{"revoked key", func(z *dns.Mock) { z.AddTXT("s1._domainkey.example.test", "v=DKIM1; k=ed25519; p=") }, dkim.StatusPermError},
		{"wrong key", func(z *dns.Mock) { z.AddTXT("s1._domainkey.example.test", otherRec) }, dkim.StatusFail},
		{"key of other algorithm", func(z *dns.Mock) { z.AddTXT("s1._domainkey.example.test", rsaRec) }, dkim.StatusPermError},
		{"garbage record", func(z *dns.Mock) { z.AddTXT("s1._domainkey.example.test", "hello") }, dkim.StatusPermError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zone := &dns.Mock{}
			tc.zone(zone)
			res, err := dkim.Verify(ctx, strings.NewReader(signed), zone)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Status != tc.status {
				t.Fatalf("got %+v, want %s", res, tc.status)
			}
		})
	}
}

func TestVerifyMessages(t *testing.T) {
	ctx := context.Background()
	key := keys()[dkim.Ed25519]
	zone := zoneFor(t, key)
	signed := sign(t, message, key)

	t.Run("no signature", func(t *testing.T) {
		res, err := dkim.Verify(ctx, strings.NewReader(message), zone)
		if err != nil || len(res) != 0 {
			t.Fatalf("got %v, %v", res, err)
		}
	})
	t.Run("broken signature field", func(t *testing.T) {
		res, err := dkim.Verify(ctx, strings.NewReader("DKIM-Signature: v=1; a\r\n"+message), zone)
		if err != nil || len(res) != 1 || res[0].Status != dkim.StatusPermError {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
	t.Run("two signatures, one good", func(t *testing.T) {
		bad := strings.Replace(sigField(signed), "\r\n b=", "\r\n b=AAAA", 1)
		msg := bad + signed
		res, err := dkim.Verify(ctx, strings.NewReader(msg), zone)
		if err != nil || len(res) != 2 {
			t.Fatalf("got %+v, %v", res, err)
		}
		if res[0].Status == dkim.StatusPass || res[1].Status != dkim.StatusPass {
			t.Fatalf("statuses %s %s", res[0].Status, res[1].Status)
		}
		if res[0].SignaturePrefix == res[1].SignaturePrefix {
			t.Fatalf("signature prefixes equal: %q", res[0].SignaturePrefix)
		}
	})
	t.Run("too many signatures", func(t *testing.T) {
		sig := sigField(signed)
		msg := strings.Repeat(sig, dkim.MaxSignatures+5) + message
		res, err := dkim.Verify(ctx, strings.NewReader(msg), zone)
		if err != nil || len(res) != dkim.MaxSignatures {
			t.Fatalf("got %d results, %v", len(res), err)
		}
		for _, r := range res {
			if r.Status != dkim.StatusPass {
				t.Fatalf("status %s: %v", r.Status, r.Err)
			}
		}
	})
	t.Run("header too large", func(t *testing.T) {
		msg := strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 1100) + message
		if _, err := dkim.Verify(ctx, strings.NewReader(msg), zone); err == nil {
			t.Fatal("no error for a 1 MiB header")
		}
	})
}

func TestKeysAndRecords(t *testing.T) {
	for alg, key := range keys() {
		t.Run(string(alg), func(t *testing.T) {
			pemData, err := dkim.MarshalPrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pemData, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Fatalf("PEM: %.40s", pemData)
			}
			back, err := dkim.ParsePrivateKeyPEM(pemData)
			if err != nil {
				t.Fatal(err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !back.Public().(equaler).Equal(key.Public()) {
				t.Fatal("parsed key differs")
			}
			rec, err := dkim.DNSRecord(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			prefix := fmt.Sprintf("v=DKIM1; k=%s; p=", alg)
			if !strings.HasPrefix(rec, prefix) {
				t.Fatalf("record %q", rec)
			}
			// RFC 8463: the Ed25519 p= is the bare 32-byte key, 44 base64
			// characters; the RSA one is a 2048-bit SubjectPublicKeyInfo.
			p := strings.TrimPrefix(rec, prefix)
			switch alg {
			case dkim.Ed25519:
				if len(p) != 44 {
					t.Fatalf("ed25519 p= length %d", len(p))
				}
				if _, ok := key.Public().(ed25519.PublicKey); !ok {
					t.Fatal("not an ed25519 key")
				}
			case dkim.RSA:
				if key.Public().(*rsa.PublicKey).N.BitLen() != dkim.RSABits || len(p) < 390 {
					t.Fatalf("rsa key: %d bits, p= length %d", key.Public().(*rsa.PublicKey).N.BitLen(), len(p))
				}
			}
		})
	}
	if _, err := dkim.ParsePrivateKeyPEM([]byte("not pem")); err == nil {
		t.Fatal("parsed garbage")
	}
	if _, err := dkim.ParseAlgorithm("dsa"); err == nil {
		t.Fatal("accepted dsa")
	}
	if got := dkim.RecordName("s1", "example.test"); got != "s1._domainkey.example.test" {
		t.Fatal(got)
	}
}

func TestSignRefusals(t *testing.T) {
	key := keys()[dkim.Ed25519]
	if _, err := dkim.Sign(strings.NewReader(message), "example.test", "s1", key, []string{"Subject"}); err == nil {
		t.Fatal("signed without From in the list")
	}
	if _, err := dkim.Sign(strings.NewReader(message), "", "s1", key, nil); err == nil {
		t.Fatal("signed without a domain")
	}
}

// dkimverifyScript runs python3-dkim's own dkimverify entry point with
// dnspython pointed at our test DNS server instead of /etc/resolv.conf
// (dkimverify has no option to take a key or a server).
const dkimverifyScript = `
import sys
import dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = int(sys.argv[1])
dns.resolver.default_resolver = r
sys.argv = ["dkimverify"]
from dkim.dkimverify import main
main()
`

// TestPythonDKIMVerify checks our signatures with an independent verifier:
// python3-dkim (dkimpy), fetching the key over DNS from dnstest.
func TestPythonDKIMVerify(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import dkim, dns.resolver").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-dkim missing in CI (apt-get install python3-dkim): %v", err)
		}
		t.Skipf("python3-dkim not installed (apt-get install python3-dkim): %v", err)
	}
	for alg, key := range keys() {
		t.Run(string(alg), func(t *testing.T) {
			if alg == dkim.Ed25519 {
				if err := exec.Command(python, "-c", "import nacl").Run(); err != nil {
					t.Skipf("python3-nacl missing, dkimpy cannot verify ed25519: %v", err)
				}
			}
			srv, err := dnstest.Start(zoneFor(t, key))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			port := srv.Addr[strings.LastIndex(srv.Addr, ":")+1:]
			for _, tc := range []struct {
				name string
				msg  string
				ok   bool
			}{
				{"signed", sign(t, message, key), true},
				{"tampered", strings.Replace(sign(t, message, key), "the body", "a body", 1), false},
			} {
				cmd := exec.Command(python, "-c", dkimverifyScript, port)
				cmd.Stdin = strings.NewReader(tc.msg)
				out, err := cmd.CombinedOutput()
				if tc.ok && (err != nil || !strings.Contains(string(out), "signature ok")) {
					t.Fatalf("%s: dkimverify: %v\n%s", tc.name, err, out)
				}
				// dkimpy reports a bad signature by a non-zero exit, with
				// "signature verification failed" or a ValidationError.
				rejected := strings.Contains(string(out), "signature verification failed") || strings.Contains(string(out), "body hash mismatch")
				if !tc.ok && (err == nil || !rejected) {
					t.Fatalf("%s: dkimverify accepted a tampered message: %v\n%s", tc.name, err, out)
				}
			}
		})
	}
}
