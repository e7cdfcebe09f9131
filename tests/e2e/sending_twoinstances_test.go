package e2e

import (
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/server"
)

// Acceptance 1 of issue 4: two whole mailports on their own loopback
// addresses (a.test on 127.0.0.2, b.test on 127.0.0.3, both MX on the same
// port, as on the Internet), a DNS server publishing their MX, address,
// SPF, DKIM and DMARC (p=reject) records, and mail both ways: submitted on
// one, queued, delivered to the other's MX, where SPF, DKIM and DMARC
// pass and are recorded in Authentication-Results. A message forging the
// other domain's From is refused with 550 5.7.1.
func TestTwoInstancesExchangeMail(t *testing.T) {
	const ipA, ipB = "127.0.0.2", "127.0.0.3"
	zone := &dns.Mock{}
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	port := freeCommonPort(t, ipA, ipB)
	start := func(host, ip, domain, user string) *testServer {
		return startInstance(t, instanceConfig{
			hostname: host, ip: ip, smtpPort: port, queuePort: port, sourceIP: ip,
			dnsAddr: dsrv.Addr, domain: domain, users: []string{user},
			// Retries within the test's time if an MX is not up yet.
			opts: []server.Option{server.WithQueueBackoff(shortBackoff)},
		})
	}
	a := start("mx.a.test", ipA, "a.test", "alice")
	b := start("mx.b.test", ipB, "b.test", "bob")
	publishDomain(t, zone, a, "a.test", "mx.a.test", ipA, "reject")
	publishDomain(t, zone, b, "b.test", "mx.b.test", ipB, "reject")

	cases := []struct {
		from, to string
		src, dst *testServer
		srcHost  string
		dstHost  string
	}{
		{"alice@a.test", "bob@b.test", a, b, "mx.a.test", "mx.b.test"},
		{"bob@b.test", "alice@a.test", b, a, "mx.b.test", "mx.a.test"},
	}
	for _, tc := range cases {
		t.Run(tc.from+" to "+tc.to, func(t *testing.T) {
			msg := testMessage(tc.from, tc.to, "hello from "+tc.from, "Across instances.")
			if err := submit(tc.src.addr(t, "submission"), tc.from, tc.from, []string{tc.to}, msg); err != nil {
				t.Fatalf("submission: %v", err)
			}
			got := waitInbox(t, tc.dst, tc.to, 1)[0]
			if !strings.Contains(got, "Subject: hello from "+tc.from) || !strings.Contains(got, "Across instances.") {
				t.Fatalf("stored message:\n%s", got)
			}
			ars := headerFields(got, "Authentication-Results")
			if len(ars) != 1 {
				t.Fatalf("%d Authentication-Results fields, want 1 (the receiver's):\n%s", len(ars), got)
			}
			ar := ars[0]
			senderDomain := tc.from[strings.IndexByte(tc.from, '@')+1:]
			for _, want := range []string{tc.dstHost + ";", "spf=pass", "smtp.mailfrom=" + tc.from,
				"dkim=pass", "header.d=" + senderDomain, "dmarc=pass", "header.from=" + senderDomain} {
				if !strings.Contains(ar, want) {
					t.Errorf("Authentication-Results lacks %q: %s", want, ar)
				}
			}
			if sigs := headerFields(got, "DKIM-Signature"); len(sigs) != 1 || !strings.Contains(sigs[0], "d="+senderDomain) {
				t.Errorf("DKIM-Signature fields: %q", sigs)
			}
			// The Received trace names the sending instance's address.
			if !strings.Contains(got, "["+map[string]string{"mx.a.test": ipA, "mx.b.test": ipB}[tc.srcHost]+"]") {
				t.Errorf("no Received field with the sender's address:\n%s", got[:strings.Index(got, "\r\n\r\n")])
			}
		})
	}

	// Forgery: someone on 127.0.0.1 (not in b.test's SPF record, and
	// without b.test's key) tells a.test's MX that bob@b.test writes.
	// SPF fails, there is no valid signature, so DMARC fails, and b.test
	// asks for reject: 550 5.7.1 at end of data, nothing stored.
	t.Run("forged From", func(t *testing.T) {
		for _, mailFrom := range []string{"bob@b.test", "billing@elsewhere.test"} {
			c := dialLine(t, a.addr(t, "smtp"))
			c.expect("", "220")
			c.expect("EHLO attacker.test", "250")
			c.expect("MAIL FROM:<"+mailFrom+">", "250")
			c.expect("RCPT TO:<alice@a.test>", "250")
			reply := c.data(testMessage("bob@b.test", "alice@a.test", "urgent invoice "+mailFrom, "Pay now."), "550 5.7.1")
			if !strings.Contains(reply[len(reply)-1], "DMARC") {
				t.Errorf("refusal %q does not say DMARC", reply)
			}
			c.expect("QUIT", "221")
		}
		in := (&sendingWorld{testServer: a}).inbox(t, "alice@a.test")
		for _, m := range in {
			if strings.Contains(m, "urgent invoice") {
				t.Fatal("forged message stored")
			}
		}
	})
}
