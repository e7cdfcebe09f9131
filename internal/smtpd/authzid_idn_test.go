package smtpd

import "testing"

// TestAuthzidIDN: the authorization identity is compared with the login
// as logins are looked up (auth.LoginKey), so the U-label and the A-label
// form of one address are the same user; another user is still refused.
func TestAuthzidIDN(t *testing.T) {
	w := idnWorld(t)
	cfg := w.config()
	cfg.Submission = true
	cfg.Outbound = &queueRecorder{}
	_, addr := start(t, cfg, false)
	for _, tc := range []struct {
		authz, authc string
		code         int
		enhanced     string
	}{
		{"user@bücher.test", "USER@XN--BCHER-KVA.TEST", 235, ""},
		{"User@xn--bcher-kva.test", "user@Bücher.test", 235, ""},
		{"other@bücher.test", "user@xn--bcher-kva.test", 535, "5.7.8"},
	} {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.test", 250, "")
		c.cmd("AUTH PLAIN "+b64(tc.authz+"\x00"+tc.authc+"\x00"+testPassword), tc.code, tc.enhanced)
	}
}
