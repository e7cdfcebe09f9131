package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mailport/internal/store"
)

// fakeAccounts implements only the Store method the Authenticator uses;
// the embedded nil interface makes any other call panic, which would show
// up as a test failure.
type fakeAccounts struct {
	store.Store
	accounts map[string]store.Account
	err      error // returned by every lookup when set
	lookups  []string

	swaps   []store.Account // credentials written by ReplaceCredentials
	swapErr error
	stale   bool // pretend the hash changed meanwhile
}

// ReplaceCredentials is the compare-and-swap the Authenticator uses to
// upgrade credentials after a login.
func (f *fakeAccounts) ReplaceCredentials(_ context.Context, id int64, oldHash, newHash, newSCRAM string) (bool, error) {
	if f.swapErr != nil {
		return false, f.swapErr
	}
	if f.stale {
		return false, nil
	}
	for addr, a := range f.accounts {
		if a.ID == id && a.PasswordHash == oldHash {
			a.PasswordHash, a.SCRAMSHA256 = newHash, newSCRAM
			f.accounts[addr] = a
			f.swaps = append(f.swaps, a)
			return true, nil
		}
	}
	return false, nil
}

// InstanceSecret is a fixed key: tests compare mock salts, not the key.
func (f *fakeAccounts) InstanceSecret(_ context.Context, name string) ([]byte, error) {
	if name != mockSecretName {
		return nil, store.ErrNotFound
	}
	return []byte("instance secret for SCRAM tests"), nil
}

func (f *fakeAccounts) GetAccountByAddress(_ context.Context, address string) (store.Account, error) {
	f.lookups = append(f.lookups, address)
	if f.err != nil {
		return store.Account{}, f.err
	}
	a, ok := f.accounts[address]
	if !ok {
		return store.Account{}, fmt.Errorf("account %q: %w", address, store.ErrNotFound)
	}
	return a, nil
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAuthenticate(t *testing.T) {
	hash := mustHash(t, "right password")
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"alice@example.org":  {ID: 1, Address: "alice@example.org", PasswordHash: hash, Enabled: true},
		"off@example.org":    {ID: 2, Address: "off@example.org", PasswordHash: hash, Enabled: false},
		"broken@example.org": {ID: 3, Address: "broken@example.org", PasswordHash: "not a hash", Enabled: true},
	}}
	var logs bytes.Buffer
	l, clock := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	remote := netip.MustParseAddr("203.0.113.9")
	ctx := context.Background()

	cases := []struct {
		name, login, pw string
		wantID          int64 // 0: expect ErrInvalidCredentials
	}{
		{"ok", "alice@example.org", "right password", 1},
		{"case and spaces", "  Alice@Example.ORG ", "right password", 1},
		{"wrong password", "alice@example.org", "Wr0ng-Pw-7731", 0},
		{"unknown user", "nobody@example.org", "right password", 0},
		{"disabled", "off@example.org", "right password", 0},
		{"malformed stored hash", "broken@example.org", "Br0ken-Pw-44", 0},
		{"empty login", "", "right password", 0},
		{"overlong login", strings.Repeat("a", 400) + "@example.org", "Ov3rl0ng-Pw-19", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l.Success(remote)
			logs.Reset()
			acct, err := a.Authenticate(ctx, c.login, c.pw, remote)
			if c.wantID != 0 {
				if err != nil || acct.ID != c.wantID {
					t.Fatalf("Authenticate = %+v, %v; want account %d", acct, err, c.wantID)
				}
				return
			}
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("Authenticate err = %v; want ErrInvalidCredentials", err)
			}
			if acct.ID != 0 {
				t.Fatalf("failed Authenticate returned account %d", acct.ID)
			}
			out := logs.String()
			if !strings.Contains(out, "login failed") || !strings.Contains(out, "remote=203.0.113.9") {
				t.Fatalf("failure not logged with remote: %q", out)
			}
			if c.pw != "" && strings.Contains(out, c.pw) {
				t.Fatalf("log contains the password: %q", out)
			}
		})
	}
	if n := len(fs.lookups); n != len(cases)-2 {
		t.Fatalf("%d store lookups; want %d (empty and overlong logins skip the store)", n, len(cases)-2)
	}
	if s := clock.sleeps(); len(s) != 0 {
		t.Fatalf("single failures slept %v; want no back-off", s)
	}
}

