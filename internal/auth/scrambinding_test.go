package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/xdg-go/scram"

	"mailport/internal/store"
	"mailport/internal/testutil"
)

// tlsPair returns both ends of a TLS 1.3 connection over a pipe, after
// the handshake.
func tlsPair(t *testing.T) (client, server *tls.Conn) {
	t.Helper()
	cert, pool := testutil.Cert(t, "mail.example.org")
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	client = tls.Client(a, &tls.Config{RootCAs: pool, ServerName: "mail.example.org"})
	server = tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return client, server
}

func TestTLSChannelBinding(t *testing.T) {
	client, server := tlsPair(t)
	cb := ConnChannelBinding(server)
	cs := client.ConnectionState()
	theirs, err := scram.NewTLSExporterBinding(&cs)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 9266 section 2: 32 bytes, the same on both ends.
	if len(cb) != 32 || !bytes.Equal(cb, theirs.Data) {
		t.Fatalf("server binding %x, client's %x", cb, theirs.Data)
	}
	plain, _ := net.Pipe()
	defer plain.Close()
	if ConnChannelBinding(plain) != nil || TLSChannelBinding(nil) != nil {
		t.Fatal("a binding without TLS")
	}
	if got := TLSChannelBinding(&tls.ConnectionState{}); got != nil {
		t.Fatalf("binding %x before the handshake", got)
	}

	if got := cb.SCRAMMechanisms(); !slices.Equal(got, []string{SCRAMSHA256Plus, SCRAMSHA256}) {
		t.Fatalf("mechanisms with TLS %v", got)
	}
	if got := ChannelBinding(nil).SCRAMMechanisms(); !slices.Equal(got, []string{SCRAMSHA256}) {
		t.Fatalf("mechanisms without TLS %v", got)
	}
	if m, ok := cb.SCRAMMechanism("scram-sha-256-plus"); !ok || m != SCRAMSHA256Plus {
		t.Fatalf("SCRAMMechanism(lower case) = %q, %v", m, ok)
	}
	if _, ok := ChannelBinding(nil).SCRAMMechanism(SCRAMSHA256Plus); ok {
		t.Fatal("-PLUS accepted without a binding")
	}
	if _, ok := cb.SCRAMMechanism("PLAIN"); ok {
		t.Fatal("PLAIN taken for SCRAM")
	}
}

// TestSCRAMExchangeChannelBinding: RFC 5802 section 6's rules for the
// gs2 flag, with the library's client in each of its modes.
func TestSCRAMExchangeChannelBinding(t *testing.T) {
	cred, err := NewSCRAMSHA256("right password")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"alice@example.org": {ID: 1, Address: "alice@example.org", SCRAMSHA256: cred, Enabled: true},
	}}
	l, _ := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l}
	remote := netip.MustParseAddr("203.0.113.11")
	client, err := scram.SHA256.NewClient("alice@example.org", "right password", "")
	if err != nil {
		t.Fatal(err)
	}
	cb := ChannelBinding(bytes.Repeat([]byte{7}, 32))
	exporter := func(data []byte) *scram.ClientConversation {
		return client.NewConversationWithChannelBinding(scram.ChannelBinding{Type: scram.ChannelBindingTLSExporter, Data: data})
	}

	cases := []struct {
		name string
		mech string
		cb   ChannelBinding
		conv *scram.ClientConversation
		want error // nil: logged in
	}{
		{"plus with the binding", SCRAMSHA256Plus, cb, exporter(cb), nil},
		{"plus without binding", SCRAMSHA256Plus, cb, client.NewConversation(), ErrSCRAMChannelBinding},
		{"plus with y", SCRAMSHA256Plus, cb, client.NewConversationAdvertisingChannelBinding(), ErrSCRAMChannelBinding},
		{"plus with another type", SCRAMSHA256Plus, cb, client.NewConversationWithChannelBinding(
			scram.ChannelBinding{Type: scram.ChannelBindingTLSServerEndpoint, Data: cb}), ErrSCRAMChannelBinding},
		{"plus on a connection without one", SCRAMSHA256Plus, nil, exporter(cb), ErrSCRAMChannelBinding},
		{"plain where plus is offered", SCRAMSHA256, cb, client.NewConversation(), nil},
		{"downgrade: y where plus is offered", SCRAMSHA256, cb, client.NewConversationAdvertisingChannelBinding(), ErrSCRAMChannelBinding},
		{"binding without plus", SCRAMSHA256, cb, exporter(cb), ErrSCRAMChannelBinding},
		{"y where plus is not offered", SCRAMSHA256, nil, client.NewConversationAdvertisingChannelBinding(), nil},
		{"binding where plus is not offered", SCRAMSHA256, nil, exporter(cb), ErrSCRAMChannelBinding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, acct, err := scramRun(t, c.conv, a.NewSCRAMSHA256(context.Background(), remote, c.mech, c.cb))
			if c.want == nil && (err != nil || acct.ID != 1) {
				t.Fatalf("login = %+v, %v; want account 1", acct, err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if d := l.Delay(remote); d != 0 {
		t.Fatal("channel binding refusals counted as failed logins")
	}

	// Binding data from another TLS session (a man in the middle) is
	// refused at the proof, as a wrong password.
	other := bytes.Repeat([]byte{8}, 32)
	if _, _, err := scramRun(t, exporter(other), a.NewSCRAMSHA256(context.Background(), remote, SCRAMSHA256Plus, cb)); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("another session's binding: err = %v, want ErrInvalidCredentials", err)
	}
}
