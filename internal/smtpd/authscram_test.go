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
	mech string
	conv *scram.ClientConversation
}

func newSCRAMClient(t *testing.T, user, pw, authz string) *scramClient {
	t.Helper()
	return &scramClient{mech: "SCRAM-SHA-256", conv: scramUser(t, user, pw, authz).NewConversation()}
}

func scramUser(t *testing.T, user, pw, authz string) *scram.Client {
	t.Helper()
	c, err := scram.SHA256.NewClient(user, pw, authz)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *scramClient) Start() (string, []byte, error) {
	first, err := c.conv.Step("")
	return c.mech, []byte(first), err
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

// TestSubmissionSCRAMPlus: SCRAM-SHA-256-PLUS with tls-exporter (RFC 5802
// section 6, RFC 9266) is in EHLO's AUTH on TLS only, implicit or after
// STARTTLS; a login bound to the connection succeeds, one bound to
// another session fails like a wrong password, and a client that
// supports binding but did not see -PLUS (a downgrade) is refused.
func TestSubmissionSCRAMPlus(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Submission = true
	_, addr := start(t, cfg, false)
	_, tlsAddr := start(t, cfg, true)

	c := dialRaw(t, addr)
	if ehlo := c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN SCRAM-SHA-256"); strings.Contains(ehlo, "PLUS") {
		t.Fatalf("-PLUS offered without TLS: %q", ehlo)
	}
	c.cmd("AUTH SCRAM-SHA-256-PLUS", 504, "")

	dials := map[string]func() (*smtp.Client, error){
		"implicit TLS":   func() (*smtp.Client, error) { return smtp.DialTLS(tlsAddr, clientTLS) },
		"after STARTTLS": func() (*smtp.Client, error) { return smtp.DialStartTLS(addr, clientTLS) },
	}
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			login := func(mech string, conv func(cb scram.ChannelBinding, u *scram.Client) *scram.ClientConversation) (*smtp.Client, error) {
				t.Helper()
				c, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if err := c.Hello("client.test"); err != nil {
					t.Fatal(err)
				}
				if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN SCRAM-SHA-256-PLUS SCRAM-SHA-256" {
					t.Fatalf("AUTH mechanisms %q", mechs)
				}
				cs, _ := c.TLSConnectionState()
				cb, err := scram.NewTLSExporterBinding(&cs)
				if err != nil {
					t.Fatal(err)
				}
				sc := &scramClient{mech: mech, conv: conv(cb, scramUser(t, "alice@example.test", testPassword, ""))}
				err = c.Auth(sc)
				if err == nil && !sc.conv.Valid() {
					t.Fatal("235 without a server signature the client checked")
				}
				return c, err
			}

			bound := func(cb scram.ChannelBinding, u *scram.Client) *scram.ClientConversation {
				return u.NewConversationWithChannelBinding(cb)
			}
			cl, err := login("SCRAM-SHA-256-PLUS", bound)
			if err != nil {
				t.Fatalf("bound login: %v", err)
			}
			if err := cl.Mail("alice@example.test", nil); err != nil {
				t.Fatalf("MAIL after the bound login: %v", err)
			}

			_, err = login("SCRAM-SHA-256-PLUS", func(cb scram.ChannelBinding, u *scram.Client) *scram.ClientConversation {
				cb.Data = make([]byte, len(cb.Data))
				return u.NewConversationWithChannelBinding(cb)
			})
			if smtpCode(err) != 535 || !strings.Contains(err.Error(), "authentication credentials invalid") {
				t.Fatalf("another session's binding: %v, want 535 as for a wrong password", err)
			}

			_, err = login("SCRAM-SHA-256", func(_ scram.ChannelBinding, u *scram.Client) *scram.ClientConversation {
				return u.NewConversationAdvertisingChannelBinding()
			})
			if smtpCode(err) != 535 || !strings.Contains(err.Error(), "channel binding") {
				t.Fatalf("downgrade: %v, want 535 for the channel binding", err)
			}

			if _, err := login("SCRAM-SHA-256", func(_ scram.ChannelBinding, u *scram.Client) *scram.ClientConversation {
				return u.NewConversation()
			}); err != nil {
				t.Fatalf("SCRAM-SHA-256 without binding over TLS: %v", err)
			}
		})
	}
}
