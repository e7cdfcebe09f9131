package auth

import (
	"context"
	"net/netip"
	"testing"

	"mailport/internal/store"
)

// FuzzSCRAMExchange: whatever a client sends as its two SCRAM messages,
// for either mechanism, the exchange answers with a challenge or an
// error and never panics (the messages come from the network before any
// login), and no garbage logs anyone in.
func FuzzSCRAMExchange(f *testing.F) {
	f.Add([]byte("n,,n=alice@example.org,r=abc"), []byte("c=biws,r=abcdef,p=AAAA"), false)
	f.Add([]byte("p=tls-exporter,,n=alice@example.org,r=abc"), []byte("c=cD10bHMtZXhwb3J0ZXIsLA==,r=abc,p="), true)
	f.Add([]byte("y,a=bob@example.org,n=alice@example.org,r="), []byte(""), false)
	f.Add([]byte(""), []byte(""), true)
	f.Add([]byte("p"), []byte("c="), true)
	cred, err := NewSCRAMSHA256("right password")
	if err != nil {
		f.Fatal(err)
	}
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"alice@example.org": {ID: 1, Address: "alice@example.org", SCRAMSHA256: cred, Enabled: true},
	}}
	a := &Authenticator{Store: fs}
	remote := netip.MustParseAddr("203.0.113.12")
	f.Fuzz(func(t *testing.T, first, final []byte, plus bool) {
		mech, cb := SCRAMSHA256, ChannelBinding(nil)
		if plus {
			mech, cb = SCRAMSHA256Plus, ChannelBinding(make([]byte, 32))
		}
		x := a.NewSCRAMSHA256(context.Background(), remote, mech, cb)
		if _, done, err := x.Next(first); done || err != nil {
			return
		}
		// The server-final message is the answer to a proof that checked.
		if _, done, err := x.Next(final); err == nil && !done {
			t.Fatalf("logged in with client-first %q, client-final %q", first, final)
		}
	})
}
