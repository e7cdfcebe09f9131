package directory_test

import (
	"context"
	"net/netip"

	"mailport/internal/auth"
	"mailport/internal/store"
)

// authCheck logs in the way the protocol servers do.
type authCheck struct{ st store.Store }

func (a *authCheck) login(ctx context.Context, login, password string) (store.Account, error) {
	au := &auth.Authenticator{Store: a.st}
	return au.Authenticate(ctx, login, password, netip.MustParseAddr("192.0.2.1"))
}
