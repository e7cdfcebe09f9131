package pop3d

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/notify"
)

const (
	msg1 = "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n"
	msg2 = "From: b@example.org\r\nSubject: two\r\n\r\nSecond message\r\nwith two lines\r\n"
	msg3 = "From: c@example.org\r\nSubject: three\r\n\r\nThird\r\n"
)

// capas sends CAPA and returns the capability lines.
func (c *client) capas() []string {
	c.t.Helper()
	_, body := c.multiOK("CAPA")
	return body
}

func TestCapa(t *testing.T) {
	common := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION mailport"}
	cases := []struct {
		name     string
		opts     []envOption
		login    bool
		want     []string
		wantNot  []string
		greeting string
	}{
		{"loopback with TLS", nil, false, append([]string{"USER", "SASL PLAIN SCRAM-SHA-256", "STLS"}, common...), nil, ""},
		{"loopback without TLS", []envOption{withoutTLS}, false, append([]string{"USER", "SASL PLAIN SCRAM-SHA-256"}, common...), []string{"STLS"}, ""},
		{"remote before TLS", []envOption{withRemote("192.0.2.1")}, false, append([]string{"STLS"}, common...), []string{"USER", "SASL PLAIN"}, ""},
		{"after login", nil, true, common, []string{"USER", "SASL PLAIN", "STLS"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, tc.opts...)
			c := e.dial()
			if tc.login {
				c.login()
			}
			got := c.capas()
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("CAPA %q lacks %q", got, w)
				}
			}
			for _, w := range tc.wantNot {
				if slices.Contains(got, w) {
					t.Errorf("CAPA %q has %q", got, w)
				}
			}
			c.ok("QUIT")
		})
	}
}

func TestGreetingAndQuitBeforeLogin(t *testing.T) {
	e := newTestEnv(t)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	if g := c.line(); g != "+OK pop.example.org POP3 server ready" {
		t.Fatalf("greeting %q", g)
	}
	c.ok("QUIT")
	c.expectClosed()
}

func TestUserPass(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	c := e.dial()
	c.errResp("PASS "+alicePassword, "-ERR")
	// Login is case-insensitive and trimmed by the Authenticator.
	c.ok("USER Alice@Example.org")
	if r := c.ok("PASS " + alicePassword); !strings.Contains(r, "1 messages") {
		t.Fatalf("PASS reply %q does not count the message", r)
	}
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 1 %d", len(msg1)) {
		t.Fatalf("STAT %q", r)
	}
	c.errResp("USER x", "-ERR")
	c.ok("NOOP")
	c.ok("QUIT")
	c.expectClosed()

	// Nothing in the logs gives the password away, and every line of the
	// server's (the Authenticator's included) has a connection id.
	logs := e.logs.String()
	if strings.Contains(logs, alicePassword) {
		t.Fatalf("password logged: %s", logs)
	}
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec["cid"] == nil || rec["cid"] == "" {
			t.Fatalf("log line without cid: %s", l)
		}
	}
	if !strings.Contains(logs, `"cmd":"STAT"`) {
		t.Fatalf("commands not logged: %s", logs)
	}
}

