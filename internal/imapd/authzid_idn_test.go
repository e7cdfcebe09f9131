package imapd

import (
	"context"
	"encoding/base64"
	"testing"

	"mailport/internal/directory"
)

// TestAuthenticateAuthzidIDN: the authorization identity is compared with
// the login as logins are looked up (auth.LoginKey), so the U-label and the
// A-label form of one address are the same user; another user is still
// refused.
func TestAuthenticateAuthzidIDN(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	if _, err := ts.dir.AddDomain(ctx, "bücher.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.dir.AddUser(ctx, directory.NewUser{Address: "user@bücher.example", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ authz, authc, want, code string }{
		{"user@bücher.example", "USER@XN--BCHER-KVA.EXAMPLE", "OK", ""},
		{"User@xn--bcher-kva.example", "user@Bücher.example", "OK", ""},
		{"other@bücher.example", "user@xn--bcher-kva.example", "NO", "AUTHORIZATIONFAILED"},
	} {
		c := ts.conn()
		c.cmd("a AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte(tc.authz+"\x00"+tc.authc+"\x00"+testPassword))).status(tc.want)
		if tc.code != "" {
			c.code(tc.code)
		}
	}
}
