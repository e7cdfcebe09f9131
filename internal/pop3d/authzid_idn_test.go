package pop3d

import (
	"strings"
	"testing"

	"mailport/internal/store"
)

// TestAuthPlainAuthzidIDN: an authorization identity is compared with the
// login as logins are looked up (auth.LoginKey), so the U-label and the
// A-label form of one address are the same user; another user is still
// refused.
func TestAuthPlainAuthzidIDN(t *testing.T) {
	e := newTestEnv(t)
	e.store.mu.Lock()
	e.store.accounts["user@xn--bcher-kva.example"] = store.Account{ID: aliceID, Address: "user@xn--bcher-kva.example", PasswordHash: passwordHash(t), Enabled: true}
	e.store.mu.Unlock()
	for _, tc := range []struct{ authz, authc, want string }{
		{"user@bücher.example", "USER@XN--BCHER-KVA.EXAMPLE", "+OK"},
		{"User@xn--bcher-kva.example", "user@Bücher.example", "+OK"},
		{"other@bücher.example", "user@xn--bcher-kva.example", "-ERR [AUTH]"},
	} {
		c := e.dial()
		if r := c.cmd("AUTH PLAIN " + b64(tc.authz+"\x00"+tc.authc+"\x00"+alicePassword)); !strings.HasPrefix(r, tc.want) {
			t.Errorf("authzid %q, login %q: got %q, want %q", tc.authz, tc.authc, r, tc.want)
		}
		// The maildrop lock is released when the session ends.
		c.ok("QUIT")
		c.expectClosed()
	}
}
