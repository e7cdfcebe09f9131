package auth

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// sha512CryptVectors: the first two are the examples of Drepper's
// specification for "Hello world!"; all were cross-checked with glibc's
// crypt(3) (python3 -c "import crypt; crypt.crypt(pw, salt)") and
// `openssl passwd -6 -salt saltstring 'Hello world!'`.
var sha512CryptVectors = []struct{ pw, hash string }{
	{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"we have a short salt string but not a short password", "$6$rounds=1400$anotherlongsalts$AP.vbZcNbWD30OfPAcUJe702LINHtb7RqILoLW9vJ/DHPMJyr6a.5rQHcOzBXuDOEzAqm8/9xW6EF/z3vOBQp0"},
	{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"", "$6$emptypw$TWmzQ8/uLn1BFSZ5Lkfum8lAba5vixF9Nl3Aiof.Praatq9nh0kkPuTdoVrIL6du0L6LAoadbPq.q.D7keveg/"},
	{"pässwörd ünïcode €", "$6$rounds=1000$x$/7o82Waj4oXpq6XxxOZz2s1mPkrn0Fk./xUHVt1yvcz3Zs2FgMD18dRzMu/hw3UN2zN7W233SQ7d2R06Jx1OM0"},
	// 200 bytes: longer than a SHA-512 digest, so the B and P sequences repeat.
	{strings.Repeat("x", 200), "$6$abcdefghijklmnop$NQmdZYyTZiBzxauWT51pbz4CykfZ5QuZjUyYs6SQHccQfiPrjNLaM6yE6kW1wImO/6eb0E1euwuEI0mUEI7IE0"},
}

func TestSHA512Crypt(t *testing.T) {
	for _, v := range sha512CryptVectors {
		for _, form := range []string{v.hash, "{SHA512-CRYPT}" + v.hash, "{sha512-crypt}" + v.hash} {
			ok, err := VerifyPassword(form, v.pw)
			if err != nil || !ok {
				t.Errorf("VerifyPassword(%q, %q) = %v, %v; want true", form, v.pw, ok, err)
			}
			ok, err = VerifyPassword(form, v.pw+"x")
			if err != nil || ok {
				t.Errorf("VerifyPassword(%q, wrong) = %v, %v; want false", form, ok, err)
			}
		}
	}
}

func TestBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("bcrypt pässword"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// x/crypto writes $2a$; Dovecot and PHP write $2y$, OpenBSD $2b$:
	// the same algorithm for every password.
	for _, v := range []string{"2a", "2b", "2y"} {
		hash := "$" + v + string(h[3:])
		for _, form := range []string{hash, "{BLF-CRYPT}" + hash} {
			if ok, err := VerifyPassword(form, "bcrypt pässword"); err != nil || !ok {
				t.Errorf("VerifyPassword(%q) = %v, %v; want true", form, ok, err)
			}
			if ok, err := VerifyPassword(form, "bcrypt password"); err != nil || ok {
				t.Errorf("VerifyPassword(%q, wrong) = %v, %v; want false", form, ok, err)
			}
		}
	}
}

func TestDovecotArgon2ID(t *testing.T) {
	h := mustHash(t, "argon pw 123")
	if ok, err := VerifyPassword("{ARGON2ID}"+h, "argon pw 123"); err != nil || !ok {
		t.Fatalf("VerifyPassword({ARGON2ID}...) = %v, %v", ok, err)
	}
}

