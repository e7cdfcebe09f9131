package imapd

import (
	"errors"

	"mailport/internal/auth"
)

// authenticateSCRAM runs AUTHENTICATE SCRAM-SHA-256 or
// SCRAM-SHA-256-PLUS (RFC 7677, RFC 5802 sections 5 and 6) on
// auth.SCRAMExchange, cb being the connection's channel binding and ir
// the SASL-IR initial response (RFC 4959) or nil. IMAP has no additional
// data with success (RFC 9051 section 6.2.2), so the server-final message
// goes out as a last challenge that the client answers empty before the
// tagged OK.
func (s *session) authenticateSCRAM(mech string, cb auth.ChannelBinding, ir []byte) (string, error) {
	x := s.srv.cfg.Auth.NewSCRAMSHA256(auth.WithLogger(s.ctx, s.log), s.remote, mech, cb)
	resp := ir
	for {
		challenge, done, err := x.Next(resp)
		switch {
		case errors.Is(err, auth.ErrAuthzid):
			return "", no("AUTHORIZATIONFAILED", "cannot act as another user")
		case errors.Is(err, auth.ErrSCRAMChannelBinding):
			// RFC 5802 section 6: the binding flag does not fit what
			// was advertised; no password was tried.
			return "", no("AUTHENTICATIONFAILED", "channel binding does not fit %s on this connection", mech)
		case errors.Is(err, auth.ErrSCRAMMalformed):
			return "", bad("malformed %s message", mech)
		case err != nil || done:
			return s.loggedIn(x.Account(), err)
		}
		if resp, err = s.saslChallenge(challenge); err != nil {
			return "", err
		}
	}
}

// channelBinding is the session's tls-exporter channel binding (RFC
// 9266), nil before TLS: -PLUS is offered and accepted only with one.
func (s *session) channelBinding() auth.ChannelBinding {
	return auth.ConnChannelBinding(s.conn)
}
