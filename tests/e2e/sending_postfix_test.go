package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
)

// dkimverifyWithServer runs python3-dkim's dkimverify with dnspython
// pointed at the test DNS server (dkimverify itself has no option for
// it), reading the message from stdin.
const dkimverifyWithServer = `
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

// startPostfix starts a throwaway Postfix (bench/postfix-instance.sh) in
// a temp dir on 127.0.0.1:port, delivering domain's users to Maildirs,
// with extra environment for the script (RELAYHOST, TRANSPORTS). It
// returns the instance directory and stops Postfix when the test ends.
func startPostfix(t *testing.T, port int, domain string, env []string, users ...string) string {
	t.Helper()
	if os.Getuid() != 0 {
		missingPeer(t, "Postfix's master must run as root; run the test as root")
	}
	requirePeer(t, "postfix", "postfix")
	script, err := filepath.Abs("../../bench/postfix-instance.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Postfix's users must traverse every parent; t.TempDir is 0700.
	base, err := os.MkdirTemp("", "mailport-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "postfix")
	cmd := exec.Command(script, append([]string{dir, strconv.Itoa(port)}, users...)...)
	cmd.Env = append(os.Environ(), append([]string{"DOMAIN=" + domain}, env...)...)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() {
		exec.Command("postfix", "-c", filepath.Join(dir, "etc"), "abort").Run()
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(dir, "log", "maillog")); err == nil {
				t.Logf("Postfix log:\n%s", log)
			}
		}
		os.RemoveAll(base)
	})
	if err != nil {
		t.Fatalf("postfix-instance.sh: %v\n%s", err, out)
	}
	return dir
}

// waitMaildir waits for the first message file in a Maildir's new/.
func waitMaildir(t *testing.T, maildir string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ents, err := os.ReadDir(filepath.Join(maildir, "new"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) > 0 {
			b, err := os.ReadFile(filepath.Join(maildir, "new", ents[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing arrived in %s", maildir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Acceptance 2 of issue 4: Postfix from Debian as the remote MTA. (a)
// mailport's queue delivers to Postfix (MX of pf.test found through the
// test DNS server), the message lands in the Maildir, and python3-dkim's
// dkimverify accepts mailport's signature. (b) Postfix sends to mailport
// (a transport map entry points example.test at mailport's MX) and the
// message arrives in the mailbox.
func TestPostfixExchange(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import dkim, dns.resolver").CombinedOutput(); err != nil {
		missingPeer(t, "python3-dkim is needed (apt-get install python3-dkim): "+string(out))
	}
	requirePeer(t, "sendmail", "postfix")
	ctx := context.Background()
	zone := &dns.Mock{}
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	zone.AddMX("pf.test", "mx.pf.test", 10)
	zone.AddIP("mx.pf.test", "127.0.0.1")

	pfPort := freeCommonPort(t, "127.0.0.1")
	mp := startInstance(t, instanceConfig{
		hostname: testHostname, ip: "127.0.0.1", queuePort: pfPort, dnsAddr: dsrv.Addr,
		domain: testDomain, users: []string{"alice", "bob"},
	})
	// An RSA key: every DKIM verifier has rsa-sha256.
	if _, err := mp.Directory.GenerateDKIM(ctx, testDomain, "rsa", "s1"); err != nil {
		t.Fatal(err)
	}
	recs, err := mp.Directory.DKIMRecords(ctx, testDomain)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		zone.AddTXT(r.Name, r.Value)
	}
	_, mpPort := hostPort(t, mp.addr(t, "smtp"))
	pf := startPostfix(t, pfPort, "pf.test", []string{"TRANSPORTS=" + testDomain + "=smtp:[127.0.0.1]:" + mpPort}, "carol")

	t.Run("mailport to Postfix", func(t *testing.T) {
		msg := testMessage("alice@"+testDomain, "carol@pf.test", "to postfix", "Hello Postfix.")
		if err := submit(mp.addr(t, "submission"), "alice@"+testDomain, "alice@"+testDomain, []string{"carol@pf.test"}, msg); err != nil {
			t.Fatal(err)
		}
		got := waitMaildir(t, filepath.Join(pf, "mail", "pf.test", "carol"))
		if !strings.Contains(got, "Subject: to postfix") || !strings.Contains(got, "Hello Postfix.") {
			t.Fatalf("Maildir file:\n%s", got)
		}
		if rp := headerFields(strings.ReplaceAll(got, "\n", "\r\n"), "Return-Path"); len(rp) != 1 || rp[0] != "<alice@"+testDomain+">" {
			t.Errorf("Return-Path at Postfix: %q", rp)
		}
		_, dnsPort := hostPort(t, dsrv.Addr)
		cmd := exec.Command(python, "-c", dkimverifyWithServer, dnsPort)
		cmd.Stdin = strings.NewReader(got)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "signature ok") {
			t.Fatalf("dkimverify: %v\n%s\nmessage:\n%s", err, out, got)
		}
	})

	t.Run("Postfix to mailport", func(t *testing.T) {
		msg := "From: Carol <carol@pf.test>\nTo: bob@example.test\nSubject: from postfix\nMessage-ID: <pf1@pf.test>\n\nHello mailport.\n"
		cmd := exec.Command("sendmail", "-C", filepath.Join(pf, "etc"), "-f", "carol@pf.test", "bob@"+testDomain)
		cmd.Stdin = strings.NewReader(msg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sendmail: %v\n%s", err, out)
		}
		got := waitInbox(t, mp, "bob@"+testDomain, 1)[0]
		if !strings.Contains(got, "Subject: from postfix") || !strings.Contains(got, "Hello mailport.") {
			t.Fatalf("stored message:\n%s", got)
		}
		// Postfix's own trace field and our envelope sender.
		if !strings.Contains(got, "by pf"+strconv.Itoa(pfPort)+".localdomain (Postfix") {
			t.Errorf("no Received field from Postfix:\n%s", got)
		}
		if rp := headerFields(got, "Return-Path"); len(rp) != 1 || rp[0] != "<carol@pf.test>" {
			t.Errorf("Return-Path: %q", rp)
		}
	})
}
