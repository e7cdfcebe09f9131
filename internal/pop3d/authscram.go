package pop3d

import (
	"errors"

	"mailport/internal/auth"
)

// authSCRAM runs AUTH SCRAM-SHA-256 (RFC 7677, RFC 5802 section 5) on
// auth.SCRAMExchange, ir being the initial response or nil. RFC 5034
// section 4 has no additional data with success, so the server-final
// message goes out as a last challenge that the client answers empty
// before the +OK.
func (ss *session) authSCRAM(ir []byte) bool {
	x := ss.srv.cfg.Auth.NewSCRAMSHA256(ss.ctx, ss.remote)
	resp := ir
	for {
		challenge, done, err := x.Next(resp)
		switch {
		case errors.Is(err, auth.ErrAuthzid):
			// RFC 5802 section 5.1: acting as another user is not
			// supported, as with PLAIN.
			ss.reply("-ERR [AUTH] authorization identity must match the login")
			return ss.countError()
		case errors.Is(err, auth.ErrSCRAMMalformed):
			ss.reply("-ERR malformed SCRAM-SHA-256 message")
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
