package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerifyRoundtrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", "ünïcödé pässwörd", strings.Repeat("x", 1000)} {
		h, err := HashPassword(pw)
		if err != nil {
			t.Fatalf("HashPassword: %v", err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash %q lacks the expected PHC prefix", h)
		}
		ok, err := VerifyPassword(h, pw)
		if err != nil || !ok {
			t.Fatalf("VerifyPassword(own hash) = %v, %v; want true, nil", ok, err)
		}
		ok, err = VerifyPassword(h, pw+"x")
		if err != nil || ok {
			t.Fatalf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	a, err := HashPassword("same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	cases := map[string]string{
		"empty":          "",
		"bcrypt $2x$":    "$2x$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":        "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"old version":    "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"missing param":  "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"unknown param":  "$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key,
		"bad number":     "$argon2id$v=19$m=lots,t=2,p=1$" + salt + "$" + key,
		"huge memory":    "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"zero time":      "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"zero threads":   "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"bad salt b64":   "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"short salt":     "$argon2id$v=19$m=19456,t=2,p=1$AAAA$" + key,
		"bad key b64":    "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$****",
		"short key":      "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAA",
		"too few fields": "$argon2id$v=19$" + salt + "$" + key,
		"extra field":    good + "$x",
		"no leading $":   strings.TrimPrefix(good, "$"),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := VerifyPassword(h, "pw")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want false, ErrMalformedHash", h, ok, err)
			}
		})
	}
}

func TestFallbackDummyHashIsWellFormed(t *testing.T) {
	ok, err := VerifyPassword(fallbackDummyHash, "anything")
	if err != nil || ok {
		t.Fatalf("VerifyPassword(fallbackDummyHash) = %v, %v; want false, nil", ok, err)
	}
}

func TestCheckPasswordStrength(t *testing.T) {
	cases := []struct {
		pw   string
		want error
	}{
		{"", ErrPasswordTooShort},
		{"abc", ErrPasswordTooShort},
		{"Xy7#pQ2", ErrPasswordTooShort},
		{"äöüßäöü", ErrPasswordTooShort}, // 7 characters, 14 bytes
		{"aaaaaaaa", ErrPasswordRepeated},
		{"zzzzzzzzzzzzzzzzzzzz", ErrPasswordRepeated},
		{"€€€€€€€€", ErrPasswordRepeated},
		{"password", ErrPasswordCommon},
		{"PassWord", ErrPasswordCommon},
		{"12345678", ErrPasswordCommon},
		{"qwertyui", ErrPasswordCommon},
		{"iloveyou", ErrPasswordCommon},
		{"tab\there1", ErrPasswordInvalid},
		{"line\nbreak", ErrPasswordInvalid},
		{"bad\xffutf8xx", ErrPasswordInvalid},
		{strings.Repeat("ab", 600), ErrPasswordTooLong},
		{"Xy7#pQ2z", nil},
		{"correct horse battery staple", nil},
		{"äöüßäöüß", nil},
		{"aaaaaaab", nil},
	}
	for _, c := range cases {
		t.Run(c.pw, func(t *testing.T) {
			err := CheckPasswordStrength(c.pw)
			if !errors.Is(err, c.want) {
				t.Fatalf("CheckPasswordStrength(%q) = %v; want %v", c.pw, err, c.want)
			}
		})
	}
	if got := ErrPasswordTooShort.Error(); got != "password too short: at least 8 characters" {
		t.Fatalf("too-short message = %q", got)
	}
}
