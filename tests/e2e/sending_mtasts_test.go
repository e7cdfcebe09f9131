package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/dnsrecords"
	"mailport/internal/server"
	"mailport/internal/testutil"
)

// writeCert replaces the certificate of a data directory with a
// self-signed one for names, and returns it for a client to trust.
func writeCert(t *testing.T, dir string, names ...string) *x509.Certificate {
	t.Helper()
	c, _ := testutil.Cert(t, names...)
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

// MTA-STS between two mailports: b.test publishes the _mta-sts record
// `mailport dns` prints, and b's HTTPS listener serves the policy at
// mta-sts.b.test; a's queue, sending to b.test, fetches that policy over
// verified HTTPS (b's certificate names mta-sts.b.test and is trusted by
// a's client), finds the id matching, and delivers under it (mode
// testing, as published).
func TestMTASTSBetweenInstances(t *testing.T) {
	zone := &dns.Mock{}
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	port := freeCommonPort(t, "127.0.0.2", "127.0.0.3")

	var bCert *x509.Certificate
	b := startInstance(t, instanceConfig{
		hostname: "mx.b.test", ip: "127.0.0.3", smtpPort: port, queuePort: port, sourceIP: "127.0.0.3",
		dnsAddr: dsrv.Addr, domain: "b.test", users: []string{"bob"},
		beforeStart: func(dir string) { bCert = writeCert(t, dir, "mx.b.test", "mta-sts.b.test") },
	})
	roots := x509.NewCertPool()
	roots.AddCert(bCert)
	bHTTPS := b.addr(t, "https")
	// a reaches mta-sts.b.test at b's HTTPS listener (its port is not
	// 443 in a test), verifying the certificate by name.
	client := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if addr != "mta-sts.b.test:443" {
					return nil, &net.AddrError{Err: "unexpected policy host", Addr: addr}
				}
				var d net.Dialer
				return d.DialContext(ctx, network, bHTTPS)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	a := startInstance(t, instanceConfig{
		hostname: "mx.a.test", ip: "127.0.0.2", smtpPort: port, queuePort: port, sourceIP: "127.0.0.2",
		dnsAddr: dsrv.Addr, domain: "a.test", users: []string{"alice"},
		opts: []server.Option{server.WithMTASTSClient(client), server.WithQueueBackoff(shortBackoff)},
	})
	publishDomain(t, zone, a, "a.test", "mx.a.test", "127.0.0.2", "reject")
	publishDomain(t, zone, b, "b.test", "mx.b.test", "127.0.0.3", "reject")
	for _, r := range dnsrecords.Required("b.test", dnsrecords.Server{Hostname: "mx.b.test"}, nil, dnsrecords.Options{}) {
		if r.Kind == dnsrecords.KindMTASTS {
			zone.AddTXT(r.Name, r.Value)
		}
	}

	msg := testMessage("alice@a.test", "bob@b.test", "under MTA-STS", "Policy fetched.")
	if err := submit(a.addr(t, "submission"), "alice@a.test", "alice@a.test", []string{"bob@b.test"}, msg); err != nil {
		t.Fatal(err)
	}
	got := waitInbox(t, b, "bob@b.test", 1)[0]
	if !strings.Contains(got, "Subject: under MTA-STS") {
		t.Fatalf("stored message:\n%s", got)
	}
	logText := a.log.String()
	if !strings.Contains(logText, "MTA-STS policy fetched") || !strings.Contains(logText, "domain=b.test") ||
		!strings.Contains(logText, "mode=testing") || !strings.Contains(logText, "mx=mx.b.test") {
		t.Fatalf("a did not fetch b's policy; log:\n%s", logText)
	}
	if strings.Contains(logText, "MTA-STS policy fetch failed") {
		t.Fatalf("a policy fetch failed; log:\n%s", logText)
	}
}
