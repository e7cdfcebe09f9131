package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailport/internal/config"
)

// TestMetricsAfterDelivery checks /metrics on the HTTP listener counts what
// the SMTP listener did: accepted messages, a refused recipient, the
// delivery latency histogram, connections.
func TestMetricsAfterDelivery(t *testing.T) {
	ts := startServer(t, nil, "metrics")
	smtpAddr := ts.addr(t, "smtp")
	const delivered = 2
	for i := range delivered {
		to := "metrics@" + testDomain
		rawDeliver(t, smtpAddr, "sender@remote.test", to, testMessage("sender@remote.test", to, fmt.Sprintf("metrics %d", i), "counted"))
	}
	c := dialLine(t, smtpAddr)
	c.expect("", "220 ")
	c.expect("EHLO client.e2e.test", "250 ")
	c.expect("MAIL FROM:<sender@remote.test>", "250 ")
	c.expect("RCPT TO:<nobody@"+testDomain+">", "550 5.1.1")
	c.expect("QUIT", "221 ")

	body := httpGet(t, "http://"+ts.addr(t, "http")+"/metrics")
	tests := []struct {
		series string
		check  func(v float64) bool
		want   string
	}{
		{`mailport_messages_accepted_total{protocol="smtp"}`, func(v float64) bool { return v == delivered }, strconv.Itoa(delivered)},
		{`mailport_delivery_latency_seconds_count`, func(v float64) bool { return v == delivered }, strconv.Itoa(delivered)},
		{`mailport_messages_rejected_total`, func(v float64) bool { return v >= 1 }, ">= 1 (any reason)"},
		{`mailport_connections_total{protocol="smtp"}`, func(v float64) bool { return v >= delivered+1 }, strconv.Itoa(delivered+1) + " or more"},
	}
	for _, tc := range tests {
		v, ok := metricSum(body, tc.series)
		if !ok {
			t.Errorf("/metrics has no %s", tc.series)
			continue
		}
		if !tc.check(v) {
			t.Errorf("%s = %v, want %s", tc.series, v, tc.want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	if got := httpGet(t, "http://"+ts.addr(t, "http")+"/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz = %q, want ok", got)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// metricSum adds the values of every sample of the Prometheus text format
// whose series starts with prefix: a full series with labels, or a metric
// name to sum over all its labels.
func metricSum(body, prefix string) (float64, bool) {
	var sum float64
	found := false
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "#") || !strings.HasPrefix(l, prefix) {
			continue
		}
		rest := l[len(prefix):]
		// The prefix must end the name or the label set: not match
		// mailport_messages_accepted_total_foo.
		if !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "{") {
			continue
		}
		fields := strings.Fields(l)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// TestSMTPWire checks, byte for byte, the parts of the MX listener's
// protocol that clients rely on: the ESMTP extensions, SIZE enforced at
// MAIL before any data (RFC 1870 section 6.1), BDAT (RFC 3030), and
// STARTTLS discarding commands pipelined before the handshake (RFC 3207
// section 4.2; the STARTTLS command injection attack).
func TestSMTPWire(t *testing.T) {
	const limit = 100000
	ts := startServer(t, func(c *config.Config) { c.Limits.MaxMessageBytes = limit }, "wire", "injected")
	addr := ts.addr(t, "smtp")
	pop3 := ts.addr(t, "pop3")

	t.Run("EHLO extensions", func(t *testing.T) {
		c := dialLine(t, addr)
		c.expect("", "220 ")
		reply := c.expect("EHLO client.e2e.test", "250 ")
		exts := map[string]string{}
		for _, l := range reply[1:] {
			kw, param, _ := strings.Cut(l[4:], " ")
			exts[strings.ToUpper(kw)] = param
		}
		for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE", "CHUNKING", "STARTTLS"} {
			if _, ok := exts[want]; !ok {
				t.Errorf("EHLO reply %q lacks %s", reply, want)
			}
		}
		if exts["SIZE"] != strconv.Itoa(limit) {
			t.Errorf("SIZE %q, want %d", exts["SIZE"], limit)
		}
		c.expect("QUIT", "221 ")
	})

	t.Run("SIZE declared too large", func(t *testing.T) {
		c := dialLine(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.e2e.test", "250 ")
		c.expect(fmt.Sprintf("MAIL FROM:<sender@remote.test> SIZE=%d", limit+1), "552 5.3.4")
		c.expect(fmt.Sprintf("MAIL FROM:<sender@remote.test> SIZE=%d", limit/2), "250 ")
		c.expect("QUIT", "221 ")
	})

	t.Run("BDAT", func(t *testing.T) {
		msg := testMessage("sender@remote.test", "wire@"+testDomain, "sent with BDAT", "chunked body")
		half := len(msg) / 2
		c := dialLine(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.e2e.test", "250 ")
		c.expect("MAIL FROM:<sender@remote.test>", "250 ")
		c.expect("RCPT TO:<wire@"+testDomain+">", "250 ")
		c.send(fmt.Sprintf("BDAT %d\r\n%s", half, msg[:half]))
		c.expect("", "250 ")
		c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg)-half, msg[half:]))
		c.expect("", "250 ")
		c.expect("QUIT", "221 ")
		msgs := pop3Messages(t, pop3, "wire@"+testDomain, userPassword)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: sent with BDAT") || !strings.Contains(msgs[0], "chunked body") {
			t.Fatalf("mailbox after BDAT: %q", msgs)
		}
	})

	t.Run("STARTTLS discards pipelined commands", func(t *testing.T) {
		c := dialLine(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.e2e.test", "250 ")
		// An attacker in the middle appends commands to STARTTLS; they
		// arrive in the same packet and must not be run inside TLS.
		c.send("STARTTLS\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<injected@" + testDomain + ">\r\n")
		c.expect("", "220 ")
		tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: testHostname})
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		tl := &lineConn{t: t, conn: tc, r: bufio.NewReader(tc)}
		// The first reply inside TLS must be the EHLO's (several lines
		// listing extensions), not the one-line reply to an injected MAIL.
		reply := tl.expect("EHLO client.e2e.test", "250 ")
		if len(reply) < 2 || !strings.HasPrefix(reply[0], "250-") {
			t.Fatalf("first reply inside TLS %q is not the EHLO reply", reply)
		}
		// Without the injected MAIL, a RCPT is out of sequence (502/503).
		tl.expect("RCPT TO:<injected@"+testDomain+">", "50")
		tl.expect("QUIT", "221 ")
	})
}
