package pop3d

import (
	"errors"

	"mailport/internal/auth"
)

// authSCRAM runs AUTH SCRAM-SHA-256 or SCRAM-SHA-256-PLUS (RFC 7677, RFC
// 5802 sections 5 and 6) on auth.SCRAMExchange, cb being the
// connection's channel binding and ir the initial response or nil. RFC
// 5034 section 4 has no additional data with success, so the
// server-final message goes out as a last challenge that the client
// answers empty before the +OK.
func (ss *session) authSCRAM(mech string, cb auth.ChannelBinding, ir []byte) bool {
	x := ss.srv.cfg.Auth.NewSCRAMSHA256(ss.ctx, ss.remote, mech, cb)
	resp := ir
	for {
		challenge, done, err := x.Next(resp)
		switch {
		case errors.Is(err, auth.ErrAuthzid):
			// RFC 5802 section 5.1: acting as another user is not
			// supported, as with PLAIN.
			ss.reply("-ERR [AUTH] authorization identity must match the login")
			return ss.countError()
		case errors.Is(err, auth.ErrSCRAMChannelBinding):
			// RFC 5802 section 6: the binding flag does not fit what
			// was advertised; no password was tried.
			ss.reply("-ERR [AUTH] channel binding does not fit " + mech + " on this connection")
			return ss.countError()
		case errors.Is(err, auth.ErrSCRAMMalformed):
			ss.reply("-ERR malformed " + mech + " message")
			return ss.countError()
		case err != nil || done:
			return ss.loggedIn(x.Account(), err)
		}
		var ok, end bool
		if resp, ok, end = ss.saslChallenge(challenge); !ok {
			return end
		}
	}
}

// channelBinding is the session's tls-exporter channel binding (RFC
// 9266), nil before TLS: -PLUS is offered and accepted only with one.
func (ss *session) channelBinding() auth.ChannelBinding {
	return auth.ConnChannelBinding(ss.conn)
}
