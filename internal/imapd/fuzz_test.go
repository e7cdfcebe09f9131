package imapd

import (
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
	ts := newTestServer(f)
	ts.srv.mu.Lock()
	ts.srv.remoteAddr = func(net.Conn) netip.Addr { return netip.MustParseAddr("127.0.0.1") }
	ts.srv.mu.Unlock()
	var logs testutil.SyncBuffer
	ts.srv.log = slog.New(slog.NewTextHandler(&logs, nil))
	ts.deliver("INBOX", testMessage("one"))
	ts.deliver("INBOX", testMessage("two"), `\Seen`)

	f.Fuzz(func(t *testing.T, input string) {
		client, server := net.Pipe()
		defer client.Close()
		client.SetDeadline(time.Now().Add(testTimeout))
		ts.srv.startSession(server, false)
		done := make(chan struct{})
		go func() {
			io.Copy(io.Discard, client)
			close(done)
		}()
		io.WriteString(client, "l LOGIN "+testUser+` "`+testPassword+`"`+"\r\ns SELECT INBOX\r\n"+input+"\r\nz LOGOUT\r\n")
		client.Close()
		<-done
		if strings.Contains(logs.String(), "bug: panic") {
			t.Fatalf("session panicked on %q:\n%s", input, logs.String())
		}
	})
}
