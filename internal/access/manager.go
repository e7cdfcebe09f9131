package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"mailport/internal/store"
)

// Token format: "mp_" and 32 random bytes in lower-case base32 without
// padding (52 characters). The fixed "mp_" lets secret scanners and people
// recognise a mailport token; 256 bits make guessing pointless.
const (
	TokenPrefix  = "mp_"
	tokenRandLen = 32
	// tokenShownLen is how much of the secret is stored as its Prefix:
	// "mp_" and 8 characters (40 bits) find the row in practice; the hash
	// comparison decides.
	tokenShownLen = len(TokenPrefix) + 8
	// MaxTokensPerAccount bounds the rows one account can create.
	MaxTokensPerAccount = 100
	// MaxTokenName bounds a token's name.
	MaxTokenName = 100
	// maxUserAgent bounds the user agent stored with a session.
	maxUserAgent = 256
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// tokenSecretLen is the length of a well-formed secret.
var tokenSecretLen = len(TokenPrefix) + b32.EncodedLen(tokenRandLen)

// Options tune a Manager. Zero values take the defaults.
type Options struct {
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// TouchInterval is how often a token's last-used time or a session's
	// last-seen time is written at most (default 1 minute): a script doing
	// 100 requests a second must not turn into 100 writes a second.
	TouchInterval time.Duration
	// SessionIdle ends a portal session not used for this long
	// (default 12 hours).
	SessionIdle time.Duration
	// SessionMax ends a portal session this long after login whatever the
	// activity (default 7 days).
	SessionMax time.Duration
	// IPLimit and TokenLimit are the request rates per client address and
	// per API token or session (defaults 20/s burst 100 and 10/s burst 50).
	IPLimit, TokenLimit RateLimit
	// MaxLimiterKeys bounds the memory of each rate limiter (default 100000).
	MaxLimiterKeys int
}

// Manager issues and checks API tokens and portal sessions and rate-limits
// requests. It is safe for concurrent use.
type Manager struct {
	st      store.Store
	now     func() time.Time
	touch   time.Duration
	idle    time.Duration
	maxLife time.Duration
	ips     *RateLimiter
	tokens  *RateLimiter
}

// NewManager returns a Manager on st.
func NewManager(st store.Store, o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = time.Minute
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 12 * time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 7 * 24 * time.Hour
	}
	if o.IPLimit.PerSecond <= 0 {
		o.IPLimit = RateLimit{PerSecond: 20, Burst: 100}
	}
	if o.TokenLimit.PerSecond <= 0 {
		o.TokenLimit = RateLimit{PerSecond: 10, Burst: 50}
	}
	return &Manager{
		st: st, now: o.Now, touch: o.TouchInterval, idle: o.SessionIdle, maxLife: o.SessionMax,
		ips:    newRateLimiter(o.IPLimit, o.MaxLimiterKeys, o.Now),
		tokens: newRateLimiter(o.TokenLimit, o.MaxLimiterKeys, o.Now),
	}
}

// Principal loads the principal of an authenticated account.
func (m *Manager) Principal(ctx context.Context, acct store.Account, via, remoteIP string) (Principal, error) {
	return Load(ctx, m.st, acct, via, remoteIP)
}

// AllowRequest applies the per-IP limit and, when credential is not "",
// the per-credential limit (a token's prefix or a session ID). The
// returned error is a *RateLimitError (errors.Is ErrTooManyRequests) with
// the time to wait.
func (m *Manager) AllowRequest(remoteIP, credential string) error {
	if err := m.ips.Allow(remoteIP); err != nil {
		return err
	}
	if credential != "" {
		return m.tokens.Allow(credential)
	}
	return nil
}

func randomText(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("access: random: %w", err)
	}
	return strings.ToLower(b32.EncodeToString(b)), nil
}

// CheckTokenName validates a token's name: up to MaxTokenName printable
// characters.
func CheckTokenName(name string) error {
	if len(name) > MaxTokenName {
		return fmt.Errorf("token name longer than %d bytes", MaxTokenName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("token name has a control character")
		}
	}
	return nil
}

