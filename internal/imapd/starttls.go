package imapd

import (
	"crypto/tls"
	"time"

	"mailport/internal/imapd/wire"
)

// cmdStartTLS: RFC 9051 section 6.2.1. The tagged OK is written and
// flushed here, then the handshake runs on the raw connection. Whatever
// the client pipelined after STARTTLS is discarded with the old buffer
// (RFC 9051 section 6.2.1 and RFC 2595 section 3.1: no plaintext command
// injected before the handshake may be executed inside TLS).
func (s *session) cmdStartTLS(cmd *wire.Command) (string, error) {
	if s.tls {
		return "", bad("TLS already active")
	}
	if s.srv.cfg.TLS == nil {
		return "", no("CANNOT", "TLS not configured")
	}
	s.w.Status(cmd.Tag, "OK", "", "begin TLS negotiation now")
	if err := s.flush(); err != nil {
		return "", errCloseConn
	}
	tc := tls.Server(s.conn, s.srv.cfg.TLS)
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Info("imap: starttls handshake failed", "err", err)
		return "", errCloseConn
	}
	tc.SetDeadline(time.Time{})
	s.conn = tc
	s.tls = true
	s.setupIO(tc, tc)
	s.log.Debug("imap: tls started")
	return "", errTaggedDone
}
