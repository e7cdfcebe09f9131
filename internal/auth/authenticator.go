package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	"mailport/internal/domainname"
	"mailport/internal/store"
)

// ErrInvalidCredentials is the one answer to a failed login, whether the
// account does not exist, is disabled or the password is wrong, so that a
// client cannot learn which addresses exist.
var ErrInvalidCredentials = errors.New("invalid credentials")

// maxLoginLength bounds the login looked up in the store: an address is at
// most 254 octets (RFC 5321 section 4.5.3.1.3 path limit minus brackets),
// anything longer cannot be an account.
const maxLoginLength = 320

// Authenticator checks logins for every protocol server against the store.
type Authenticator struct {
	Store store.Store
	// Limiter applies back-off to failing clients; nil disables it.
	Limiter *Limiter
	// Logger receives one Info line per failed login; nil discards.
	Logger *slog.Logger

	mockMu  sync.Mutex
	mockKey []byte // the store's secret for SCRAM mock salts (mockSecret)
}

// fallbackDummyHash is a well-formed hash (zero salt, zero key) with the
// parameters of HashPassword.
const fallbackDummyHash = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// dummyHash is verified against for unknown logins so that they cost the
// same time as a wrong password and response timing does not reveal which
// accounts exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("mailport-dummy-password-for-timing")
	if err != nil {
		// crypto/rand does not fail on supported systems; a fixed hash
		// with the same parameters keeps the cost equal regardless.
		return fallbackDummyHash
	}
	return h
})

// loggerKey is the context key of WithLogger.
type loggerKey struct{}

// WithLogger returns a context whose logins Authenticate logs to l instead
// of Authenticator.Logger, so a protocol server's connection attributes
// (its connection id) appear on the Authenticator's lines too.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func (a *Authenticator) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// LoginKey is the form a login is looked up in: trimmed, lower-cased, and
// for a mailbox address its domain in A-labels (domainname.InAddress), so
// that user@bücher.example and user@xn--bcher-kva.example log in to the
// same account whichever form the client sends.
func LoginKey(login string) string {
	return domainname.InAddress(strings.ToLower(strings.TrimSpace(login)))
}

// Authenticate checks login and password for a client at remote. The login
// is looked up as LoginKey. It returns the account on success. Every
// credential failure returns ErrInvalidCredentials after recording the
// failure and sleeping the client's back-off delay (returning ctx's error
// instead if ctx ends during the sleep). A storage failure returns a
// wrapped store error and is not counted against the client.
func (a *Authenticator) Authenticate(ctx context.Context, login, password string, remote netip.Addr) (store.Account, error) {
	login = LoginKey(login)

	var acct store.Account
	found := false
	if login != "" && len(login) <= maxLoginLength {
		var err error
		acct, err = a.Store.GetAccountByAddress(ctx, login)
		switch {
		case err == nil:
			found = true
		case errors.Is(err, store.ErrNotFound):
		default:
			return store.Account{}, fmt.Errorf("auth: look up account %q: %w", login, err)
		}
	}

	reason := ""
	if !found {
		// Same cost as a real check; the result does not matter.
		_, _ = VerifyPassword(dummyHash(), password)
		reason = "unknown account"
	} else {
		ok, err := VerifyPassword(acct.PasswordHash, password)
		switch {
		case err != nil:
			a.logger(ctx).Warn("auth: stored password hash unusable", "login", login, "account_id", acct.ID, "err", err)
			reason = "unusable password hash"
		case !ok:
			reason = "wrong password"
		case !acct.Enabled:
			reason = "account disabled"
		}
	}

	if reason == "" {
		a.succeed(remote)
		if NeedsRehash(acct.PasswordHash) || scramOutdated(acct.SCRAMSHA256) {
			acct = a.upgrade(ctx, acct, password)
		}
		return acct, nil
	}
	return store.Account{}, a.fail(ctx, login, reason, remote)
}

// succeed forgets remote's failures after a login by any mechanism.
func (a *Authenticator) succeed(remote netip.Addr) {
	if a.Limiter != nil {
		a.Limiter.Success(remote)
	}
}

// fail logs a failed login by any mechanism, counts it against remote
// and sleeps its back-off, so that PLAIN and SCRAM failures cost an
// attacker the same. It returns ErrInvalidCredentials, or the back-off's
// interruption.
func (a *Authenticator) fail(ctx context.Context, login, reason string, remote netip.Addr) error {
	logged := login
	if len(logged) > maxLoginLength {
		logged = logged[:maxLoginLength] + "..."
	}
	a.logger(ctx).Info("auth: login failed", "remote", remote.String(), "login", logged, "reason", reason)
	if a.Limiter != nil {
		a.Limiter.Failure(remote)
		if err := a.Limiter.Wait(ctx, remote); err != nil {
			return fmt.Errorf("auth: back-off interrupted: %w", err)
		}
	}
	return ErrInvalidCredentials
}

// upgrade brings an account's credentials up to date now that the
// password is known: an imported (bcrypt, SHA-crypt) hash becomes an
// argon2id one, so imported accounts end up with the same hashing as the
// rest, and an account without a SCRAM-SHA-256 credential of the current
// shape (made by an earlier version, imported with a hash only, or
// imported with another iteration count or salt length) gets one. The swap only
// happens if the stored hash is still the one just verified, so a password
// change in between wins. A failure is logged and the login still
// succeeds: the old credentials keep working.
func (a *Authenticator) upgrade(ctx context.Context, acct store.Account, password string) store.Account {
	hash, scram := acct.PasswordHash, acct.SCRAMSHA256
	var err error
	if NeedsRehash(hash) {
		hash, err = HashPassword(password)
	}
	if err == nil && scramOutdated(scram) {
		scram, err = NewSCRAMSHA256(password)
		if errors.Is(err, ErrSCRAMPassword) {
			// Such a password can log in with PLAIN only.
			err = nil
		}
	}
	if err == nil && (hash != acct.PasswordHash || scram != acct.SCRAMSHA256) {
		var ok bool
		ok, err = a.Store.ReplaceCredentials(ctx, acct.ID, acct.PasswordHash, hash, scram)
		if ok {
			acct.PasswordHash, acct.SCRAMSHA256 = hash, scram
		}
	}
	if err != nil {
		a.logger(ctx).Warn("auth: upgrading stored credentials failed", "login", acct.Address, "account_id", acct.ID, "err", err)
	}
	return acct
}

// SetPassword gives acct the credentials for password: its argon2id hash
// and its SCRAM-SHA-256 credential (none for a password SASLprep refuses,
// which then logs in with PLAIN only). Every place that sets a password
// uses it, so the two never belong to different passwords.
func SetPassword(acct *store.Account, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	scram, err := NewSCRAMSHA256(password)
	if err != nil && !errors.Is(err, ErrSCRAMPassword) {
		return err
	}
	acct.PasswordHash, acct.SCRAMSHA256 = hash, scram
	return nil
}

// PlaintextAllowed reports whether a password may be sent in the clear on
// a connection: only inside TLS, or from loopback where nothing crosses a
// network (RFC 2595 section 2.2 and RFC 8314 section 3 discourage cleartext
// passwords elsewhere). Shared by POP3, IMAP and SMTP submission.
func PlaintextAllowed(tlsActive bool, remote netip.Addr) bool {
	return tlsActive || (remote.IsValid() && remote.Unmap().IsLoopback())
}
