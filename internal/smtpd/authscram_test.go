package smtpd

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/xdg-go/scram"
)

// scramClient is xdg-go/scram's client as a go-sasl sasl.Client, so that
// go-smtp's client runs the exchange over the wire.
type scramClient struct {
	conv *scram.ClientConversation
}

func newSCRAMClient(t *testing.T, user, pw, authz string) *scramClient {
	t.Helper()
	c, err := scram.SHA256.NewClient(user, pw, authz)
	if err != nil {
		t.Fatal(err)
	}
	return &scramClient{conv: c.NewConversation()}
}

func (c *scramClient) Start() (string, []byte, error) {
	first, err := c.conv.Step("")
	return "SCRAM-SHA-256", []byte(first), err
}

func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	resp, err := c.conv.Step(string(challenge))
	return []byte(resp), err
}

// scramLogin authenticates with SCRAM-SHA-256 on a new submission
// connection and returns the client (closed with the test) and Auth's
// error.
func scramLogin(t *testing.T, addr, user, pw, authz string) (*smtp.Client, error) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := newSCRAMClient(t, user, pw, authz)
	err = c.Auth(sc)
	if err == nil && !sc.conv.Valid() {
		t.Fatal("235 without a server signature the client checked")
	}
	return c, err
}

// smtpCode is the reply code of a failed command (0 for another error).
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSubmissionSCRAM(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN SCRAM-SHA-256")

	cl, err := scramLogin(t, addr, "alice@example.test", testPassword, "")
	if err != nil {
		t.Fatalf("SCRAM login: %v", err)
	}
	if err := cl.Mail("alice@example.test", nil); err != nil {
		t.Fatalf("MAIL after SCRAM: %v", err)
	}

	_, wrong := scramLogin(t, addr, "alice@example.test", "wrong password", "")
	_, unknown := scramLogin(t, addr, "nobody@example.test", testPassword, "")
	_, disabled := scramLogin(t, addr, "carol@example.test", testPassword, "")
	if smtpCode(wrong) != 535 || wrong.Error() != unknown.Error() || disabled.Error() != wrong.Error() {
		t.Fatalf("wrong password %v, unknown user %v, disabled account %v; want the same 535", wrong, unknown, disabled)
	}
	if _, err := scramLogin(t, addr, "alice@example.test", testPassword, "bob@example.test"); smtpCode(err) != 535 {
		t.Fatalf("other authzid: %v, want 535", err)
	}

	c = dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("AUTH SCRAM-SHA-256 "+b64("not scram"), 501, "5.5.2")
	c.cmd("AUTH SCRAM-SHA-256", 334, "")
	c.cmd("*", 501, "")
}

// TestSubmissionSCRAMCredential: a PLAIN login fills a missing credential
// and a password change replaces it.
func TestSubmissionSCRAMCredential(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false)
	ctx := t.Context()

	bob, err := w.st.GetAccountByAddress(ctx, "bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.st.ReplaceCredentials(ctx, bob.ID, bob.PasswordHash, bob.PasswordHash, ""); err != nil || !ok {
		t.Fatalf("clearing the credential: %v, %v", ok, err)
	}
	if _, err := scramLogin(t, addr, "bob@example.test", testPassword, ""); smtpCode(err) != 535 {
		t.Fatalf("SCRAM without a credential: %v, want 535", err)
	}
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("AUTH PLAIN "+b64("\x00bob@example.test\x00"+testPassword), 235, "")
	if _, err := scramLogin(t, addr, "bob@example.test", testPassword, ""); err != nil {
		t.Fatalf("SCRAM after a PLAIN login: %v", err)
	}

	const newPassword = "a new password for scram"
	if err := w.dirs.SetPassword(ctx, "bob@example.test", newPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := scramLogin(t, addr, "bob@example.test", testPassword, ""); smtpCode(err) != 535 {
		t.Fatalf("old password after the change: %v, want 535", err)
	}
	if _, err := scramLogin(t, addr, "bob@example.test", newPassword, ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestSubmissionSCRAMNeedsTLSAwayFromLoopback(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false, func(l net.Listener) net.Listener { return fakeRemote{l} })
	c := dialRaw(t, addr)
	if ehlo := c.cmd("EHLO client.test", 250, ""); strings.Contains(ehlo, "SCRAM") {
		t.Errorf("SCRAM offered in the clear to a remote client: %q", ehlo)
	}
	c.cmd("AUTH SCRAM-SHA-256", 530, "5.7.0")
}