// CreateToken makes a new API token for acct and returns its secret, which
// is not stored and cannot be shown again. expires nil means no expiry.
func (m *Manager) CreateToken(ctx context.Context, acct store.Account, name string, expires *time.Time) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if err := CheckTokenName(name); err != nil {
		return "", store.APIToken{}, err
	}
	now := m.now()
	if expires != nil && !expires.After(now) {
		return "", store.APIToken{}, fmt.Errorf("token expiry %s is in the past", expires.Format(time.RFC3339))
	}
	existing, err := m.st.ListAPITokens(ctx, acct.ID)
	if err != nil {
		return "", store.APIToken{}, err
	}
	if len(existing) >= MaxTokensPerAccount {
		return "", store.APIToken{}, fmt.Errorf("%w: %d API tokens for %s", ErrLimitExceeded, MaxTokensPerAccount, acct.Address)
	}
	r, err := randomText(tokenRandLen)
	if err != nil {
		return "", store.APIToken{}, err
	}
	secret := TokenPrefix + r
	sum := sha256.Sum256([]byte(secret))
	tok, err := m.st.CreateAPIToken(ctx, store.APIToken{
		AccountID: acct.ID, Name: name, Hash: sum[:], Prefix: secret[:tokenShownLen],
		CreatedAt: now, ExpiresAt: expires,
	})
	if err != nil {
		return "", store.APIToken{}, fmt.Errorf("access: create token for %s: %w", acct.Address, err)
	}
	return secret, tok, nil
}