func TestAuthenticateBackoffAndReset(t *testing.T) {
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"bob@example.org": {ID: 7, Address: "bob@example.org", PasswordHash: mustHash(t, "secret pw"), Enabled: true},
	}}
	l, clock := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l}
	remote := netip.MustParseAddr("127.0.0.1") // loopback is not exempt
	ctx := context.Background()
	for range 4 {
		if _, err := a.Authenticate(ctx, "bob@example.org", "nope", remote); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("err = %v", err)
		}
	}
	if s, want := clock.sleeps(), []time.Duration{time.Second, 2 * time.Second}; fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("back-off sleeps %v; want %v", s, want)
	}
	if _, err := a.Authenticate(ctx, "bob@example.org", "secret pw", remote); err != nil {
		t.Fatalf("correct password after failures: %v", err)
	}
	if d := l.Delay(remote); d != 0 {
		t.Fatalf("Delay after success = %v; want 0", d)
	}
}

func TestAuthenticateContextEndsBackoff(t *testing.T) {
	fs := &fakeAccounts{accounts: map[string]store.Account{}}
	l, clock := testLimiter(100)
	clock.cancel = true
	a := &Authenticator{Store: fs, Limiter: l}
	remote := netip.MustParseAddr("192.0.2.50")
	var err error
	for range 3 {
		_, err = a.Authenticate(context.Background(), "x@example.org", "y", remote)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want the sleep's context.Canceled", err)
	}
}

func TestAuthenticateStoreError(t *testing.T) {
	boom := errors.New("disk on fire")
	fs := &fakeAccounts{err: boom}
	l, _ := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l}
	remote := netip.MustParseAddr("192.0.2.51")
	for range 5 {
		_, err := a.Authenticate(context.Background(), "x@example.org", "y", remote)
		if !errors.Is(err, boom) || errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("err = %v; want the store error", err)
		}
	}
	if d := l.Delay(remote); d != 0 {
		t.Fatalf("storage errors counted as failures: Delay = %v", d)
	}
}

func TestAuthenticateContextLogger(t *testing.T) {
	var own, ctxLogs bytes.Buffer
	fs := &fakeAccounts{accounts: map[string]store.Account{}}
	a := &Authenticator{Store: fs, Logger: slog.New(slog.NewTextHandler(&own, nil))}
	ctx := WithLogger(context.Background(), slog.New(slog.NewTextHandler(&ctxLogs, nil)).With("cid", "c42"))
	if _, err := a.Authenticate(ctx, "x@example.org", "Pw-C0ntext", netip.MustParseAddr("192.0.2.9")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v", err)
	}
	if own.Len() != 0 {
		t.Fatalf("Authenticator.Logger used despite a context logger: %q", own.String())
	}
	if out := ctxLogs.String(); !strings.Contains(out, "cid=c42") || !strings.Contains(out, "login=x@example.org") {
		t.Fatalf("context logger output %q lacks cid or login", out)
	}
}

func TestAuthenticateWithoutLimiterOrLogger(t *testing.T) {
	fs := &fakeAccounts{accounts: map[string]store.Account{}}
	a := &Authenticator{Store: fs}
	_, err := a.Authenticate(context.Background(), "x@example.org", "y", netip.Addr{})
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v", err)
	}
}