func TestWrongPassword(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.ok("USER alice@example.org")
	c.errResp("PASS wrong-password", "-ERR [AUTH]")
	// An unknown user gets the very same answer.
	c.ok("USER nobody@example.org")
	c.errResp("PASS wrong-password", "-ERR [AUTH]")
	// USER is forgotten after a failed PASS.
	c.errResp("PASS "+alicePassword, "-ERR")
	c.login()
	if logs := e.logs.String(); !strings.Contains(logs, "login failed") {
		t.Fatalf("failed login not logged: %s", logs)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthPlain(t *testing.T) {
	good := b64("\x00alice@example.org\x00" + alicePassword)
	cases := []struct {
		name  string
		lines []string // the command, then continuation lines
		want  string
	}{
		{"initial response", []string{"AUTH PLAIN " + good}, "+OK"},
		{"lower case mechanism", []string{"auth plain " + good}, "+OK"},
		{"continuation", []string{"AUTH PLAIN", good}, "+OK"},
		{"matching authzid", []string{"AUTH PLAIN " + b64("alice@example.org\x00alice@example.org\x00"+alicePassword)}, "+OK"},
		{"wrong password", []string{"AUTH PLAIN " + b64("\x00alice@example.org\x00nope")}, "-ERR [AUTH]"},
		{"wrong password continuation", []string{"AUTH PLAIN", b64("\x00alice@example.org\x00nope")}, "-ERR [AUTH]"},
		{"other authzid", []string{"AUTH PLAIN " + b64("bob@example.org\x00alice@example.org\x00"+alicePassword)}, "-ERR [AUTH]"},
		{"cancelled", []string{"AUTH PLAIN", "*"}, "-ERR"},
		{"bad base64", []string{"AUTH PLAIN !!!"}, "-ERR"},
		{"bad base64 continuation", []string{"AUTH PLAIN", "%%%"}, "-ERR"},
		{"empty initial response", []string{"AUTH PLAIN ="}, "-ERR"},
		{"missing NULs", []string{"AUTH PLAIN " + b64("alice@example.org "+alicePassword)}, "-ERR"},
		{"unknown mechanism", []string{"AUTH CRAM-MD5"}, "-ERR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			c := e.dial()
			c.send(tc.lines[0])
			for _, l := range tc.lines[1:] {
				if r := c.line(); r != "+ " {
					t.Fatalf("continuation prompt %q; want \"+ \"", r)
				}
				c.send(l)
			}
			r := c.line()
			if !strings.HasPrefix(r, tc.want) {
				t.Fatalf("got %q; want prefix %q", r, tc.want)
			}
			if strings.HasPrefix(r, "+OK") {
				c.ok("STAT")
			} else {
				c.errResp("STAT", "-ERR")
				c.login() // still in AUTHORIZATION and able to log in
			}
		})
	}
}

func TestAuthMechanismList(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	if _, body := c.multiOK("AUTH"); !slices.Equal(body, []string{"PLAIN", "SCRAM-SHA-256"}) {
		t.Fatalf("AUTH list %q", body)
	}
}

func TestStatListUidl(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	e.addMessage(msg2)
	e.addMessage(msg3)
	c := e.dial()
	c.login()
	total := len(msg1) + len(msg2) + len(msg3)
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 3 %d", total) {
		t.Fatalf("STAT %q", r)
	}
	status, body := c.multiOK("LIST")
	if status != fmt.Sprintf("+OK 3 messages (%d octets)", total) {
		t.Fatalf("LIST status %q", status)
	}
	want := []string{fmt.Sprintf("1 %d", len(msg1)), fmt.Sprintf("2 %d", len(msg2)), fmt.Sprintf("3 %d", len(msg3))}
	if !slices.Equal(body, want) {
		t.Fatalf("LIST %q; want %q", body, want)
	}
	if r := c.ok("LIST 2"); r != fmt.Sprintf("+OK 2 %d", len(msg2)) {
		t.Fatalf("LIST 2: %q", r)
	}
	_, body = c.multiOK("UIDL")
	if want := []string{"1 12345.1", "2 12345.2", "3 12345.3"}; !slices.Equal(body, want) {
		t.Fatalf("UIDL %q; want %q", body, want)
	}
	if r := c.ok("UIDL 3"); r != "+OK 3 12345.3" {
		t.Fatalf("UIDL 3: %q", r)
	}
	for _, bad := range []string{"LIST 0", "LIST 4", "LIST x", "LIST -1", "LIST 99999999999", "UIDL 4", "RETR 0", "TOP 9 1", "DELE 4"} {
		c.errResp(bad, "-ERR")
	}
	c.errResp("LIST 1 2", "-ERR")
}