// wellFormedToken checks the shape of a secret before any lookup.
func wellFormedToken(secret string) bool {
	if len(secret) != tokenSecretLen || !strings.HasPrefix(secret, TokenPrefix) {
		return false
	}
	for _, c := range secret[len(TokenPrefix):] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// AuthenticateToken returns the account and token of a secret. Every
// failure (malformed, unknown, expired, disabled account) is
// ErrUnauthenticated, wrapped with the reason for the log; a storage
// failure is returned as is. The hash is compared in constant time, and
// the last-used time is written at most once per TouchInterval.
func (m *Manager) AuthenticateToken(ctx context.Context, secret string) (store.Account, store.APIToken, error) {
	if !wellFormedToken(secret) {
		return store.Account{}, store.APIToken{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	sum := sha256.Sum256([]byte(secret))
	cands, err := m.st.APITokensByPrefix(ctx, secret[:tokenShownLen])
	if err != nil {
		return store.Account{}, store.APIToken{}, fmt.Errorf("access: look up token: %w", err)
	}
	var tok store.APIToken
	found := false
	for _, c := range cands {
		if subtle.ConstantTimeCompare(c.Hash, sum[:]) == 1 {
			tok, found = c, true
		}
	}
	if !found {
		return store.Account{}, store.APIToken{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	now := m.now()
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return store.Account{}, store.APIToken{}, fmt.Errorf("%w: token %s expired", ErrUnauthenticated, tok.Prefix)
	}
	acct, err := m.st.GetAccount(ctx, tok.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, store.APIToken{}, fmt.Errorf("%w: token %s has no account", ErrUnauthenticated, tok.Prefix)
	} else if err != nil {
		return store.Account{}, store.APIToken{}, fmt.Errorf("access: account of token %s: %w", tok.Prefix, err)
	}
	if !acct.Enabled {
		return store.Account{}, store.APIToken{}, fmt.Errorf("%w: account %s disabled", ErrUnauthenticated, acct.Address)
	}
	if tok.LastUsedAt.IsZero() || now.Sub(tok.LastUsedAt) >= m.touch {
		if err := m.st.TouchAPIToken(ctx, tok.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, store.APIToken{}, fmt.Errorf("access: touch token %s: %w", tok.Prefix, err)
		}
		tok.LastUsedAt = now
	}
	return acct, tok, nil
}

// SessionID is the stored ID of a session cookie value.
func SessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a portal session for acct (after its password was
// checked) and returns the cookie value, which is not stored.
func (m *Manager) CreateSession(ctx context.Context, acct store.Account, remoteIP, userAgent string) (string, store.Session, error) {
	if !acct.Enabled {
		return "", store.Session{}, fmt.Errorf("%w: account %s disabled", ErrUnauthenticated, acct.Address)
	}
	cookie, err := randomText(tokenRandLen)
	if err != nil {
		return "", store.Session{}, err
	}
	csrf, err := randomText(tokenRandLen)
	if err != nil {
		return "", store.Session{}, err
	}
	if len(userAgent) > maxUserAgent {
		userAgent = userAgent[:maxUserAgent]
	}
	now := m.now()
	s := store.Session{
		ID: SessionID(cookie), AccountID: acct.ID, CSRFToken: csrf,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: m.expiry(now, now),
		RemoteIP: remoteIP, UserAgent: strings.ToValidUTF8(userAgent, "?"),
	}
	if err := m.st.CreateSession(ctx, s); err != nil {
		return "", store.Session{}, fmt.Errorf("access: create session for %s: %w", acct.Address, err)
	}
	return cookie, s, nil
}

// expiry is the idle timeout from seen, capped by the session's maximum
// life from created.
func (m *Manager) expiry(created, seen time.Time) time.Time {
	e := seen.Add(m.idle)
	if limit := created.Add(m.maxLife); e.After(limit) {
		return limit
	}
	return e
}

// ValidateSession returns the session of a cookie value and its account.
// Unknown and expired sessions and disabled accounts are
// ErrUnauthenticated; an expired session is deleted. Activity moves the
// idle expiry, written at most once per TouchInterval.
func (m *Manager) ValidateSession(ctx context.Context, cookie string) (store.Session, store.Account, error) {
	if cookie == "" || len(cookie) > 2*tokenSecretLen {
		return store.Session{}, store.Account{}, fmt.Errorf("%w: no session", ErrUnauthenticated)
	}
	s, err := m.st.GetSession(ctx, SessionID(cookie))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.Account{}, fmt.Errorf("%w: unknown session", ErrUnauthenticated)
	} else if err != nil {
		return store.Session{}, store.Account{}, fmt.Errorf("access: session: %w", err)
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) {
		if err := m.st.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, store.Account{}, fmt.Errorf("access: delete expired session: %w", err)
		}
		return store.Session{}, store.Account{}, fmt.Errorf("%w: session expired", ErrUnauthenticated)
	}
	acct, err := m.st.GetAccount(ctx, s.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.Account{}, fmt.Errorf("%w: session has no account", ErrUnauthenticated)
	} else if err != nil {
		return store.Session{}, store.Account{}, fmt.Errorf("access: account of session: %w", err)
	}
	if !acct.Enabled {
		return store.Session{}, store.Account{}, fmt.Errorf("%w: account %s disabled", ErrUnauthenticated, acct.Address)
	}
	if now.Sub(s.LastSeenAt) >= m.touch {
		exp := m.expiry(s.CreatedAt, now)
		if err := m.st.TouchSession(ctx, s.ID, now, exp); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, store.Account{}, fmt.Errorf("access: touch session: %w", err)
		}
		s.LastSeenAt, s.ExpiresAt = now, exp
	}
	return s, acct, nil
}

// CheckCSRF compares the token a state-changing portal request carries
// (a header or form field) with its session's, in constant time.
func CheckCSRF(s store.Session, token string) error {
	if token == "" || s.CSRFToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRFToken)) != 1 {
		return ErrCSRF
	}
	return nil
}

// EndSession deletes the session of a cookie value (logout); an unknown
// one is not an error.
func (m *Manager) EndSession(ctx context.Context, cookie string) error {
	if err := m.st.DeleteSession(ctx, SessionID(cookie)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("access: end session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes expired sessions (run periodically).
func (m *Manager) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	return m.st.DeleteExpiredSessions(ctx, m.now())
}