func TestAuthenticateUpgradesCredentials(t *testing.T) {
	const pw = "imported pw 42"
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sha := sha512CryptVectors[0]
	argon := mustHash(t, pw)
	scram, err := NewSCRAMSHA256(pw)
	if err != nil {
		t.Fatal(err)
	}
	// Dovecot's default shape: 4096 iterations. A login replaces it, so
	// a SCRAM exchange shows every account the shape unknown logins get.
	dc, err := deriveSCRAMSHA256(pw, []byte("0123456789abcdef"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	dovecot := formatSCRAM(dc)
	cases := []struct {
		name, hash, scram, pw string
		stale                 bool
		swapErr               error
		wantRehash, wantSCRAM bool // a new argon2id hash, a new SCRAM credential
	}{
		{"bcrypt", "{BLF-CRYPT}" + string(bc), "", pw, false, nil, true, true},
		{"sha512-crypt", "{SHA512-CRYPT}" + sha.hash, "", sha.pw, false, nil, true, true},
		{"bcrypt with SCRAM keeps SCRAM", "{BLF-CRYPT}" + string(bc), scram, pw, false, nil, true, false},
		{"argon2id without SCRAM", argon, "", pw, false, nil, false, true},
		{"argon2id with SCRAM is kept", argon, scram, pw, false, nil, false, false},
		{"imported SCRAM of another shape", argon, dovecot, pw, false, nil, false, true},
		{"SASLprep refuses the password", mustHash(t, "emoji 😀 pw"), "", "emoji 😀 pw", false, nil, false, false},
		{"changed meanwhile", "{BLF-CRYPT}" + string(bc), "", pw, true, nil, false, false},
		{"store error", "{BLF-CRYPT}" + string(bc), "", pw, false, errors.New("disk full"), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := &fakeAccounts{accounts: map[string]store.Account{
				"imp@example.org": {ID: 5, Address: "imp@example.org", PasswordHash: c.hash, SCRAMSHA256: c.scram, Enabled: true},
			}, stale: c.stale, swapErr: c.swapErr}
			var logs bytes.Buffer
			a := &Authenticator{Store: rs, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			remote := netip.MustParseAddr("192.0.2.7")
			if _, err := a.Authenticate(context.Background(), "imp@example.org", "wrong "+c.pw, remote); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
			if len(rs.swaps) != 0 {
				t.Fatal("a failed login rewrote the credentials")
			}
			acct, err := a.Authenticate(context.Background(), "imp@example.org", c.pw, remote)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			stored := rs.accounts["imp@example.org"]
			if acct.PasswordHash != stored.PasswordHash || acct.SCRAMSHA256 != stored.SCRAMSHA256 {
				t.Fatalf("returned credentials differ from the stored ones")
			}
			if c.swapErr != nil && !strings.Contains(logs.String(), "disk full") {
				t.Fatalf("store error not logged: %q", logs.String())
			}
			if got := stored.PasswordHash != c.hash; got != c.wantRehash {
				t.Fatalf("hash replaced = %v, want %v", got, c.wantRehash)
			}
			if c.wantRehash && NeedsRehash(stored.PasswordHash) {
				t.Fatalf("new hash %q is not argon2id", stored.PasswordHash)
			}
			if ok, err := VerifyPassword(stored.PasswordHash, c.pw); err != nil || !ok {
				t.Fatalf("stored hash does not verify the password: %v, %v", ok, err)
			}
			if got := stored.SCRAMSHA256 != c.scram; got != c.wantSCRAM {
				t.Fatalf("SCRAM credential replaced = %v, want %v", got, c.wantSCRAM)
			}
			if c.wantSCRAM {
				checkSCRAMCredential(t, stored.SCRAMSHA256, c.pw)
			}
			// The next login finds everything up to date.
			n := len(rs.swaps)
			if _, err := a.Authenticate(context.Background(), "imp@example.org", c.pw, remote); err != nil {
				t.Fatalf("second login: %v", err)
			}
			if c.swapErr == nil && !c.stale && len(rs.swaps) != n {
				t.Fatalf("second login rewrote the credentials again")
			}
		})
	}
}
