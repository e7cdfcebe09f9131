package pop3d

import (
	"io"
	"net"
	"strings"
	"testing"

	"mailport/internal/auth"
)

// FuzzSession runs a whole session over net.Pipe with arbitrary client
// input against an in-memory store; it must never panic or hang.
func FuzzSession(f *testing.F) {
	good := b64("\x00alice@example.org\x00" + alicePassword)
	seeds := []string{
		"CAPA\r\nUSER alice@example.org\r\nPASS " + alicePassword + "\r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nDELE 2\r\nNOOP\r\nQUIT\r\n",
		"AUTH PLAIN " + good + "\r\nRETR 2\r\nTOP 1 0\r\nDELE 9\r\nQUIT\r\n",
		"AUTH PLAIN\r\n" + good + "\r\nLIST 0\r\nRETR\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH\r\nAUTH X\r\n",
		"STLS\r\n\x16\x03\x01\x00\x05hello",
		"USER a\r\nPASS b\r\nPASS c\r\n" + strings.Repeat("Z", 300) + "\r\n\r\n\x00\r\n",
		"user alice@example.org\npass " + alicePassword + "\ntop 1 99999999999\nretr 1\nquit\n",
		// SCRAM (RFC 7677): a client-first and a forged final; empty
		// client-first messages, the case that once panicked.
		"AUTH SCRAM-SHA-256 biwsbj1hbGljZUBleGFtcGxlLm9yZyxyPXJPcHJOR2Z3RWJlUldnYk5Fa3FP\r\nYz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU94eCxwPWRIcHg=\r\nSTAT\r\n",
		"AUTH SCRAM-SHA-256\r\n=\r\nAUTH SCRAM-SHA-256-PLUS =\r\n*\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// No back-off limiter: repeated failed logins must not sleep.
		e := setupEnv(t, withConfig(func(c *Config) { c.Auth = &auth.Authenticator{Store: c.Store} }), withRemote("127.0.0.1"))
		e.addMessage(msg1)
		e.addMessage("Subject: x\n\n.dot\nno end")

		clientSide, serverSide := net.Pipe()
		e.srv.startSession(serverSide, false)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, clientSide)
		}()
		_, _ = clientSide.Write(input)
		clientSide.Close()
		<-drained
		e.waitSessionsGone()
	})
}
