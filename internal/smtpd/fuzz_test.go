package smtpd

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeListener hands out one in-memory connection, then blocks until
// closed.
type pipeListener struct {
	once   sync.Once
	conn   net.Conn
	closed chan struct{}
}

type loopbackPipe struct{ net.Conn }

func (loopbackPipe) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (l *pipeListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.conn })
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *pipeListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }

// FuzzSession runs a whole SMTP session with arbitrary client bytes
// against a real store. It must neither panic nor hang: the client's bytes
// end with the connection closing, and every read has a deadline.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"EHLO a.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO a.test\r\nMAIL FROM:<x@remote.test> SIZE=100\r\nRCPT TO:<team@example.test>\r\nBDAT 6\r\nab\r\ncdBDAT 0 LAST\r\nQUIT\r\n",
		"EHLO a.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nbare\nLF\n.\nRSET\r\n.\r\n",
		"EHLO a.test\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<x@remote.test>\r\nDATA\r\n.\r\n",
		"EHLO a.test\r\nAUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS50ZXN0\r\n*\r\nSTARTTLS\r\n\x16\x03\x01\x00\x05hello",
		"HELO a\r\nRCPT TO:<@a,@b:alice@example.test>\r\nMAIL FROM:<\"a@b\"@example.test>\r\nRCPT TO:<a%b@example.test>\r\nVRFY x\r\n",
		"EHLO a.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 99999999 LAST\r\nshort",
		// DSN parameters (RFC 3461), good, too long and malformed.
		"EHLO a.test\r\nMAIL FROM:<x@remote.test> RET=HDRS ENVID=QQ+2Bx\r\nRCPT TO:<alice@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;alice+40example.test\r\nDATA\r\n.\r\n",
		"EHLO a.test\r\nMAIL FROM:<x@remote.test> ENVID=" + strings.Repeat("A", 101) + "\r\nRCPT TO:<bob@example.test> NOTIFY=NEVER ORCPT=utf-8;" + strings.Repeat("b", 500) + "\r\n",
		"EHLO a.test\r\nMAIL FROM:<x@remote.test> RET=X\r\nRCPT TO:<a@example.test> NOTIFY=NEVER,SUCCESS ORCPT=rfc822;a+ZZ\r\n",
		// SCRAM (RFC 7677): a client-first and a forged final; an empty
		// -PLUS initial response.
		"EHLO a.test\r\nAUTH SCRAM-SHA-256 biwsbj1hbGljZUBleGFtcGxlLnRlc3Qscj1yT3ByTkdmd0ViZVJXZ2JORWtxTw==\r\nYz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU94eCxwPWRIcHg=\r\n",
		"EHLO a.test\r\nAUTH SCRAM-SHA-256-PLUS =\r\nAUTH SCRAM-SHA-256\r\neSwsbj1h\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, input []byte, submission bool) {
		cfg := w.config()
		cfg.Submission = submission
		cfg.ReadTimeout = 2 * time.Second
		cfg.WriteTimeout = 2 * time.Second
		cfg.MaxMessageBytes = 1 << 16
		s := New(cfg)
		srvEnd, cliEnd := net.Pipe()
		ln := &pipeListener{conn: loopbackPipe{srvEnd}, closed: make(chan struct{})}
		served := make(chan error, 1)
		go func() { served <- s.Serve(ln) }()

		drained := make(chan struct{})
		go func() {
			defer close(drained)
			io.Copy(io.Discard, cliEnd)
		}()
		cliEnd.SetWriteDeadline(time.Now().Add(10 * time.Second))
		cliEnd.Write(input)
		cliEnd.Close()
		<-drained

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("session did not end: %v", err)
		}
		if err := <-served; err != nil {
			t.Fatalf("serve: %v", err)
		}
	})
}
