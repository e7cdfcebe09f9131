package smtpd

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestAcceptAndStore(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	tests := []struct {
		rcpt string
		want []string // accounts that get a copy
	}{
		{"alice@example.test", []string{"alice@example.test"}},
		{"Alice+lists@EXAMPLE.test", []string{"alice@example.test"}},
		{"alice@alias.test", []string{"alice@example.test"}},
		{"chain1@example.test", []string{"alice@example.test"}},
		{"team@example.test", []string{"alice@example.test", "bob@example.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.rcpt, func(t *testing.T) {
			before := map[string]int{}
			for _, a := range tc.want {
				before[a] = len(w.inbox(t, a))
			}
			if err := sendMail(addr, "sender@remote.test", []string{tc.rcpt}, msg); err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.want {
				msgs := w.inbox(t, a)
				if len(msgs) != before[a]+1 {
					t.Fatalf("%s has %d messages, want %d", a, len(msgs), before[a]+1)
				}
				body := w.body(t, msgs[len(msgs)-1])
				if !strings.HasPrefix(body, "Return-Path: <sender@remote.test>\r\nReceived: from ") ||
					!strings.Contains(body, "[127.0.0.1]") || !strings.Contains(body, "by mx.example.test") ||
					!strings.HasSuffix(body, "\r\n\r\n"+"Hello there.\r\n") {
					t.Errorf("stored message:\n%s", body)
				}
				if len(tc.want) == 1 && !strings.Contains(body, "for <"+tc.rcpt+">") {
					t.Errorf("Received lacks the single recipient: %s", body)
				}
			}
		})
	}
}

func TestRecipientRefusals(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	tests := []struct {
		name, rcpt string
		code       int
		enh        string
	}{
		{"unknown user", "<nobody@example.test>", 550, "5.1.1"},
		{"unknown user at domain alias", "<nobody@alias.test>", 550, "5.1.1"},
		{"other domain", "<someone@remote.test>", 554, "5.7.1"},
		{"percent hack", "<someone%remote.test@example.test>", 554, "5.7.1"},
		{"bang path", "<remote.test!someone@example.test>", 554, "5.7.1"},
		{"quoted local part with at", `<"someone@remote.test"@example.test>`, 554, "5.7.1"},
		{"source route to remote", "<@example.test:someone@remote.test>", 554, "5.7.1"},
		{"multi-hop source route to remote", "<@example.test,@alias.test:someone@remote.test>", 554, "5.7.1"},
		{"address literal", "<alice@[127.0.0.1]>", 501, "5.1.3"},
		{"disabled", "<carol@example.test>", 550, "5.2.1"},
		{"alias loop", "<loop1@example.test>", 550, "5.4.6"},
		{"bad syntax", "<a..b@example.test>", 501, "5.1.3"},
		{"external only alias", "<ext@example.test>", 451, "4.3.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.cmd("EHLO client.test", 250, "")
			c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
			c.cmd("RCPT TO:"+tc.rcpt, tc.code, tc.enh)
			// No recipient accepted: no DATA.
			c.send("DATA\r\n")
			if code, _ := c.reply(); code/100 != 5 {
				t.Errorf("DATA after refused recipient: %d", code)
			}
		})
	}
	if n := len(w.inbox(t, "alice@example.test")); n != 0 {
		t.Errorf("alice got %d messages", n)
	}
}

func TestSourceRouteToLocalIgnoresRoute(t *testing.T) {
	// RFC 5321 section 3.3 and Appendix C: a server may ignore the route
	// and deliver to the final mailbox. The final mailbox is ours, so
	// nothing is relayed.
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<@relay.remote.test:alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")
	if n := len(w.inbox(t, "alice@example.test")); n != 1 {
		t.Errorf("alice has %d messages", n)
	}
}

func TestEHLOExtensions(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	ehlo := c.cmd("EHLO client.test", 250, "")
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE 52428800", "CHUNKING", "STARTTLS"} {
		if !strings.Contains(ehlo, ext) {
			t.Errorf("EHLO lacks %s: %q", ext, ehlo)
		}
	}
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("MX offers AUTH: %q", ehlo)
	}
	c.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=", 504, "")
}

