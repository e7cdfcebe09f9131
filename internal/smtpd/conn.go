package smtpd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// trackedConn is every accepted connection: it carries the connection id
// for logs, counts against the per-IP limit until closed, turns the read
// timeout into an idle timeout (refreshed on every read, so a large DATA
// on a slow link is not cut off while a silent client is), and can close
// itself right after the next reply is written (shutdown, too many
// errors).
type trackedConn struct {
	net.Conn
	srv         *Server
	cid         string
	ip          netip.Addr
	readTimeout time.Duration

	mu              sync.Mutex
	busy            bool // inside a message transfer (Session.Data)
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

// limitListener refuses connections over the per-IP limit with 421 before
// go-smtp sees them, and wraps the others in trackedConn.
type limitListener struct {
	net.Listener
	srv      *Server
	implicit bool // implicit TLS: no plaintext 421 on refusal
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, err := l.srv.track(c)
		if err == nil {
			return tc, nil
		}
		l.srv.log.Info("connection refused", "remote", c.RemoteAddr().String(), "reason", err.Error())
		go refuse(c, err, l.implicit)
	}
}

var (
	errTooManyConns = errors.New("too many connections from your address")
	errShuttingDown = errors.New("server shutting down")
)

func refuse(c net.Conn, reason error, implicitTLS bool) {
	defer c.Close()
	if implicitTLS {
		return
	}
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if errors.Is(reason, errShuttingDown) {
		c.Write([]byte("421 4.3.2 Service shutting down, try again later\r\n"))
		return
	}
	// RFC 5321 section 3.1: a server may refuse a session with 421.
	c.Write([]byte("421 4.7.0 Too many connections from your address, try again later\r\n"))
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
