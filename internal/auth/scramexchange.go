package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdg-go/scram"

	"mailport/internal/store"
)

// ErrSCRAMMalformed is a client-first message that is not SCRAM (RFC 5802
// section 7); the exchange ends without counting a failed login, since no
// password was tried.
var ErrSCRAMMalformed = errors.New("auth: malformed SCRAM message")

// ErrSCRAMChannelBinding is a client-first message whose channel binding
// flag does not fit the mechanism and the connection (RFC 5802 section
// 6): SCRAM-SHA-256-PLUS without "p=tls-exporter", SCRAM-SHA-256 with
// "p", or the "y" flag of a client that supports channel binding but did
// not see -PLUS although it was advertised, which means someone removed
// it on the way (a downgrade). Like ErrSCRAMMalformed it ends the
// exchange before a password is tried.
var ErrSCRAMChannelBinding = errors.New("auth: SCRAM channel binding refused")

// ErrAuthzid is an authorization identity other than the login: acting as
// another user is not supported (RFC 5802 section 5.1 a=).
var ErrAuthzid = errors.New("auth: authorization identity differs from the login")

// mockSecretName is the store's instance secret for mock salts.
const mockSecretName = "scram-mock-salt"

// SCRAMExchange is the server side of one SCRAM-SHA-256 authentication
// (RFC 5802 section 5, RFC 7677). Its Next has the shape of go-sasl's
// sasl.Server, so SMTP uses it as one and IMAP and POP3 drive it the same
// way: the client-first message (or nil, which answers an empty
// challenge), the client-final message, then the client's empty response
// to the server-final message, after which the exchange is done and
// Account is the account logged in.
//
// Every outcome of a tried password is Authenticate's: an unknown login,
// one without a SCRAM credential and a disabled account get a mock or
// real salt, go through the whole exchange and fail like a wrong
// password, with the same log line, limiter count and back-off.
type SCRAMExchange struct {
	a      *Authenticator
	ctx    context.Context
	remote netip.Addr
	conv   *scram.ServerConversation
	plus   bool // the mechanism is SCRAM-SHA-256-PLUS

	login  string // LoginKey of the client's username
	acct   store.Account
	reason string // why the login fails whatever the proof ("" = it may succeed)
	err    error  // a storage failure during lookup
	step   int
}

// NewSCRAMSHA256 starts an exchange of mech, SCRAMSHA256 or
// SCRAMSHA256Plus (as ChannelBinding.SCRAMMechanism names it), for a
// client at remote on a connection with channel binding cb, which the
// caller advertised through cb.SCRAMMechanisms. ctx bounds the lookup and
// the back-off after a failure and carries the logger (WithLogger).
func (a *Authenticator) NewSCRAMSHA256(ctx context.Context, remote netip.Addr, mech string, cb ChannelBinding) *SCRAMExchange {
	x := &SCRAMExchange{a: a, ctx: ctx, remote: remote, plus: mech == SCRAMSHA256Plus}
	// NewServer only stores its arguments; it has no error to return.
	srv, _ := scram.SHA256.NewServer(x.lookup)
	binding := scram.ChannelBinding{Type: scram.ChannelBindingTLSExporter, Data: cb}
	switch {
	case x.plus:
		// -PLUS needs the client's binding to match the connection's;
		// without one (cb nil) no client-first message passes.
		x.conv = srv.NewConversationWithChannelBindingRequired(binding)
	case cb != nil:
		// -PLUS was advertised: "n" passes, "y" is a downgrade.
		x.conv = srv.NewConversationWithChannelBinding(binding)
	default:
		// Nothing advertised: "n" and "y" pass, "p" is refused.
		x.conv = srv.NewConversation()
	}
	return x
}

// Account is the account logged in, once Next has returned done without
// an error.
func (x *SCRAMExchange) Account() store.Account { return x.acct }

// Login is the login the client named (as LoginKey), once the
// client-first message has been read; "" before.
func (x *SCRAMExchange) Login() string { return x.login }

// Next takes the client's next message and returns the server's. Errors:
// ErrSCRAMMalformed, ErrSCRAMChannelBinding and ErrAuthzid end the
// exchange at the client-first message; ErrInvalidCredentials is a failed login (after its back-off);
// anything else is a storage failure or the back-off cut short.
func (x *SCRAMExchange) Next(response []byte) (challenge []byte, done bool, err error) {
	switch x.step {
	case 0:
		if response == nil {
			// SCRAM is client-first (RFC 5802 section 5): without an
			// initial response the protocol sends an empty challenge.
			return nil, false, nil
		}
		x.step = 1
		return x.first(response)
	case 1:
		x.step = 2
		return x.final(response)
	case 2:
		x.step = 3
		// RFC 4422 section 5: in protocols without additional data on
		// success the server-final message goes out as a challenge and
		// the client answers it empty.
		if len(response) != 0 {
			return nil, true, fmt.Errorf("%w: response to the server-final message is not empty", ErrSCRAMMalformed)
		}
		return nil, true, nil
	}
	return nil, true, fmt.Errorf("%w: exchange already ended", ErrSCRAMMalformed)
}