func TestBareLineEndingsRefused(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	tests := []struct {
		name, data string
	}{
		{"bare LF in header", "Subject: x\nFrom: a@b\r\n\r\nbody\r\n"},
		{"bare LF in body", "Subject: x\r\n\r\nbody\nmore\r\n"},
		{"bare CR", "Subject: x\r\n\r\nbody\rmore\r\n"},
		{"LF dot LF", "Subject: x\r\n\r\nbody\n.\nmore\r\n"},
		{"CR dot CR", "Subject: x\r\n\r\nbody\r.\rmore\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.cmd("EHLO client.test", 250, "")
			c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
			c.cmd("RCPT TO:<alice@example.test>", 250, "")
			c.cmd("DATA", 354, "")
			c.send(tc.data)
			c.cmd(".", 550, "5.6.0")
			c.cmd("NOOP", 250, "")
		})
	}
	if n := len(w.inbox(t, "alice@example.test")); n != 0 {
		t.Errorf("alice got %d messages", n)
	}
}

func TestSmugglingFakeTerminators(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	// Each fake terminator is followed by a smuggled transaction. If the
	// server ended the data there, the smuggled VRFY would answer 252
	// and the smuggled message would be stored.
	for _, fake := range []string{"\n.\r\n", "\n.\n", "\r.\r\n", "\r\n.\n", "\r.\r"} {
		t.Run(fmt.Sprintf("%q", fake), func(t *testing.T) {
			c := dialRaw(t, addr)
			c.cmd("EHLO client.test", 250, "")
			c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
			c.cmd("RCPT TO:<bob@example.test>", 250, "")
			c.cmd("DATA", 354, "")
			c.send("Subject: first\r\n\r\nfirst" + fake +
				"VRFY postmaster\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n")
			c.cmd(".", 550, "5.6.0")
			c.cmd("NOOP", 250, "")
			c.cmd("RCPT TO:<alice@example.test>", 502, "MAIL")
		})
	}
	if n := len(w.inbox(t, "alice@example.test")); n != 0 {
		t.Errorf("smuggled message stored: alice has %d", n)
	}
}

func TestDotStuffingAndEmptyLines(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	// RFC 5321 section 4.5.2: a leading dot is doubled by the client.
	c.send("Subject: dots\r\n\r\n..leading dot\r\n.\r\n")
	c.expect(250, "2.0.0")
	msgs := w.inbox(t, "alice@example.test")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	body := w.body(t, msgs[0])
	if !strings.HasSuffix(body, "\r\n\r\n.leading dot\r\n") || !strings.HasPrefix(body, "Return-Path: <>\r\n") {
		t.Errorf("body %q", body)
	}
}

// lazyBody generates exactly left octets of text lines without holding
// them.
type lazyBody struct{ left int64 }

var line = []byte(strings.Repeat("x", 78) + "\r\n")

func (b *lazyBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n+len(line) <= len(p) && b.left > 0 {
		l := line
		if int64(len(l)) > b.left {
			l = l[:b.left]
		}
		n += copy(p[n:], l)
		b.left -= int64(len(l))
	}
	return n, nil
}

func TestSizeLimits(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.MaxMessageBytes = 1 << 20
	_, addr := start(t, cfg, false)

	t.Run("SIZE at MAIL", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "SIZE 1048576")
		c.cmd("MAIL FROM:<sender@remote.test> SIZE=1048577", 552, "5.3.4")
		c.cmd("MAIL FROM:<sender@remote.test> SIZE=1000", 250, "")
	})
	t.Run("during DATA, streamed", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
		c.cmd("RCPT TO:<alice@example.test>", 250, "")
		c.cmd("DATA", 354, "")
		const total = 80 * (300 << 10) // whole lines, about 24 MiB
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := io.Copy(c.conn, &lazyBody{left: total}); err != nil {
			t.Fatal(err)
		}
		c.cmd(".", 552, "5.3.4")
		runtime.ReadMemStats(&after)
		// The whole process (client and server) allocated far less
		// than the message: the server discarded it as it came.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > total/3 {
			t.Errorf("allocated %d bytes while receiving a %d byte message", grew, total)
		}
		c.cmd("NOOP", 250, "")
	})
	t.Run("BDAT chunk over the limit", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
		c.cmd("RCPT TO:<alice@example.test>", 250, "")
		const chunk = 2 << 20
		c.send(fmt.Sprintf("BDAT %d LAST\r\n", chunk))
		if _, err := io.Copy(c.conn, &lazyBody{left: chunk}); err != nil {
			t.Fatal(err)
		}
		c.expect(552, "5.3.4")
		c.cmd("NOOP", 250, "")
	})
	if n := len(w.inbox(t, "alice@example.test")); n != 0 {
		t.Errorf("oversized message stored")
	}
}

