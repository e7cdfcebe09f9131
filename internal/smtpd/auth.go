package smtpd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailport/internal/auth"
	"mailport/internal/delivery"
	"mailport/internal/store"
)

// submissionSession is a session on a submission port (RFC 6409): the
// client must authenticate (RFC 4954) before MAIL.
type submissionSession struct {
	*session
	// binding is the connection's tls-exporter channel binding (RFC
	// 9266), nil without TLS: SCRAM-SHA-256-PLUS is offered with one.
	binding auth.ChannelBinding
}

// newSubmissionSession makes sess, of connection c, a submission session.
func newSubmissionSession(sess *session, c *smtp.Conn) *submissionSession {
	// A zero state (no TLS) has no completed handshake, so no binding.
	cs, _ := c.TLSConnectionState()
	return &submissionSession{session: sess, binding: auth.TLSChannelBinding(&cs)}
}

var _ smtp.AuthSession = (*submissionSession)(nil)

// plaintextAllowed: passwords only inside TLS or from loopback
// (auth.PlaintextAllowed; RFC 8314 section 3).
// Without an Authenticator no login can succeed, so AUTH is not offered.
func (s *submissionSession) plaintextAllowed() bool {
	return s.srv.cfg.Auth != nil && auth.PlaintextAllowed(s.tls, s.tc.ip)
}

// AuthMechanisms offers PLAIN (RFC 4616), LOGIN (which Roundcube and
// older clients use) and SCRAM-SHA-256 (RFC 7677), with
// SCRAM-SHA-256-PLUS on TLS (RFC 5802 section 6), only where a password
// may be sent; elsewhere EHLO does not list AUTH at all, and STARTTLS is
// the way forward. SCRAM keeps the password off the wire, but follows the
// same rule so that no login of any kind happens in the clear.
func (s *submissionSession) AuthMechanisms() []string {
	if !s.plaintextAllowed() {
		return nil
	}
	return append([]string{sasl.Plain, sasl.Login}, s.binding.SCRAMMechanisms()...)
}

// errAuthzid refuses a PLAIN authorization identity other than the login.
var errAuthzid = errors.New("authorization identity differs from login")

var errEncryptionRequired = smtpErr(530, [3]int{5, 7, 0}, "must issue a STARTTLS command first")

func (s *submissionSession) Auth(mech string) (sasl.Server, error) {
	if !s.plaintextAllowed() {
		return nil, errEncryptionRequired
	}
	check := func(identity, username, password string) error {
		// Compared as logins are looked up (auth.LoginKey), so the two
		// forms of an internationalized domain name are the same user.
		if identity != "" && auth.LoginKey(identity) != auth.LoginKey(username) {
			// No proxy authorization: RFC 4616 section 2 lets the
			// server refuse an authzid it does not support.
			return s.authFailed(username, errAuthzid)
		}
		acct, err := s.srv.cfg.Auth.Authenticate(s.srv.ctx, username, password, s.tc.ip)
		if err != nil {
			return s.authFailed(username, err)
		}
		s.authenticated(acct, mech)
		return nil
	}
	if scramMech, ok := s.binding.SCRAMMechanism(mech); ok {
		return &scramServer{s: s, mech: scramMech, x: s.srv.cfg.Auth.NewSCRAMSHA256(s.srv.ctx, s.tc.ip, scramMech, s.binding)}, nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(check), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticated records a login by any mechanism: MAIL is allowed from
// now on, for acct's addresses.
func (s *submissionSession) authenticated(acct store.Account, mech string) {
	s.mu.Lock()
	s.authUser = acct.Address
	s.mu.Unlock()
	s.log.Info("authenticated", "login", acct.Address, "mech", mech)
}

// scramServer is auth.SCRAMExchange as go-smtp's sasl.Server, its
// failures answered as PLAIN's are. RFC 4954 section 4 has no additional
// data with 235, so the server-final message goes out as a last 334
// challenge that the client answers empty, as the exchange expects.
type scramServer struct {
	s    *submissionSession
	mech string
	x    *auth.SCRAMExchange
}

func (sc *scramServer) Next(response []byte) (challenge []byte, done bool, err error) {
	challenge, done, err = sc.x.Next(response)
	switch {
	case errors.Is(err, auth.ErrAuthzid):
		return nil, true, sc.s.authFailed(sc.x.Login(), errAuthzid)
	case errors.Is(err, auth.ErrSCRAMChannelBinding):
		// RFC 5802 section 6: the binding flag does not fit what was
		// advertised; no password was tried. 535 5.7.8 as for any
		// refused authentication (RFC 4954 section 6).
		return nil, true, smtpErr(535, [3]int{5, 7, 8}, "channel binding does not fit "+sc.mech+" on this connection")
	case errors.Is(err, auth.ErrSCRAMMalformed):
		// As RFC 4954 section 4 answers a response it cannot decode.
		return nil, true, smtpErr(501, [3]int{5, 5, 2}, "malformed "+sc.mech+" message")
	case err != nil:
		return nil, true, sc.s.authFailed(sc.x.Login(), err)
	case done:
		sc.s.authenticated(sc.x.Account(), sc.mech)
	}
	return challenge, done, nil
}

func (s *submissionSession) authFailed(login string, err error) error {
	s.srv.m.AuthFailures.WithLabelValues(s.srv.proto).Inc()
	if !errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, errAuthzid) {
		// Storage failure: temporary, not the client's fault (RFC 4954
		// section 6, 454 4.7.0).
		s.log.Error("authentication backend failed", "login", login, "err", err)
		return smtpErr(454, [3]int{4, 7, 0}, "temporary authentication failure")
	}
	return s.refuse("auth_failed", &delivery.Error{Code: 535, Enhanced: [3]int{5, 7, 8},
		Message: "authentication credentials invalid"}, "login", login)
}

func (s *submissionSession) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	login := s.authUser
	s.mu.Unlock()
	if login == "" {
		// RFC 4954 section 6: 530 5.7.0 Authentication required.
		return s.refuse("auth_required", &delivery.Error{Code: 530, Enhanced: [3]int{5, 7, 0},
			Message: "authentication required"}, "from", from)
	}
	if max := s.lim.MaxMessagesPerHour; !s.srv.rate.allow(login, max) {
		return s.refuse("sending_limit", &delivery.Error{Code: 450, Enhanced: [3]int{4, 7, 1},
			Message: fmt.Sprintf("sending limit: at most %d messages per hour, try again later", max)}, "login", login)
	}
	// The envelope sender must be the user's (issue 4); the From field
	// is checked at the end of DATA (fromStage).
	allowed, err := allowedSenders(s.srv.ctx, s.srv.cfg.Directory, login)
	if err != nil {
		return s.refuse("local_error", delivery.ErrorLocal(err), "from", from)
	}
	if !senderAllowed(allowed, from) {
		return s.refuse("sender_not_allowed", senderRefusal("sender", from, allowed), "from", from, "login", login)
	}
	return s.session.Mail(from, opts)
}

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): prompt "Username:", then "Password:";
// the client may send the user name as initial response.
type loginServer struct {
	check    func(identity, username, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check("", l.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
