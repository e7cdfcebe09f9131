package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
)

// wrapConn wraps a connection the Go resolver dialed to one DNS server.
// A failed read or write calls down (when not nil) to mark the server
// down: a UDP "connection" to a dead server only fails there (ICMP port
// unreachable, or the resolver's deadline passing). Every response read
// is shown to the recorder of the lookup that dialed (ttl.go), if any.
// The Go resolver frames messages by whether the conn is a
// net.PacketConn, so a UDP conn stays one.
func wrapConn(ctx context.Context, conn net.Conn, down func()) net.Conn {
	rec := recorderFrom(ctx)
	if udp, ok := conn.(*net.UDPConn); ok {
		return &dnsUDPConn{UDPConn: udp, down: down, rec: rec}
	}
	return &dnsStreamConn{Conn: conn, down: down, rec: rec}
}

// dnsUDPConn carries one DNS message per datagram (RFC 1035 section
// 4.2.1), so each Read is one whole response.
type dnsUDPConn struct {
	*net.UDPConn
	down func()
	rec  *ttlRecorder
}

func (c *dnsUDPConn) Read(b []byte) (int, error) {
	n, err := c.UDPConn.Read(b)
	if err != nil && c.down != nil {
		c.down()
	}
	if n > 0 && c.rec != nil {
		c.rec.observe(b[:n])
	}
	return n, err
}

func (c *dnsUDPConn) Write(b []byte) (int, error) {
	n, err := c.UDPConn.Write(b)
	if err != nil && c.down != nil {
		c.down()
	}
	return n, err
}

// dnsStreamConn is a TCP connection, where each message is preceded by
// its two-byte length (RFC 1035 section 4.2.2); the resolver reads the
// length and the message in separate Reads, so the bytes are gathered
// until a message is whole.
type dnsStreamConn struct {
	net.Conn
	down func()
	rec  *ttlRecorder
	buf  []byte
}

func (c *dnsStreamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && !errors.Is(err, io.EOF) && c.down != nil {
		c.down()
	}
	if n > 0 && c.rec != nil {
		c.buf = append(c.buf, b[:n]...)
		for len(c.buf) >= 2 {
			size := int(binary.BigEndian.Uint16(c.buf))
			if len(c.buf) < 2+size {
				break
			}
			c.rec.observe(c.buf[2 : 2+size])
			c.buf = c.buf[2+size:]
		}
	}
	return n, err
}

func (c *dnsStreamConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil && c.down != nil {
		c.down()
	}
	return n, err
}
