package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"mailport/internal/store"
)

// checkSCRAMCredential fails unless cred is a well-formed credential of pw
// with mailport's iteration count.
func checkSCRAMCredential(t *testing.T, cred, pw string) {
	t.Helper()
	c, err := parseSCRAM(cred)
	if err != nil {
		t.Fatalf("credential %q: %v", cred, err)
	}
	if c.Iters != scramIterations || len(c.Salt) != scramSaltLen {
		t.Fatalf("credential has %d iterations and a %d-byte salt", c.Iters, len(c.Salt))
	}
	want, err := deriveSCRAMSHA256(pw, []byte(c.Salt), c.Iters)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.StoredKey, want.StoredKey) || !bytes.Equal(c.ServerKey, want.ServerKey) {
		t.Fatalf("credential %q is not the password's", cred)
	}
}

// TestSCRAMRFC7677Vector derives the credential of RFC 7677 section 3's
// example and runs its exchange against it: the server's messages must be
// the RFC's, byte for byte.
func TestSCRAMRFC7677Vector(t *testing.T) {
	salt, err := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	if err != nil {
		t.Fatal(err)
	}
	c, err := deriveSCRAMSHA256("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	// The stored form reads back to the same credential.
	if back, err := parseSCRAM(formatSCRAM(c)); err != nil || !bytes.Equal(back.StoredKey, c.StoredKey) ||
		!bytes.Equal(back.ServerKey, c.ServerKey) || back.KeyFactors != c.KeyFactors {
		t.Fatalf("stored form %q reads back as %+v, %v", formatSCRAM(c), back, err)
	}
	srv, err := scram.SHA256.NewServer(func(user string) (scram.StoredCredentials, error) {
		if user != "user" {
			t.Errorf("lookup of %q", user)
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conv := srv.WithNonceGenerator(func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }).NewConversation()
	steps := []struct{ client, server string }{
		{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
		{"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	}
	for _, s := range steps {
		got, err := conv.Step(s.client)
		if err != nil || got != s.server {
			t.Fatalf("server answered %q, %v; want %q", got, err, s.server)
		}
	}
	if !conv.Valid() {
		t.Fatal("RFC 7677 exchange not valid")
	}
}

func TestNewSCRAMSHA256(t *testing.T) {
	a, err := NewSCRAMSHA256("pencil")
	if err != nil {
		t.Fatal(err)
	}
	checkSCRAMCredential(t, a, "pencil")
	if b, _ := NewSCRAMSHA256("pencil"); a == b {
		t.Fatal("two credentials of one password share a salt")
	}
	if _, err := NewSCRAMSHA256("emoji \U0001F600"); !errors.Is(err, ErrSCRAMPassword) {
		t.Fatalf("emoji password: err = %v, want ErrSCRAMPassword", err)
	}
}

func TestParseSCRAM(t *testing.T) {
	if _, err := NormalizeImportedSCRAM("{SCRAM-SHA-256}4096," + strings.Repeat("A", 600)); !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("overlong credential: %v", err)
	}
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	salt := "W22ZaJ0SNY7soEsUEjb6gQ=="
	good := "{SCRAM-SHA-256}4096," + salt + "," + key + "," + key
	cases := []struct {
		name, in, want string
	}{
		{"dovecot form", good, good},
		{"scheme in lower case", "{scram-sha-256}4096," + salt + "," + key + "," + key, good},
		{"no scheme", "4096," + salt + "," + key + "," + key, ""},
		{"other scheme", "{SCRAM-SHA-1}4096," + salt + "," + key + "," + key, ""},
		{"too few iterations", "{SCRAM-SHA-256}4095," + salt + "," + key + "," + key, ""},
		{"too many iterations", "{SCRAM-SHA-256}2000001," + salt + "," + key + "," + key, ""},
		{"short key", "{SCRAM-SHA-256}4096," + salt + "," + key[:20] + "," + key, ""},
		{"short salt", "{SCRAM-SHA-256}4096,AAAA," + key + "," + key, ""},
		{"bad base64", "{SCRAM-SHA-256}4096,%%%," + key + "," + key, ""},
		{"extra field", good + ",x", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// An import reads credentials as the exchange does.
			if got, err := NormalizeImportedSCRAM(c.in); got != c.want || (err == nil) != (c.want != "") {
				t.Fatalf("NormalizeImportedSCRAM(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			got, err := parseSCRAM(c.in)
			if c.want == "" {
				if !errors.Is(err, ErrMalformedHash) {
					t.Fatalf("parseSCRAM(%q) = %+v, %v; want ErrMalformedHash", c.in, got, err)
				}
				return
			}
			if err != nil || formatSCRAM(got) != c.want {
				t.Fatalf("parseSCRAM = %+v, %v; want %q", got, err, c.want)
			}
		})
	}
}

// scramLogin runs a whole exchange with the library's client, the way
// IMAP, POP3 and SMTP drive it, and returns the server-first message and
// the outcome.
func scramLogin(t *testing.T, a *Authenticator, user, pw, authz string, remote netip.Addr) (string, store.Account, error) {
	t.Helper()
	client, err := scram.SHA256.NewClient(user, pw, authz)
	if err != nil {
		t.Fatal(err)
	}
	return scramRun(t, client.NewConversation(), a.NewSCRAMSHA256(context.Background(), remote, SCRAMSHA256, nil))
}

// scramRun drives exchange x with the client conversation cc.
func scramRun(t *testing.T, cc *scram.ClientConversation, x *SCRAMExchange) (string, store.Account, error) {
	t.Helper()
	if ch, done, err := x.Next(nil); ch != nil || done || err != nil {
		t.Fatalf("Next(nil) = %q, %v, %v; want an empty challenge", ch, done, err)
	}
	c1, err := cc.Step("")
	if err != nil {
		t.Fatal(err)
	}
	s1, done, err := x.Next([]byte(c1))
	if err != nil || done {
		return "", store.Account{}, err
	}
	c2, err := cc.Step(string(s1))
	if err != nil {
		t.Fatal(err)
	}
	s2, done, err := x.Next([]byte(c2))
	if err != nil || done {
		if done && err == nil {
			t.Fatal("exchange done without the server-final message")
		}
		return string(s1), store.Account{}, err
	}
	if _, err := cc.Step(string(s2)); err != nil || !cc.Valid() {
		t.Fatalf("client refused the server signature %q: %v", s2, err)
	}
	if ch, done, err := x.Next([]byte{}); ch != nil || !done || err != nil {
		t.Fatalf("after the empty response: %q, %v, %v; want done", ch, done, err)
	}
	return string(s1), x.Account(), nil
}

// saltOf returns the s= and i= attributes of a server-first message.
func saltOf(serverFirst string) string {
	i := strings.Index(serverFirst, ",s=")
	if i < 0 {
		return ""
	}
	return serverFirst[i:]
}

func TestSCRAMExchange(t *testing.T) {
	cred, err := NewSCRAMSHA256("right password")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"alice@example.org":          {ID: 1, Address: "alice@example.org", SCRAMSHA256: cred, Enabled: true},
		"off@example.org":            {ID: 2, Address: "off@example.org", SCRAMSHA256: cred, Enabled: false},
		"old@example.org":            {ID: 3, Address: "old@example.org", Enabled: true},
		"broken@example.org":         {ID: 4, Address: "broken@example.org", SCRAMSHA256: "{SCRAM-SHA-256}x", Enabled: true},
		"user@xn--bcher-kva.example": {ID: 5, Address: "user@xn--bcher-kva.example", SCRAMSHA256: cred, Enabled: true},
	}}
	var logs bytes.Buffer
	l, clock := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	remote := netip.MustParseAddr("203.0.113.9")

	cases := []struct {
		name, user, pw, authz string
		wantID                int64 // 0: ErrInvalidCredentials
		reason                string
	}{
		{"ok", "alice@example.org", "right password", "", 1, ""},
		{"login case", "Alice@Example.ORG", "right password", "", 1, ""},
		{"authzid is the login", "alice@example.org", "right password", "ALICE@example.org", 1, ""},
		{"authzid in the other IDN form", "user@bücher.example", "right password", "user@xn--bcher-kva.example", 5, ""},
		{"wrong password", "alice@example.org", "Wr0ng-Pw-7731", "", 0, "wrong password"},
		{"unknown user", "nobody@example.org", "right password", "", 0, "unknown account"},
		{"disabled", "off@example.org", "right password", "", 0, "account disabled"},
		{"no credential yet", "old@example.org", "right password", "", 0, "no SCRAM credential"},
		{"unusable credential", "broken@example.org", "right password", "", 0, "unusable SCRAM credential"},
		{"overlong login", strings.Repeat("a", 400) + "@example.org", "right password", "", 0, "unknown account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l.Success(remote)
			logs.Reset()
			s1, acct, err := scramLogin(t, a, c.user, c.pw, c.authz, remote)
			if c.wantID != 0 {
				if err != nil || acct.ID != c.wantID {
					t.Fatalf("login = %+v, %v; want account %d", acct, err, c.wantID)
				}
				return
			}
			if !errors.Is(err, ErrInvalidCredentials) || acct.ID != 0 {
				t.Fatalf("login = %+v, %v; want ErrInvalidCredentials", acct, err)
			}
			if out := logs.String(); !strings.Contains(out, "login failed") || !strings.Contains(out, `reason="`+c.reason+`"`) {
				t.Fatalf("failure log %q lacks reason %q", out, c.reason)
			}
			if l.Delay(remote) != 0 || len(clock.sleeps()) != 0 {
				// One failure is free; the count is checked below.
				t.Fatal("a single failure was delayed")
			}
			// RFC 5802 section 5.1: a login without a credential shows a
			// salt and iteration count that stay the same, like a real
			// one's.
			if again, _, _ := scramLogin(t, a, c.user, c.pw, c.authz, remote); saltOf(again) != saltOf(s1) || saltOf(s1) == "" {
				t.Fatalf("salt changed between attempts: %q then %q", saltOf(s1), saltOf(again))
			}
			if !strings.HasSuffix(s1, ",i=100000") {
				t.Fatalf("server-first %q does not carry the usual iteration count", s1)
			}
		})
	}
	l.Success(remote)
	for range 3 {
		if _, _, err := scramLogin(t, a, "alice@example.org", "nope", "", remote); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("err = %v", err)
		}
	}
	if d := l.Delay(remote); d == 0 {
		t.Fatal("SCRAM failures not counted by the limiter")
	}
}

func TestSCRAMExchangeRefusals(t *testing.T) {
	cred, err := NewSCRAMSHA256("right password")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeAccounts{accounts: map[string]store.Account{
		"alice@example.org": {ID: 1, Address: "alice@example.org", SCRAMSHA256: cred, Enabled: true},
	}}
	l, _ := testLimiter(100)
	a := &Authenticator{Store: fs, Limiter: l}
	remote := netip.MustParseAddr("203.0.113.10")

	if _, _, err := scramLogin(t, a, "alice@example.org", "right password", "bob@example.org", remote); !errors.Is(err, ErrAuthzid) {
		t.Fatalf("other authzid: err = %v, want ErrAuthzid", err)
	}
	for _, msg := range []string{"garbage", "n,,n=alice@example.org", ""} {
		x := a.NewSCRAMSHA256(context.Background(), remote, SCRAMSHA256, nil)
		if _, done, err := x.Next([]byte(msg)); !done || !errors.Is(err, ErrSCRAMMalformed) {
			t.Fatalf("client-first %q: done %v, err %v; want ErrSCRAMMalformed", msg, done, err)
		}
	}
	// An empty client-first message for -PLUS (an empty initial
	// response): refused, not a panic on the missing gs2 flag.
	x := a.NewSCRAMSHA256(context.Background(), remote, SCRAMSHA256Plus, ChannelBinding(make([]byte, 32)))
	if _, done, err := x.Next([]byte{}); !done || !errors.Is(err, ErrSCRAMMalformed) {
		t.Fatalf("empty -PLUS client-first: done %v, err %v; want ErrSCRAMMalformed", done, err)
	}
	if d := l.Delay(remote); d != 0 {
		t.Fatal("refusals before a proof counted as failed logins")
	}

	fs.err = errors.New("disk on fire")
	x = a.NewSCRAMSHA256(context.Background(), remote, SCRAMSHA256, nil)
	if _, done, err := x.Next([]byte("n,,n=alice@example.org,r=abc")); !done || !errors.Is(err, fs.err) {
		t.Fatalf("store failure: done %v, err %v", done, err)
	}
}
