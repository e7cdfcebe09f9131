package auth

import (
	"crypto/tls"
	"net"
	"strings"
)

// SCRAMSHA256Plus is SCRAM-SHA-256 with channel binding (RFC 5802
// section 6, RFC 7677).
const SCRAMSHA256Plus = SCRAMSHA256 + "-PLUS"

// ChannelBinding is the tls-exporter channel binding of one TLS
// connection (RFC 9266), nil for a connection without one. A SCRAM login
// that includes it proves that client and server see the same TLS
// session, so a man in the middle holding another certificate cannot
// relay it.
type ChannelBinding []byte

// TLSChannelBinding returns the channel binding of a TLS connection, or
// nil when cs is nil (no TLS) or has none: tls-exporter needs TLS 1.3 or
// TLS 1.2 with the extended master secret (RFC 9266 section 3), and Go
// refuses the export otherwise. tls-unique, the other binding RFC 5802
// names, is undefined for TLS 1.3 (RFC 9266 section 1).
func TLSChannelBinding(cs *tls.ConnectionState) ChannelBinding {
	if cs == nil || !cs.HandshakeComplete {
		return nil
	}
	data, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		return nil
	}
	return data
}

// ConnChannelBinding is TLSChannelBinding of a connection that may be a
// *tls.Conn (IMAP and POP3 sessions hold one after STARTTLS or implicit
// TLS).
func ConnChannelBinding(c net.Conn) ChannelBinding {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	cs := tc.ConnectionState()
	return TLSChannelBinding(&cs)
}

// SCRAMMechanisms are the SCRAM mechanisms to advertise on a connection
// with this binding: -PLUS first where there is one (RFC 5802 section 6
// has a server that supports channel binding advertise both).
func (cb ChannelBinding) SCRAMMechanisms() []string {
	if cb == nil {
		return []string{SCRAMSHA256}
	}
	return []string{SCRAMSHA256Plus, SCRAMSHA256}
}

// SCRAMMechanism returns the SCRAM mechanism named by name (SASL names
// are case-insensitive, RFC 4422 section 3.1) if it is offered on this
// connection, and false for any other name.
func (cb ChannelBinding) SCRAMMechanism(name string) (string, bool) {
	for _, m := range cb.SCRAMMechanisms() {
		if strings.EqualFold(name, m) {
			return m, true
		}
	}
	return "", false
}
