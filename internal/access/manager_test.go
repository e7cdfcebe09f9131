package access

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st    store.Store
	m     *Manager
	clock *clock
	amy   store.Account
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := st.CreateDomain(t.Context(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	amy, err := st.CreateAccount(t.Context(), store.Account{Address: "amy@example.com", DomainID: d.ID, Enabled: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	m := NewManager(st, Options{Now: c.now, TouchInterval: time.Minute, SessionIdle: time.Hour, SessionMax: 3 * time.Hour,
		IPLimit: RateLimit{PerSecond: 1, Burst: 3}, TokenLimit: RateLimit{PerSecond: 1, Burst: 2}})
	return &fixture{st: st, m: m, clock: c, amy: amy}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	secret, tok, err := f.m.CreateToken(ctx, f.amy, "  backup script ", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "mp_") || len(secret) != tokenSecretLen || tok.Prefix != secret[:tokenShownLen] || tok.Name != "backup script" {
		t.Fatalf("secret %q token %+v", secret, tok)
	}
	// The secret itself is nowhere in the stored row.
	stored, err := f.st.ListAPITokens(ctx, f.amy.ID)
	if err != nil || len(stored) != 1 {
		t.Fatalf("ListAPITokens = %v, %v", stored, err)
	}
	if strings.Contains(string(stored[0].Hash), secret) || len(stored[0].Hash) != 32 {
		t.Errorf("stored hash %x", stored[0].Hash)
	}

	acct, got, err := f.m.AuthenticateToken(ctx, secret)
	if err != nil || acct.ID != f.amy.ID || got.ID != tok.ID {
		t.Fatalf("AuthenticateToken = %+v, %+v, %v", acct, got, err)
	}
	stored, _ = f.st.ListAPITokens(ctx, f.amy.ID)
	if !stored[0].LastUsedAt.Equal(f.clock.now()) {
		t.Errorf("LastUsedAt = %v, want %v", stored[0].LastUsedAt, f.clock.now())
	}
	// Within the touch interval the row is not written again.
	f.clock.add(30 * time.Second)
	if _, _, err := f.m.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if stored, _ = f.st.ListAPITokens(ctx, f.amy.ID); stored[0].LastUsedAt.Equal(f.clock.now()) {
		t.Error("last-used time written within the touch interval")
	}
	f.clock.add(time.Minute)
	f.m.AuthenticateToken(ctx, secret)
	if stored, _ = f.st.ListAPITokens(ctx, f.amy.ID); !stored[0].LastUsedAt.Equal(f.clock.now()) {
		t.Error("last-used time not written after the touch interval")
	}

	exp := f.clock.now().Add(time.Hour)
	expSecret, _, err := f.m.CreateToken(ctx, f.amy, "short", &exp)
	if err != nil {
		t.Fatal(err)
	}
	past := f.clock.now().Add(-time.Second)
	if _, _, err := f.m.CreateToken(ctx, f.amy, "old", &past); err == nil {
		t.Error("token with an expiry in the past created")
	}
	if _, _, err := f.m.CreateToken(ctx, f.amy, "bad\x00name", nil); err == nil {
		t.Error("token name with a control character accepted")
	}

	wrong := secret[:len(secret)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(secret, "a")]
	bad := []struct{ name, secret string }{
		{"empty", ""},
		{"wrong last character", wrong},
		{"no prefix", "xx_" + secret[3:]},
		{"too long", secret + "a"},
		{"upper case", strings.ToUpper(secret)},
		{"unknown", "mp_" + strings.Repeat("a", tokenSecretLen-3)},
	}
	for _, tc := range bad {
		if _, _, err := f.m.AuthenticateToken(ctx, tc.secret); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: err = %v, want ErrUnauthenticated", tc.name, err)
		}
	}

	if _, _, err := f.m.AuthenticateToken(ctx, expSecret); err != nil {
		t.Fatalf("unexpired token: %v", err)
	}
	f.clock.add(time.Hour)
	if _, _, err := f.m.AuthenticateToken(ctx, expSecret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token: err = %v", err)
	}

	// A disabled account's tokens stop working.
	f.amy.Enabled = false
	if err := f.st.UpdateAccount(ctx, f.amy); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.AuthenticateToken(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("disabled account: err = %v", err)
	}
	f.amy.Enabled = true
	f.st.UpdateAccount(ctx, f.amy)

	// Revoked tokens stop working.
	if err := f.st.DeleteAPIToken(ctx, f.amy.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.AuthenticateToken(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token: err = %v", err)
	}
}

func TestTokenLimit(t *testing.T) {
	f := newFixture(t)
	for i := range MaxTokensPerAccount {
		if _, _, err := f.m.CreateToken(t.Context(), f.amy, "t", nil); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if _, _, err := f.m.CreateToken(t.Context(), f.amy, "t", nil); !errors.Is(err, ErrLimitExceeded) {
		t.Errorf("token %d: err = %v, want ErrLimitExceeded", MaxTokensPerAccount+1, err)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	cookie, s, err := f.m.CreateSession(ctx, f.amy, "192.0.2.1", strings.Repeat("x", 1000))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != SessionID(cookie) || s.ID == cookie || len(s.UserAgent) != maxUserAgent || s.CSRFToken == "" {
		t.Fatalf("session %+v for cookie %q", s, cookie)
	}
	if !s.ExpiresAt.Equal(f.clock.now().Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v, want idle timeout from now", s.ExpiresAt)
	}
	got, acct, err := f.m.ValidateSession(ctx, cookie)
	if err != nil || acct.ID != f.amy.ID || got.ID != s.ID {
		t.Fatalf("ValidateSession = %+v %+v %v", got, acct, err)
	}

	// CSRF: only the session's own token passes.
	if err := CheckCSRF(got, s.CSRFToken); err != nil {
		t.Errorf("CheckCSRF with the right token: %v", err)
	}
	for _, tok := range []string{"", "x", s.CSRFToken + "x", strings.ToUpper(s.CSRFToken)} {
		if err := CheckCSRF(got, tok); !errors.Is(err, ErrCSRF) {
			t.Errorf("CheckCSRF(%q) = %v, want ErrCSRF", tok, err)
		}
	}

	// Activity within the idle timeout keeps it alive...
	for range 3 {
		f.clock.add(50 * time.Minute)
		if _, _, err := f.m.ValidateSession(ctx, cookie); err != nil {
			t.Fatalf("active session ended at %v: %v", f.clock.now(), err)
		}
	}
	// ...but not past the maximum life: the last validation (+2h30m)
	// capped expiry at created+3h; +3h20m is past it.
	f.clock.add(50 * time.Minute)
	if _, _, err := f.m.ValidateSession(ctx, cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session past its maximum life: err = %v", err)
	}
	if _, err := f.st.GetSession(ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session not deleted: %v", err)
	}

	// Idle timeout.
	cookie2, _, err := f.m.CreateSession(ctx, f.amy, "192.0.2.1", "ua")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(time.Hour)
	if _, _, err := f.m.ValidateSession(ctx, cookie2); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("idle session: err = %v", err)
	}

	// Logout, unknown cookies, expired-row cleanup.
	cookie3, _, _ := f.m.CreateSession(ctx, f.amy, "", "")
	if err := f.m.EndSession(ctx, cookie3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.ValidateSession(ctx, cookie3); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("ended session: err = %v", err)
	}
	if _, _, err := f.m.ValidateSession(ctx, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("empty cookie: err = %v", err)
	}
	f.m.CreateSession(ctx, f.amy, "", "")
	f.clock.add(2 * time.Hour)
	if n, err := f.m.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}

	f.amy.Enabled = false
	if _, _, err := f.m.CreateSession(ctx, f.amy, "", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session for a disabled account: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	// IP burst 3, credential burst 2, both 1/s.
	for i := range 2 {
		if err := f.m.AllowRequest("192.0.2.1", "tok"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := f.m.AllowRequest("192.0.2.1", "tok")
	var rl *RateLimitError
	if !errors.Is(err, ErrTooManyRequests) || !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("third request with one token: %v (%+v)", err, rl)
	}
	// The IP bucket is now empty too (3 taken), other IPs are not.
	if err := f.m.AllowRequest("192.0.2.1", ""); !errors.Is(err, ErrTooManyRequests) {
		t.Errorf("fourth request from the IP: %v", err)
	}
	if err := f.m.AllowRequest("192.0.2.2", "other"); err != nil {
		t.Errorf("another client: %v", err)
	}
	f.clock.add(time.Second)
	if err := f.m.AllowRequest("192.0.2.1", "tok"); err != nil {
		t.Errorf("after a second: %v", err)
	}
}

func TestRateLimiterBounded(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := newRateLimiter(RateLimit{PerSecond: 1, Burst: 1}, 2, c.now)
	for _, k := range []string{"a", "b", "c"} {
		if err := r.Allow(k); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.buckets) != 2 || r.lru.Len() != 2 {
		t.Errorf("%d buckets, want 2", len(r.buckets))
	}
	// "a" was evicted and starts with a fresh bucket; "c" is still empty.
	if err := r.Allow("a"); err != nil {
		t.Errorf("evicted key: %v", err)
	}
	if err := r.Allow("c"); err == nil {
		t.Error("kept key got a second request within its burst of 1")
	}
}
