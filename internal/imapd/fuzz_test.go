package imapd

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailport/internal/testutil"
)

// FuzzSession feeds arbitrary bytes to a logged-in session with INBOX
// selected and checks the session never panics (the session's recover
// would log "bug: panic") and always ends when its input does.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"a NOOP\r\n",
		"a FETCH 1:* (FLAGS BODY.PEEK[HEADER] BODYSTRUCTURE ENVELOPE)\r\n",
		"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
		"a STORE 1 +FLAGS (\\Seen)\r\nb EXPUNGE\r\n",
		"a SEARCH RETURN (SAVE) ALL\r\nb FETCH $ UID\r\nc UID EXPUNGE $\r\n",
		"a APPEND INBOX {5+}\r\nhello\r\n",
		"a APPEND INBOX (\\Seen) {3}\r\nabc\r\n",
		"a IDLE\r\nDONE\r\n",
		"a COPY 1 Archive\r\nb MOVE 1 Trash\r\n",
		"a LIST \"\" *\r\nb LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))\r\n",
		"a CREATE x/y\r\nb RENAME x z\r\nc DELETE z\r\n",
		"a SELECT INBOX (QRESYNC (1 1 1:5))\r\n",
		"a ENABLE QRESYNC IMAP4rev2\r\nb SELECT INBOX (QRESYNC (1 1))\r\n",
		"a SORT (DATE) UTF-8 ALL\r\nb THREAD REFERENCES UTF-8 ALL\r\n",
		"a GETQUOTAROOT INBOX\r\nb STATUS INBOX (MESSAGES SIZE DELETED)\r\n",
		"a CLOSE\r\nb SELECT INBOX\r\nc UNSELECT\r\n",
		"\x00\xff garbage\r\n((((((\r\n",
		"a COMPRESS DEFLATE\r\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ts, logs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, input string) {
		fuzzRun(t, ts, logs, "l LOGIN "+testUser+` "`+testPassword+`"`+"\r\ns SELECT INBOX\r\n"+input)
	})
}

// FuzzNotAuthenticated feeds arbitrary bytes to a session before login,
// where AUTHENTICATE (PLAIN, SCRAM-SHA-256) and LOGIN read what anyone
// may send.
func FuzzNotAuthenticated(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString
	plain := b64([]byte("\x00" + testUser + "\x00" + testPassword))
	scramFirst := b64([]byte("n,,n=" + testUser + ",r=abc"))
	seeds := []string{
		"a CAPABILITY\r\nb LOGIN x y\r\n",
		"a AUTHENTICATE PLAIN " + plain + "\r\nb SELECT INBOX\r\n",
		"a AUTHENTICATE PLAIN\r\n*\r\n",
		"a AUTHENTICATE SCRAM-SHA-256 " + scramFirst + "\r\n" + b64([]byte("c=biws,r=abc,p=AAAA")) + "\r\n",
		"a AUTHENTICATE SCRAM-SHA-256\r\n=\r\nb AUTHENTICATE SCRAM-SHA-256-PLUS =\r\n",
		"a AUTHENTICATE SCRAM-SHA-256 " + b64([]byte("y,a=x@example.org,n="+testUser+",r=")) + "\r\n*\r\n",
		"a STARTTLS\r\n\x16\x03\x01\x00\x05hello",
		"a ID (\"name\" \"x\")\r\nb ENABLE UTF8=ACCEPT\r\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ts, logs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, input string) {
		fuzzRun(t, ts, logs, input)
	})
}

// fuzzServer is a server whose sessions come from loopback (so plaintext
// logins are allowed) with two messages in INBOX, and the log the
// sessions write to.
func fuzzServer(f *testing.F) (*testServer, *testutil.SyncBuffer) {
	ts := newTestServer(f)
	ts.srv.mu.Lock()
	ts.srv.remoteAddr = func(net.Conn) netip.Addr { return netip.MustParseAddr("127.0.0.1") }
	ts.srv.mu.Unlock()
	logs := &testutil.SyncBuffer{}
	// Errors only: the panic is one, and the log stays small over many
	// inputs.
	ts.srv.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	ts.deliver("INBOX", testMessage("one"))
	ts.deliver("INBOX", testMessage("two"), `\Seen`)
	return ts, logs
}

// fuzzRun sends input and LOGOUT to a new session and fails if the
// session panicked meanwhile (its recover logs "bug: panic"); only this
// input's part of the log counts, so one panic does not fail every
// later input.
func fuzzRun(t *testing.T, ts *testServer, logs *testutil.SyncBuffer, input string) {
	before := len(logs.String())
	client, server := net.Pipe()
	defer client.Close()
	client.SetDeadline(time.Now().Add(testTimeout))
	ts.srv.startSession(server, false)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, client)
		close(done)
	}()
	io.WriteString(client, input+"\r\nz LOGOUT\r\n")
	client.Close()
	<-done
	if l := logs.String()[before:]; strings.Contains(l, "bug: panic") {
		t.Fatalf("session panicked on %q:\n%s", input, l)
	}
}
