package directory_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/xdg-go/scram"

	"mailport/internal/auth"
	"mailport/internal/store"
)

// authCheck logs in the way the protocol servers do.
type authCheck struct{ st store.Store }

func (a *authCheck) login(ctx context.Context, login, password string) (store.Account, error) {
	au := &auth.Authenticator{Store: a.st}
	return au.Authenticate(ctx, login, password, netip.MustParseAddr("192.0.2.1"))
}

// scramLogin logs in with SCRAM-SHA-256 (xdg-go/scram's client against
// auth.SCRAMExchange), as IMAP, POP3 and submission drive it.
func (a *authCheck) scramLogin(ctx context.Context, login, password string) (store.Account, error) {
	au := &auth.Authenticator{Store: a.st}
	client, err := scram.SHA256.NewClient(login, password, "")
	if err != nil {
		return store.Account{}, err
	}
	cc := client.NewConversation()
	x := au.NewSCRAMSHA256(ctx, netip.MustParseAddr("192.0.2.1"), auth.SCRAMSHA256, nil)
	msg, err := cc.Step("")
	for err == nil {
		var challenge []byte
		var done bool
		challenge, done, err = x.Next([]byte(msg))
		if err != nil || done {
			break
		}
		msg, err = cc.Step(string(challenge))
		if err == nil && cc.Done() {
			if !cc.Valid() {
				return store.Account{}, fmt.Errorf("server signature refused")
			}
			msg = "" // RFC 4422 section 5: the empty answer to the server-final message
		}
	}
	if err != nil {
		return store.Account{}, err
	}
	return x.Account(), nil
}