func TestNormalizeImportedHash(t *testing.T) {
	argon := mustHash(t, "pw for import")
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcy := "$2y$" + string(bc[4:])
	sha := sha512CryptVectors[1].hash
	good := []struct{ in, want string }{
		{argon, argon},
		{"{ARGON2ID}" + argon, argon},
		{"{argon2id}" + argon, argon},
		{bcy, "{BLF-CRYPT}" + bcy},
		{"{BLF-CRYPT}" + bcy, "{BLF-CRYPT}" + bcy},
		{sha, "{SHA512-CRYPT}" + sha},
		{"{SHA512-CRYPT}" + sha, "{SHA512-CRYPT}" + sha},
	}
	for _, g := range good {
		got, err := NormalizeImportedHash(g.in)
		if err != nil || got != g.want {
			t.Errorf("NormalizeImportedHash(%q) = %q, %v; want %q", g.in, got, err, g.want)
			continue
		}
		// What is stored exports to a form that imports to the same.
		exp, err := ExportHash(got)
		if err != nil || !strings.HasPrefix(exp, "{") {
			t.Errorf("ExportHash(%q) = %q, %v", got, exp, err)
		}
		if again, err := NormalizeImportedHash(exp); err != nil || again != got {
			t.Errorf("round trip of %q: %q, %v", got, again, err)
		}
	}
	shaSalt17 := "$6$saltstringsaltstr$" + strings.Repeat("a", 86)
	bad := map[string]string{
		"empty":              "",
		"plain scheme":       "{PLAIN}secret",
		"md5-crypt":          "{MD5-CRYPT}$1$salt$hash",
		"unterminated":       "{BLF-CRYPT$2y$05$" + strings.Repeat("a", 53),
		"scheme mismatch":    "{BLF-CRYPT}" + sha,
		"bcrypt $2x$":        "$2x$" + string(bc[4:]),
		"bcrypt cost 31":     "$2y$31$" + string(bc[7:]),
		"bcrypt cost 03":     "$2y$03$" + string(bc[7:]),
		"bcrypt short":       bcy[:59],
		"bcrypt bad char":    bcy[:59] + "!",
		"sha rounds 999":     "$6$rounds=999$salt$" + strings.Repeat("a", 86),
		"sha rounds huge":    "$6$rounds=2000000$salt$" + strings.Repeat("a", 86),
		"sha rounds garbage": "$6$rounds=lots$salt$" + strings.Repeat("a", 86),
		"sha salt 17":        shaSalt17,
		"sha short digest":   "$6$salt$" + strings.Repeat("a", 85),
		"sha no digest":      "$6$salt",
		"argon2 huge memory": strings.Replace(argon, "m=19456", "m=4294967295", 1),
		"argon2i":            strings.Replace(argon, "$argon2id$", "$argon2i$", 1),
		"too long":           "{SHA512-CRYPT}$6$" + strings.Repeat("a", 600),
	}
	for name, h := range bad {
		t.Run(name, func(t *testing.T) {
			if got, err := NormalizeImportedHash(h); err == nil || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("NormalizeImportedHash(%q) = %q, %v; want an ErrMalformedHash", h, got, err)
			}
			if ok, err := VerifyPassword(h, "pw"); ok || err == nil {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want an error", h, ok, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	cases := map[string]bool{
		mustHash(t, "pw pw pw pw"):             false,
		"{ARGON2ID}" + mustHash(t, "pw pw pw"): false,
		"{BLF-CRYPT}$2y$05$abc":                true,
		sha512CryptVectors[0].hash:             true,
		"garbage":                              true,
	}
	for h, want := range cases {
		if got := NeedsRehash(h); got != want {
			t.Errorf("NeedsRehash(%q) = %v, want %v", h, got, want)
		}
	}
}

// FuzzNormalizeImportedHash: no input panics, and whatever is accepted is
// a hash VerifyPassword can check (a parse error there would lock the
// imported user out).
func FuzzNormalizeImportedHash(f *testing.F) {
	for _, v := range sha512CryptVectors {
		f.Add(v.hash)
	}
	f.Add("{BLF-CRYPT}$2y$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234")
	f.Add("{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("{X}")
	f.Fuzz(func(t *testing.T, h string) {
		stored, err := NormalizeImportedHash(h)
		if err != nil {
			return
		}
		scheme, value, err := splitScheme(stored)
		if err != nil {
			t.Fatalf("accepted %q but stored form %q does not parse: %v", h, stored, err)
		}
		switch scheme {
		case SchemeArgon2ID:
			_, err = parsePHC(value)
		case SchemeBlfCrypt:
			_, err = parseBcrypt(value)
		case SchemeSHA512Crypt:
			_, err = parseSHA512Crypt(value)
		}
		if err != nil {
			t.Fatalf("accepted %q but stored form %q does not parse: %v", h, stored, err)
		}
	})
}
