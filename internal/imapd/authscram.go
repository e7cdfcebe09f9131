package imapd

import (
	"errors"

	"mailport/internal/auth"
)

// authenticateSCRAM runs AUTHENTICATE SCRAM-SHA-256 (RFC 7677, RFC 5802
// section 5) on auth.SCRAMExchange, ir being the SASL-IR initial response
// (RFC 4959) or nil. IMAP has no additional data with success (RFC 9051
// section 6.2.2), so the server-final message goes out as a last
// challenge that the client answers empty before the tagged OK.
func (s *session) authenticateSCRAM(ir []byte) (string, error) {
	x := s.srv.cfg.Auth.NewSCRAMSHA256(auth.WithLogger(s.ctx, s.log), s.remote)
	resp := ir
	for {
		challenge, done, err := x.Next(resp)
		switch {
		case errors.Is(err, auth.ErrAuthzid):
			return "", no("AUTHORIZATIONFAILED", "cannot act as another user")
		case errors.Is(err, auth.ErrSCRAMMalformed):
			return "", bad("malformed SCRAM-SHA-256 message")
		case err != nil || done:
			return s.loggedIn(x.Account(), err)
		}
		if resp, err = s.saslChallenge(challenge); err != nil {
			return "", err
		}
	}
}