func TestRetrDotStuffing(t *testing.T) {
	e := newTestEnv(t)
	// Lines starting with ".", a lone "." line, bare LF line ends, and no
	// line end at the very end.
	content := "Subject: dots\n\n.starts with dot\r\n.\r\nmiddle . dot\n..two\nlast line"
	e.addMessage(content)
	c := e.dial()
	c.login()
	status, body := c.multiOK("RETR 1")
	if status != fmt.Sprintf("+OK %d octets", len(content)) {
		t.Fatalf("RETR status %q", status)
	}
	want := []string{"Subject: dots", "", "..starts with dot", "..", "middle . dot", "...two", "last line"}
	if !slices.Equal(body, want) {
		t.Fatalf("RETR body %q; want %q", body, want)
	}
	// The message is unchanged by RETR and can be read again.
	_, again := c.multiOK("RETR 1")
	if !slices.Equal(again, want) {
		t.Fatalf("second RETR %q", again)
	}
}

func TestRetrLargeMessageStreams(t *testing.T) {
	e := newTestEnv(t)
	var b strings.Builder
	b.WriteString("Subject: big\r\n\r\n")
	for i := range 20000 {
		fmt.Fprintf(&b, ".line %d of a message bigger than any buffer\r\n", i)
	}
	e.addMessage(b.String())
	c := e.dial()
	c.login()
	_, body := c.multiOK("RETR 1")
	if len(body) != 20002 || body[2] != "..line 0 of a message bigger than any buffer" || body[20001] != "..line 19999 of a message bigger than any buffer" {
		t.Fatalf("big RETR: %d lines, first body line %q", len(body), body[2])
	}
}

func TestTop(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage("Subject: top\r\nX-A: 1\r\n\r\nb1\r\n.b2\r\nb3\r\n")
	c := e.dial()
	c.login()
	cases := []struct {
		cmd  string
		want []string
	}{
		{"TOP 1 0", []string{"Subject: top", "X-A: 1", ""}},
		{"TOP 1 1", []string{"Subject: top", "X-A: 1", "", "b1"}},
		{"TOP 1 2", []string{"Subject: top", "X-A: 1", "", "b1", "..b2"}},
		{"TOP 1 100", []string{"Subject: top", "X-A: 1", "", "b1", "..b2", "b3"}},
	}
	for _, tc := range cases {
		if _, body := c.multiOK(tc.cmd); !slices.Equal(body, tc.want) {
			t.Errorf("%s: %q; want %q", tc.cmd, body, tc.want)
		}
	}
	for _, bad := range []string{"TOP 1", "TOP 1 x", "TOP 1 -1", "TOP 2 0"} {
		c.errResp(bad, "-ERR")
	}
}

func TestDeleRset(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	e.addMessage(msg2)
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 1 %d", len(msg2)) {
		t.Fatalf("STAT after DELE %q", r)
	}
	c.errResp("DELE 1", "-ERR message 1 already deleted")
	c.errResp("LIST 1", "-ERR")
	c.errResp("RETR 1", "-ERR")
	c.errResp("UIDL 1", "-ERR")
	if _, body := c.multiOK("LIST"); !slices.Equal(body, []string{fmt.Sprintf("2 %d", len(msg2))}) {
		t.Fatalf("LIST after DELE %q", body)
	}
	if r := c.ok("RSET"); !strings.Contains(r, "2 messages") {
		t.Fatalf("RSET %q", r)
	}
	c.ok("LIST 1")
	c.ok("QUIT")
	c.expectClosed()
	e.waitSessionsGone()
	if got := e.store.uids(aliceInbox); !slices.Equal(got, []uint32{1, 2}) {
		t.Fatalf("store UIDs %v after RSET and QUIT", got)
	}
}

func TestDeleQuitExpunges(t *testing.T) {
	e := newTestEnv(t)
	m1 := e.addMessage(msg1)
	e.addMessage(msg2)
	m3 := e.addMessage(msg3)
	sub := e.bus.Subscribe(aliceID)
	defer sub.Close()
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	c.ok("DELE 3")
	if r := c.ok("QUIT"); !strings.Contains(r, "1 messages left") {
		t.Fatalf("QUIT %q", r)
	}
	c.expectClosed()
	if got := e.store.uids(aliceInbox); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("store UIDs %v; want [2]", got)
	}
	for _, m := range []string{m1.BlobID, m3.BlobID} {
		if e.blobs.Exists(m) {
			t.Fatalf("blob %s of an expunged message still exists", m)
		}
	}
	ev := <-sub.C
	if ev.Kind != notify.MessagesExpunged || ev.MailboxID != aliceInbox || ev.ModSeq != 1 {
		t.Fatalf("event %+v", ev)
	}
}

