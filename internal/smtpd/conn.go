package smtpd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"mailport/internal/netserve"
)

// trackedConn is every accepted connection: it carries the connection id
// for logs, counts against the per-IP limit until closed, turns the read
// timeout into an idle timeout (refreshed on every read, so a large DATA
// on a slow link is not cut off while a silent client is), and can close
// itself right after the next reply is written (shutdown, too many
// errors).
type trackedConn struct {
	*netserve.Conn
	srv         *Server
	cid         string
	ip          netip.Addr
	readTimeout time.Duration

	mu              sync.Mutex
	closeAfterWrite bool
	closeOnce       sync.Once
}

func newCID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Read refreshes the read deadline first; go-smtp's own per-command
// deadline is replaced by it on the next read.
func (c *trackedConn) Read(b []byte) (int, error) {
	if c.readTimeout > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	closeNow := c.closeAfterWrite
	c.mu.Unlock()
	if closeNow {
		c.Close()
	}
	return n, err
}

// closeAfterReply makes the next Write (the reply being prepared) the last.
func (c *trackedConn) closeAfterReply() {
	c.mu.Lock()
	c.closeAfterWrite = true
	c.mu.Unlock()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.srv.untrack(c) })
	return err
}

// trackingListener wraps the connections netserve takes on in
// trackedConn before go-smtp sees them.
type trackingListener struct {
	*netserve.Listener
	srv *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	nc, err := l.AcceptConn()
	if err != nil {
		return nil, err
	}
	return l.srv.track(nc), nil
}

// refuser answers a connection netserve turned away with 421, except
// with implicit TLS, where no plaintext may be written.
func (s *Server) refuser(implicitTLS bool) netserve.Refuser {
	return func(c net.Conn, remote netip.Addr, reason error) {
		defer c.Close()
		s.log.Info("connection refused", "remote", c.RemoteAddr().String(), "reason", reason.Error())
		if errors.Is(reason, netserve.ErrTooManyConns) {
			s.m.MessagesRejected.WithLabelValues("too_many_connections").Inc()
		}
		if implicitTLS {
			return
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if errors.Is(reason, netserve.ErrShuttingDown) {
			c.Write([]byte("421 4.3.2 Service shutting down, try again later\r\n"))
			return
		}
		// RFC 5321 section 3.1: a server may refuse a session with 421.
		c.Write([]byte("421 4.7.0 Too many connections from your address, try again later\r\n"))
	}
}
