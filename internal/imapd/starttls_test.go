package imapd

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
)

func TestStartTLS(t *testing.T) {
	ts := newTestServer(t)
	ts.poseRemote()
	c := ts.conn()
	c.startTLS()
	c.cmd("a STARTTLS").bad() // once only
	c.login()

	// RFC 9051 section 6.2.1: a command pipelined after STARTTLS in the
	// clear is discarded, never executed inside TLS.
	c2 := ts.conn()
	c2.write("s STARTTLS\r\nx LOGIN " + testUser + ` "` + testPassword + `"` + "\r\n")
	c2.readResponse("s").ok()
	tc := tls.Client(c2.conn, ts.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2.conn, c2.br, c2.w = tc, bufio.NewReader(tc), tc
	c2.cmd("y CAPABILITY").ok()
	if l := c2.untaggedWith("* CAPABILITY"); len(l) != 1 || strings.Contains(l[0], "MOVE") {
		t.Fatalf("the injected LOGIN was executed: %q", c2.responses())
	}
	c2.login()

	t.Run("without tls config", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.TLS = nil })
		c := ts.conn()
		if strings.Contains(c.greeting, "STARTTLS") {
			t.Fatalf("greeting %q", c.greeting)
		}
		c.cmd("a STARTTLS").no()
	})
}