func TestDroppedConnectionKeepsMessages(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	e.addMessage(msg2)
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	c.ok("DELE 2")
	c.conn.Close()
	e.waitSessionsGone()
	if got := e.store.uids(aliceInbox); !slices.Equal(got, []uint32{1, 2}) {
		t.Fatalf("store UIDs %v after dropped connection; want [1 2]", got)
	}
	// The lock went with the connection.
	c2 := e.dial()
	c2.login()
	c2.ok("QUIT")
}

func TestUIDLStableAcrossSessions(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	e.addMessage(msg2)
	uidls := func(c *client) map[string]string { // uidl -> size
		_, body := c.multiOK("UIDL")
		_, sizes := c.multiOK("LIST")
		out := make(map[string]string)
		for i, l := range body {
			_, u, _ := strings.Cut(l, " ")
			_, sz, _ := strings.Cut(sizes[i], " ")
			out[u] = sz
		}
		return out
	}
	c := e.dial()
	c.login()
	first := uidls(c)
	c.ok("DELE 1")
	c.ok("QUIT")
	e.waitSessionsGone()
	e.addMessage(msg3)

	c = e.dial()
	c.login()
	second := uidls(c)
	// Message 2 is now number 1 but keeps its unique-id.
	if r := c.ok("UIDL 1"); r != "+OK 1 12345.2" {
		t.Fatalf("UIDL 1 in second session %q", r)
	}
	if second["12345.2"] != first["12345.2"] || second["12345.1"] != "" || second["12345.3"] == "" {
		t.Fatalf("unique-ids not stable: first %v, second %v", first, second)
	}
	for u := range second {
		if len(u) < 1 || len(u) > 70 || strings.ContainsFunc(u, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			t.Fatalf("unique-id %q outside RFC 1939 section 7 syntax", u)
		}
	}
}

func TestInUse(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	a := e.dial()
	a.login()
	b := e.dial()
	b.ok("USER alice@example.org")
	b.errResp("PASS "+alicePassword, "-ERR [IN-USE]")
	b.errResp("STAT", "-ERR") // still AUTHORIZATION
	a.ok("QUIT")
	a.expectClosed()
	e.waitUntilUnlocked(aliceID)
	b.login()
	b.ok("STAT")
}

// waitUntilUnlocked waits until no session holds accountID's maildrop.
func (e *testEnv) waitUntilUnlocked(accountID int64) {
	e.t.Helper()
	for range 3000 {
		e.srv.mu.Lock()
		held := e.srv.locked[accountID]
		e.srv.mu.Unlock()
		if !held {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("maildrop still locked")
}

func TestAccountWithoutInbox(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.ok("USER admin")
	c.errResp("PASS "+alicePassword, "-ERR [SYS/PERM]")
	c.login()
}

// startTLS sends STLS and upgrades the client connection.
func (c *client) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.ok("STLS")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("client handshake: %v", err)
	}
	c.conn = tc
	c.r.Reset(tc)
}

func (e *testEnv) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: e.pool, ServerName: "localhost"}
}

func TestSTLS(t *testing.T) {
	e := newTestEnv(t, withRemote("192.0.2.1"))
	e.addMessage(msg1)
	c := e.dial()
	c.errResp("USER alice@example.org", "-ERR [AUTH]")
	c.errResp("AUTH PLAIN "+b64("\x00alice@example.org\x00"+alicePassword), "-ERR [AUTH]")
	c.errResp("PASS x", "-ERR [AUTH]")
	c.startTLS(e.clientTLS())
	caps := c.capas()
	if slices.Contains(caps, "STLS") || !slices.Contains(caps, "USER") {
		t.Fatalf("CAPA after STLS %q", caps)
	}
	c.errResp("STLS", "-ERR")
	c.login()
	c.ok("STAT")
	if _, body := c.multiOK("RETR 1"); len(body) != 4 {
		t.Fatalf("RETR over TLS %q", body)
	}
	c.ok("QUIT")
}