func TestBDAT(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "CHUNKING")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	part1, part2 := "Subject: chunks\r\n\r\n", "first line\r\n.\r\nnot the end\r\n"
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	c.expect(250, "")
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	c.expect(250, "stored")
	msgs := w.inbox(t, "alice@example.test")
	if len(msgs) != 1 || !strings.HasSuffix(w.body(t, msgs[0]), part1+part2) {
		t.Fatalf("stored %d messages", len(msgs))
	}

	// Bare LF is refused in BDAT as well.
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	bad := "Subject: x\r\n\r\nbare\nLF\r\n"
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(bad), bad))
	c.expect(550, "5.6.0")
	c.cmd("NOOP", 250, "")
	if n := len(w.inbox(t, "alice@example.test")); n != 1 {
		t.Errorf("alice has %d messages, want 1", n)
	}
}

func TestTooManyRecipients(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.MaxRecipients = 2
	_, addr := start(t, cfg, false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("RCPT TO:<bob@example.test>", 250, "")
	c.cmd("RCPT TO:<alice+x@example.test>", 452, "4.5.3")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")
	if len(w.inbox(t, "alice@example.test")) != 1 || len(w.inbox(t, "bob@example.test")) != 1 {
		t.Error("message not stored once per accepted recipient")
	}
}

func TestMaxErrorsClosesSession(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.MaxErrors = 3
	_, addr := start(t, cfg, false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<a@example.test>", 550, "5.1.1")
	c.cmd("RCPT TO:<b@example.test>", 550, "5.1.1")
	c.cmd("RCPT TO:<c@example.test>", 421, "4.7.0")
	if !c.closed() {
		t.Error("connection still open after too many errors")
	}
}

func TestLongLines(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.MaxLineLength = 1000
	_, addr := start(t, cfg, false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.send("Subject: long\r\n\r\n" + strings.Repeat("y", 998) + "\r\n")
	c.cmd(".", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.send("Subject: long\r\n\r\n" + strings.Repeat("y", 3000) + "\r\n.\r\n")
	if code, _ := c.reply(); code != 500 {
		t.Errorf("over-long line: %d", code)
	}
	if !c.closed() {
		t.Error("connection open after an over-long line")
	}
	if n := len(w.inbox(t, "alice@example.test")); n != 1 {
		t.Errorf("alice has %d messages, want 1", n)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	const clients, per = 12, 5
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range per {
				body := fmt.Sprintf("Subject: %d-%d\r\n\r\nmessage %d-%d\r\n", i, j, i, j)
				if err := sendMail(addr, "sender@remote.test", []string{"alice@example.test", "team@example.test"}, body); err != nil {
					t.Errorf("client %d message %d: %v", i, j, err)
				}
			}
		}()
	}
	wg.Wait()
	for _, a := range []string{"alice@example.test", "bob@example.test"} {
		msgs := w.inbox(t, a)
		if len(msgs) != clients*per {
			t.Errorf("%s has %d messages, want %d", a, len(msgs), clients*per)
		}
		uids := map[uint32]bool{}
		subjects := map[string]bool{}
		for _, m := range msgs {
			if uids[m.UID] {
				t.Errorf("%s: UID %d twice", a, m.UID)
			}
			uids[m.UID] = true
			b := w.body(t, m)
			s := b[strings.Index(b, "Subject: "):]
			s = s[:strings.Index(s, "\r\n")]
			if subjects[s] {
				t.Errorf("%s: %s stored twice", a, s)
			}
			subjects[s] = true
		}
	}
}

func TestShutdownFinishesInFlightData(t *testing.T) {
	w := newWorld(t)
	s := New(w.config())
	ln := listen(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	busy := dialRaw(t, addr)
	busy.cmd("EHLO client.test", 250, "")
	busy.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	busy.cmd("RCPT TO:<alice@example.test>", 250, "")
	busy.cmd("DATA", 354, "")
	busy.send("Subject: in flight\r\n\r\nfirst half\r\n")
	idle := dialRaw(t, addr)
	idle.cmd("EHLO client.test", 250, "")
	// Let the server see the first part of the message so the transfer
	// is under way when shutdown begins.
	waitBusy(t, s)

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Error("idle connection not closed by shutdown")
	}
	busy.send("second half\r\n")
	busy.cmd(".", 250, "stored")
	if !busy.closed() {
		t.Error("connection open after its in-flight message was answered")
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	msgs := w.inbox(t, "alice@example.test")
	if len(msgs) != 1 || !strings.Contains(w.body(t, msgs[0]), "first half\r\nsecond half\r\n") {
		t.Errorf("in-flight message not stored whole")
	}
}
