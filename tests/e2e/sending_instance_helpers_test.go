package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailport/internal/config"
	"mailport/internal/dns"
	"mailport/internal/server"
)

// instanceConfig describes one whole mailport of a multi-server test.
type instanceConfig struct {
	hostname string
	// ip is the loopback address every listener binds to (port 0 each,
	// except smtp).
	ip string
	// smtpPort is the MX listener's port (0: a free one).
	smtpPort int
	// queuePort is [queue] smtp_port: where remote MX hosts listen.
	queuePort int
	// sourceIP is [queue] source_address.
	sourceIP string
	dnsAddr  string
	// domain and users (local parts) are created after the start.
	domain string
	users  []string
	opts   []server.Option
	// beforeStart, when set, runs on the initialized data directory
	// before the server starts (to replace its certificate, say).
	beforeStart func(dir string)
}

// startInstance initializes a data directory as `mailport init` does and
// starts a whole mailport as described, stopping it when the test ends.
func startInstance(t *testing.T, ic instanceConfig) *testServer {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), ic.hostname)
	cfg := config.Default(ic.hostname)
	cfg.Listeners = map[string]string{}
	for name := range config.StandardPorts {
		cfg.Listeners[name] = net.JoinHostPort(ic.ip, "0")
	}
	cfg.Listeners["smtp"] = net.JoinHostPort(ic.ip, strconv.Itoa(ic.smtpPort))
	if ic.dnsAddr != "" {
		cfg.DNS.Servers = []string{ic.dnsAddr}
	}
	if ic.queuePort != 0 {
		cfg.Queue.SMTPPort = ic.queuePort
	}
	cfg.Queue.SourceAddress = ic.sourceIP
	if err := server.Init(ctx, dir, cfg, adminPassword); err != nil {
		t.Fatalf("server.Init %s: %v", ic.hostname, err)
	}
	if ic.beforeStart != nil {
		ic.beforeStart(dir)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", ic.hostname)
	srv, err := server.Start(ctx, cfg, log, ic.opts...)
	if err != nil {
		t.Fatalf("server.Start %s: %v", ic.hostname, err)
	}
	ts := &testServer{Server: srv, Dir: dir, log: logBuf}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown %s: %v", ic.hostname, err)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", ic.hostname, logBuf.String())
		}
	})
	if ic.domain != "" {
		if _, err := srv.Directory.AddDomain(ctx, ic.domain); err != nil {
			t.Fatalf("add domain %s: %v", ic.domain, err)
		}
		for _, lp := range ic.users {
			ts.addUser(t, lp+"@"+ic.domain)
		}
	}
	return ts
}

// publishDomain puts the records a domain hosted on ts needs into zone:
// MX to its hostname, the hostname's address, an SPF record allowing only
// that address, a fresh DKIM key (generated in ts's directory, so ts signs
// with it) and a DMARC record with policy p.
func publishDomain(t *testing.T, zone *dns.Mock, ts *testServer, domain, hostname, ip, dmarcPolicy string) {
	t.Helper()
	ctx := context.Background()
	zone.AddMX(domain, hostname, 10)
	zone.AddIP(hostname, ip)
	zone.AddTXT(domain, "v=spf1 ip4:"+ip+" -all")
	zone.AddTXT("_dmarc."+domain, "v=DMARC1; p="+dmarcPolicy)
	if _, err := ts.Directory.GenerateDKIM(ctx, domain, "ed25519", "s1"); err != nil {
		t.Fatal(err)
	}
	recs, err := ts.Directory.DKIMRecords(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == "TXT" {
			zone.AddTXT(r.Name, r.Value)
		}
	}
}

// freeCommonPort returns a TCP port that is free on every one of ips, so
// several instances can each run their MX on it (the queue reaches every
// remote MX on one port, as on the Internet).
func freeCommonPort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ok := true
		var others []net.Listener
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			others = append(others, l)
		}
		ln.Close()
		for _, l := range others {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0
}

// submit sends msg through a submission port: STARTTLS, AUTH PLAIN as
// user, then the transaction. The error carries the server's reply.
func submit(addr, user, from string, rcpts []string, msg string) error {
	c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, userPassword)); err != nil {
		return fmt.Errorf("AUTH: %w", err)
	}
	if err := c.SendMail(from, rcpts, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// waitInbox waits until the INBOX of addr on ts holds n messages and
// returns them.
func waitInbox(t *testing.T, ts *testServer, addr string, n int) []string {
	t.Helper()
	w := &sendingWorld{testServer: ts}
	deadline := time.Now().Add(30 * time.Second)
	for {
		in := w.inbox(t, addr)
		if len(in) >= n {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d messages, want %d", addr, len(in), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// headerFields returns the unfolded header fields called name.
func headerFields(msg, name string) []string {
	end := strings.Index(msg, "\r\n\r\n")
	if end < 0 {
		end = len(msg)
	}
	var out []string
	unfolded := strings.ReplaceAll(strings.ReplaceAll(msg[:end], "\r\n\t", " "), "\r\n ", " ")
	for _, f := range strings.Split(unfolded, "\r\n") {
		if n, v, ok := strings.Cut(f, ":"); ok && strings.EqualFold(n, name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// shortBackoff retries queued mail after 200ms, then 400ms, ... capped at
// 2s, so retry tests finish in seconds.
func shortBackoff(attempt int) time.Duration {
	return min(time.Duration(attempt)*200*time.Millisecond, 2*time.Second)
}