func TestSTLSDiscardsPipelinedInput(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	// An attacker in the path appends a command after STLS in the clear;
	// it must not be executed inside the TLS session.
	if _, err := c.conn.Write([]byte("STLS\r\nUSER alice@example.org\r\n")); err != nil {
		t.Fatal(err)
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("STLS %q", r)
	}
	tc := tls.Client(c.conn, e.clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.r.Reset(tc)
	c.errResp("PASS "+alicePassword, "-ERR USER first")
}

func TestSTLSWithoutTLSConfig(t *testing.T) {
	e := newTestEnv(t, withoutTLS)
	c := e.dial()
	c.errResp("STLS", "-ERR")
	c.login()
}

func TestImplicitTLS(t *testing.T) {
	e := setupEnv(t, withRemote("192.0.2.7"))
	e.addMessage(msg1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { e.served <- e.srv.ServeTLS(ln) }()
	t.Cleanup(e.shutdown)
	conn, err := tls.Dial("tcp", ln.Addr().String(), e.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	if g := c.line(); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("greeting %q", g)
	}
	caps := c.capas()
	if slices.Contains(caps, "STLS") || !slices.Contains(caps, "USER") {
		t.Fatalf("CAPA over implicit TLS %q", caps)
	}
	c.errResp("STLS", "-ERR")
	// A remote client may log in: the connection is encrypted.
	c.login()
	c.ok("QUIT")
}

func TestServeTLSNeedsConfig(t *testing.T) {
	srv := NewServer(Config{Store: newFakeStore()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := srv.ServeTLS(ln); err == nil {
		t.Fatal("ServeTLS without TLS config succeeded")
	}
}

func TestBadCommands(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	c := e.dial()
	for _, tc := range []struct{ cmd, want string }{
		{"FOO", "-ERR unknown command"},
		{"STAT", "-ERR STAT not valid in this state"},
		{"RETR 1", "-ERR RETR not valid in this state"},
		{"", "-ERR empty command"},
		{"USER", "-ERR syntax error"},
	} {
		c.errResp(tc.cmd, tc.want)
	}
	c.login()
	for _, tc := range []struct{ cmd, want string }{
		{"USER alice", "-ERR USER not valid in this state"},
		{"STAT 1", "-ERR syntax error"},
		{"RETR", "-ERR syntax error"},
		{"NOOP x", "-ERR syntax error"},
	} {
		c.errResp(tc.cmd, tc.want)
	}
	// Nine errors so far; the session still works below the limit.
	c.ok("STAT")
	// The tenth error closes the connection.
	if r := c.cmd("BOGUS"); r != "-ERR unknown command" {
		t.Fatalf("got %q", r)
	}
	if r := c.line(); r != "-ERR too many errors, closing connection" {
		t.Fatalf("got %q", r)
	}
	c.expectClosed()
	// Deletions are not applied when the server ends a session.
	e.waitSessionsGone()
	if got := e.store.uids(aliceInbox); len(got) != 1 {
		t.Fatalf("store UIDs %v", got)
	}
}

func TestOverlongLine(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.errResp("USER "+strings.Repeat("a", 300), "-ERR line too long")
	c.login() // the session continues
	// A line far beyond any buffer is dropped with the connection.
	c.send(strings.Repeat("x", maxDiscard+readBufferSize*2))
	if r := c.line(); r != "-ERR line too long, closing connection" {
		t.Fatalf("got %q", r)
	}
	c.expectClosed()
}

func TestLineLengthLimitConfigurable(t *testing.T) {
	e := newTestEnv(t, withConfig(func(c *Config) { c.MaxLineLength = 20 }))
	c := e.dial()
	c.errResp("USER alice@example.org", "-ERR line too long") // 24 octets with CRLF
	c.ok("CAPA")
}

func TestPipelining(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	c := e.dial()
	cmds := "USER alice@example.org\r\nPASS " + alicePassword + "\r\nSTAT\r\nLIST\r\nUIDL 1\r\nQUIT\r\n"
	if _, err := c.conn.Write([]byte(cmds)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+OK", "+OK", fmt.Sprintf("+OK 1 %d", len(msg1))} {
		if r := c.line(); !strings.HasPrefix(r, want) {
			t.Fatalf("got %q; want %q", r, want)
		}
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("LIST %q", r)
	}
	if body := c.multi(); len(body) != 1 {
		t.Fatalf("LIST body %q", body)
	}
	if r := c.line(); r != "+OK 1 12345.1" {
		t.Fatalf("UIDL %q", r)
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("QUIT %q", r)
	}
	c.expectClosed()
}

func TestMaxConnsPerIP(t *testing.T) {
	e := newTestEnv(t, withConfig(func(c *Config) { c.MaxConnsPerIP = 2 }))
	a := e.dial()
	b := e.dial()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	if r := c.line(); !strings.HasPrefix(r, "-ERR [SYS/TEMP]") {
		t.Fatalf("third connection got %q", r)
	}
	c.expectClosed()
	a.ok("QUIT")
	a.expectClosed()
	e.waitSessionsBelow(2)
	d := e.dial() // a slot is free again
	d.ok("QUIT")
	b.ok("QUIT")
}

func (e *testEnv) waitSessionsBelow(n int) {
	e.t.Helper()
	for range 3000 {
		k, _ := e.srv.conns.Count()
		if k < n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("sessions did not end")
}

func TestStorageErrors(t *testing.T) {
	e := newTestEnv(t)
	e.addMessage(msg1)
	e.store.mu.Lock()
	e.store.failList = true
	e.store.mu.Unlock()
	c := e.dial()
	c.ok("USER alice@example.org")
	c.errResp("PASS "+alicePassword, "-ERR [SYS/TEMP]")
	e.store.mu.Lock()
	e.store.failList, e.store.failExpunge = false, true
	e.store.mu.Unlock()
	// The failed attempt released the lock.
	c.login()
	c.ok("DELE 1")
	c.errResp("QUIT", "-ERR [SYS/TEMP] some deleted messages not removed")
	c.expectClosed()
}

func TestMissingBlob(t *testing.T) {
	e := newTestEnv(t)
	m := e.addMessage(msg1)
	e.addMessage(msg2)
	if err := e.blobs.Delete(m.BlobID); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.login()
	c.errResp("RETR 1", "-ERR [SYS/PERM]")
	c.multiOK("RETR 2")
}

func TestIdleTimeout(t *testing.T) {
	e := newTestEnv(t, withConfig(func(c *Config) { c.IdleTimeout = 50 * time.Millisecond }))
	e.addMessage(msg1)
	c := e.dial()
	// Pipelined so that no pause of the test client counts as idling.
	c.send("USER alice@example.org\r\nPASS " + alicePassword + "\r\nDELE 1")
	for range 3 {
		if r := c.line(); !strings.HasPrefix(r, "+OK") {
			t.Fatalf("got %q", r)
		}
	}
	// RFC 1939 section 3: autologout closes without a response and
	// without entering UPDATE.
	c.expectClosed()
	e.waitSessionsGone()
	if got := e.store.uids(aliceInbox); len(got) != 1 {
		t.Fatalf("store UIDs %v after autologout", got)
	}
}

func TestShutdown(t *testing.T) {
	e := setupEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { e.served <- e.srv.Serve(ln) }()
	e.addMessage(msg1)
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if r := c.line(); r != "-ERR [SYS/TEMP] server shutting down" {
		t.Fatalf("idle session got %q", r)
	}
	c.expectClosed()
	if got := e.store.uids(aliceInbox); len(got) != 1 {
		t.Fatalf("store UIDs %v after shutdown", got)
	}
	if _, err := net.Dial("tcp", e.addr); err == nil {
		t.Fatal("listener still accepts after Shutdown")
	}
	if err := e.srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}