func (x *SCRAMExchange) first(msg []byte) ([]byte, bool, error) {
	if len(msg) == 0 {
		return nil, true, fmt.Errorf("%w: empty client-first message", ErrSCRAMMalformed)
	}
	if bound := msg[0] == 'p'; bound != x.plus {
		// RFC 5802 section 6 and RFC 5801 section 5: channel binding
		// goes with the -PLUS mechanism and only with it; the library,
		// which does not know the mechanism, checks the flag against
		// the binding alone.
		return nil, true, fmt.Errorf("%w: gs2 flag %q does not fit the mechanism", ErrSCRAMChannelBinding, msg[:1])
	}
	out, err := x.conv.Step(string(msg))
	switch {
	case x.err != nil:
		return nil, true, x.err
	case err != nil && isBindingRefusal(out):
		return nil, true, fmt.Errorf("%w: %v", ErrSCRAMChannelBinding, err)
	case err != nil:
		return nil, true, fmt.Errorf("%w: %v", ErrSCRAMMalformed, err)
	}
	// Compared as PLAIN does: LoginKey makes both forms of an
	// internationalized domain name the same user.
	if authz := x.conv.AuthzID(); authz != "" && LoginKey(authz) != x.login {
		return nil, true, ErrAuthzid
	}
	return []byte(out), false, nil
}

// isBindingRefusal reports whether the library's server-error attribute
// (RFC 5802 section 7 server-error-value) refuses the client-first
// message's channel binding flag or type.
func isBindingRefusal(serverError string) bool {
	switch serverError {
	case scram.ErrServerDoesSupportChannelBinding, scram.ErrChannelBindingNotSupported, scram.ErrUnsupportedChannelBindingType:
		return true
	}
	return false
}

func (x *SCRAMExchange) final(msg []byte) ([]byte, bool, error) {
	out, err := x.conv.Step(string(msg))
	reason := x.reason
	if reason == "" && (err != nil || !x.conv.Valid()) {
		// A bad proof, or a client-final message that does not fit the
		// exchange (nonce, channel binding data other than this
		// connection's), is a wrong password: it was the attempt.
		reason = "wrong password"
	}
	if reason != "" {
		x.acct = store.Account{}
		return nil, true, x.a.fail(x.ctx, x.login, reason, x.remote)
	}
	x.a.succeed(x.remote)
	return []byte(out), false, nil
}

// lookup is the library's CredentialLookup. It never fails for a login
// without a usable credential: that one gets a mock credential and the
// reason it will fail, so the client-first answer does not reveal it.
func (x *SCRAMExchange) lookup(username string) (scram.StoredCredentials, error) {
	x.login = LoginKey(username)
	x.reason = "unknown account"
	if x.login != "" && len(x.login) <= maxLoginLength {
		acct, err := x.a.Store.GetAccountByAddress(x.ctx, x.login)
		switch {
		case err == nil:
			x.acct = acct
			x.reason = ""
		case !errors.Is(err, store.ErrNotFound):
			x.err = fmt.Errorf("auth: look up account %q: %w", x.login, err)
			return scram.StoredCredentials{}, x.err
		}
	}
	if x.reason == "" {
		if x.acct.SCRAMSHA256 == "" {
			x.reason = "no SCRAM credential"
		} else if c, err := parseSCRAM(x.acct.SCRAMSHA256); err != nil {
			x.a.logger(x.ctx).Warn("auth: stored SCRAM credential unusable", "login", x.login, "account_id", x.acct.ID, "err", err)
			x.reason = "unusable SCRAM credential"
		} else {
			if !x.acct.Enabled {
				x.reason = "account disabled"
			}
			return c, nil
		}
	}
	secret, err := x.a.mockSecret(x.ctx)
	if err != nil {
		x.err = err
		return scram.StoredCredentials{}, err
	}
	return mockSCRAM(secret, x.login), nil
}

// mockSecret returns the store's instance secret for mock salts, read
// once: it never changes after migration 8 made it.
func (a *Authenticator) mockSecret(ctx context.Context) ([]byte, error) {
	a.mockMu.Lock()
	defer a.mockMu.Unlock()
	if a.mockKey != nil {
		return a.mockKey, nil
	}
	secret, err := a.Store.InstanceSecret(ctx, mockSecretName)
	if err != nil {
		return nil, fmt.Errorf("auth: SCRAM mock salt secret: %w", err)
	}
	a.mockKey = secret
	return secret, nil
}
