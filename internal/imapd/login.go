package imapd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"

	"mailport/internal/auth"
	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// cmdLogin: RFC 9051 section 6.2.3.
func (s *session) cmdLogin(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.LoginArgs)
	return s.authenticate(args.Username, args.Password)
}

// cmdAuthenticate: RFC 9051 section 6.2.2 with SASL-IR (RFC 4959), for
// PLAIN (RFC 4616) and SCRAM-SHA-256 (RFC 7677), with channel binding
// (-PLUS) on TLS (authscram.go).
func (s *session) cmdAuthenticate(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.AuthenticateArgs)
	cb := s.channelBinding()
	scramMech, isSCRAM := cb.SCRAMMechanism(args.Mechanism)
	if args.Mechanism != "PLAIN" && !isSCRAM {
		return "", no("CANNOT", "unsupported authentication mechanism %q", args.Mechanism)
	}
	// SCRAM keeps the password off the wire, but follows PLAIN's rule so
	// that no login of any kind happens in the clear.
	if !auth.PlaintextAllowed(s.tls, s.remote) {
		return "", no("PRIVACYREQUIRED", "authentication only over TLS")
	}
	if isSCRAM {
		return s.authenticateSCRAM(scramMech, cb, args.InitialResponse)
	}
	resp := args.InitialResponse
	if resp == nil {
		var err error
		if resp, err = s.saslChallenge(nil); err != nil {
			return "", err
		}
	}
	// RFC 4616 section 2: [authzid] NUL authcid NUL passwd.
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 {
		return "", bad("malformed PLAIN response")
	}
	authz, authc, pw := string(parts[0]), string(parts[1]), string(parts[2])
	// Compared as logins are looked up (auth.LoginKey), so the two forms
	// of an internationalized domain name are the same user.
	if authz != "" && auth.LoginKey(authz) != auth.LoginKey(authc) {
		return "", no("AUTHORIZATIONFAILED", "cannot act as another user")
	}
	return s.authenticate(authc, pw)
}

// saslChallenge sends a challenge of an AUTHENTICATE exchange and reads
// the client's response. RFC 9051 section 6.2.2: "+ " and the base64
// data; an empty challenge is "+ " alone (Writer.Continuation would put a
// text there). A cancelled or malformed response is the command's BAD.
func (s *session) saslChallenge(data []byte) ([]byte, error) {
	s.w.Raw("+ " + base64.StdEncoding.EncodeToString(data))
	s.w.EndLine()
	if err := s.flush(); err != nil {
		return nil, errCloseConn
	}
	resp, err := s.r.ReadSASLResponse()
	if errors.Is(err, wire.ErrSASLCancel) {
		return nil, bad("authentication cancelled")
	}
	if _, ok := wire.AsParseError(err); ok {
		return nil, bad("malformed authentication response")
	}
	if err != nil {
		return nil, errCloseConn
	}
	return resp, nil
}

// authenticate checks credentials and moves the session to the
// authenticated state. RFC 9051 section 6.2.3: refuse plaintext
// credentials without TLS (except from loopback, auth.PlaintextAllowed).
func (s *session) authenticate(login, password string) (string, error) {
	if !auth.PlaintextAllowed(s.tls, s.remote) {
		return "", no("PRIVACYREQUIRED", "login only over TLS: use STARTTLS or port 993")
	}
	acct, err := s.srv.cfg.Auth.Authenticate(auth.WithLogger(s.ctx, s.log), login, password, s.remote)
	return s.loggedIn(acct, err)
}

// loggedIn answers the outcome of a login by any mechanism and, for a
// success, moves the session to the authenticated state.
func (s *session) loggedIn(acct store.Account, err error) (string, error) {
	if errors.Is(err, auth.ErrInvalidCredentials) {
		if m := s.srv.cfg.Metrics; m != nil {
			m.AuthFailures.WithLabelValues("imap").Inc()
		}
		// RFC 5530 section 3: AUTHENTICATIONFAILED.
		return "", no("AUTHENTICATIONFAILED", "invalid credentials")
	}
	if err != nil {
		s.log.Error("imap: authentication failed", "err", err)
		return "", no("UNAVAILABLE", "authentication temporarily unavailable")
	}
	if acct.Role != store.RoleUser && acct.DomainID == 0 {
		// The MasterAdmin has no mail folders (store.Account).
		return "", no("AUTHENTICATIONFAILED", "this account has no mailbox")
	}
	if ok, limit := s.srv.claimUser(acct.ID); !ok {
		s.log.Info("imap: too many connections for user", "account", acct.Address, "limit", limit)
		return "", no("LIMIT", "too many connections for this user")
	}
	s.account = acct
	s.state = stateAuthenticated
	s.sub = s.srv.cfg.Bus.Subscribe(acct.ID)
	s.log = s.log.With("account", acct.Address)
	s.log.Info("imap: logged in")
	// RFC 9051 section 6.2.3: the capabilities may change after login,
	// so they are sent with the OK.
	return "CAPABILITY " + strings.Join(s.capabilities(), " "), nil
}
