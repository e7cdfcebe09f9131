package auth

import (
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Password hash schemes, named the way Dovecot prefixes them ("{SCHEME}hash"),
// so hashes exported from a Dovecot-based server import unchanged and
// mailport's own exports read the same way.
const (
	SchemeArgon2ID    = "ARGON2ID"
	SchemeBlfCrypt    = "BLF-CRYPT"
	SchemeSHA512Crypt = "SHA512-CRYPT"
)

// ErrUnsupportedScheme is a "{SCHEME}" prefix (or a bare hash form) that
// mailport cannot verify. It wraps ErrMalformedHash: to VerifyPassword an
// unknown scheme is as unusable as a broken hash.
var ErrUnsupportedScheme = fmt.Errorf("%w: unsupported scheme", ErrMalformedHash)

// Bounds on imported hashes: a hash from another server must not make a
// login cost seconds. bcrypt cost 16 is about 4 s on one core; Dovecot
// writes cost 5 by default. SHA-crypt rounds go up to 999,999,999 in the
// specification; passlib's default of 656,000 stays inside this bound.
const (
	maxBcryptCost       = 16
	minSHACryptRounds   = 1000
	maxSHACryptRounds   = 1000000
	defaultSHACryptRnds = 5000
	maxSHACryptSalt     = 16
	maxImportedHashLen  = 512
)

// NormalizeImportedHash checks a password hash brought from elsewhere and
// returns the form to store in store.Account.PasswordHash. It accepts
//
//	{ARGON2ID}$argon2id$v=19$m=..,t=..,p=..$salt$hash  (or the bare PHC string)
//	{BLF-CRYPT}$2y$05$...                             (or bare $2a$, $2b$, $2y$)
//	{SHA512-CRYPT}$6$[rounds=N$]salt$hash              (or bare $6$)
//
// with the scheme name in any case. argon2id is stored as the bare PHC
// string HashPassword writes; the other schemes keep their "{SCHEME}"
// prefix so the stored value says what it is. Parameters are checked
// against the same kind of bounds VerifyPassword applies, so an imported
// hash never makes a login allocate or spin without limit.
func NormalizeImportedHash(h string) (string, error) {
	if len(h) > maxImportedHashLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxImportedHashLen)
	}
	scheme, value, err := splitScheme(h)
	if err != nil {
		return "", err
	}
	switch scheme {
	case SchemeArgon2ID:
		if _, err := parsePHC(value); err != nil {
			return "", err
		}
		return value, nil
	case SchemeBlfCrypt:
		if _, err := parseBcrypt(value); err != nil {
			return "", err
		}
		return "{" + SchemeBlfCrypt + "}" + value, nil
	case SchemeSHA512Crypt:
		if _, err := parseSHA512Crypt(value); err != nil {
			return "", err
		}
		return "{" + SchemeSHA512Crypt + "}" + value, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, scheme)
}

// ExportHash returns a stored hash in the "{SCHEME}hash" form
// NormalizeImportedHash reads (and Dovecot's passdb understands), so an
// export carries passwords to another mailport or back to Dovecot.
func ExportHash(stored string) (string, error) {
	scheme, value, err := splitScheme(stored)
	if err != nil {
		return "", err
	}
	return "{" + scheme + "}" + value, nil
}

// NeedsRehash reports whether a stored hash is of another scheme than
// argon2id: after a successful login the Authenticator replaces it with
// HashPassword's, so imported bcrypt and SHA-crypt hashes fade away as
// users log in.
func NeedsRehash(stored string) bool {
	scheme, _, err := splitScheme(stored)
	return err != nil || scheme != SchemeArgon2ID
}

// splitScheme returns the scheme of a hash, from its "{SCHEME}" prefix or,
// without one, from its "$id$" form, and the hash without the prefix.
func splitScheme(h string) (scheme, value string, err error) {
	if strings.HasPrefix(h, "{") {
		end := strings.IndexByte(h, '}')
		if end < 0 {
			return "", "", fmt.Errorf("%w: unterminated {SCHEME} prefix", ErrMalformedHash)
		}
		scheme, value = strings.ToUpper(h[1:end]), h[end+1:]
		switch scheme {
		case SchemeArgon2ID:
			if !strings.HasPrefix(value, "$argon2id$") {
				return "", "", fmt.Errorf("%w: {%s} hash does not start with $argon2id$", ErrMalformedHash, scheme)
			}
		case SchemeBlfCrypt:
			if !strings.HasPrefix(value, "$2") {
				return "", "", fmt.Errorf("%w: {%s} hash does not start with $2", ErrMalformedHash, scheme)
			}
		case SchemeSHA512Crypt:
			if !strings.HasPrefix(value, "$6$") {
				return "", "", fmt.Errorf("%w: {%s} hash does not start with $6$", ErrMalformedHash, scheme)
			}
		default:
			return "", "", fmt.Errorf("%w: %q (use %s, %s or %s)", ErrUnsupportedScheme, scheme, SchemeArgon2ID, SchemeBlfCrypt, SchemeSHA512Crypt)
		}
		return scheme, value, nil
	}
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		return SchemeArgon2ID, h, nil
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return SchemeBlfCrypt, h, nil
	case strings.HasPrefix(h, "$6$"):
		return SchemeSHA512Crypt, h, nil
	}
	return "", "", fmt.Errorf("%w: neither {SCHEME} prefix nor a known $id$ form", ErrUnsupportedScheme)
}

// verifyHash checks pw against a stored hash of any supported scheme.
func verifyHash(stored, pw string) (bool, error) {
	scheme, value, err := splitScheme(stored)
	if err != nil {
		return false, err
	}
	switch scheme {
	case SchemeBlfCrypt:
		if _, err := parseBcrypt(value); err != nil {
			return false, err
		}
		err := bcrypt.CompareHashAndPassword([]byte(value), []byte(pw))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		}
		return false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	case SchemeSHA512Crypt:
		h, err := parseSHA512Crypt(value)
		if err != nil {
			return false, err
		}
		got := sha512CryptDigest([]byte(pw), []byte(h.salt), h.rounds)
		return subtle.ConstantTimeCompare([]byte(got), []byte(h.digest)) == 1, nil
	}
	return verifyArgon2id(value, pw)
}

// cryptAlphabet is the base64 alphabet of crypt(3) hashes (bcrypt and
// SHA-crypt alike): "./0-9A-Za-z".
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func inCryptAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(cryptAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// parseBcrypt checks "$2a$NN$<22 salt><31 hash>" (also $2b$, $2y$; $2x$ is
// refused: it marks hashes made by a buggy implementation for 8-bit
// passwords that the standard algorithm does not reproduce) and returns
// the cost.
func parseBcrypt(h string) (int, error) {
	// $2y$ + NN + $ + 53 characters.
	if len(h) != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$' {
		return 0, fmt.Errorf("%w: bcrypt hash must be $2y$NN$ and 53 characters", ErrMalformedHash)
	}
	if h[2] != 'a' && h[2] != 'b' && h[2] != 'y' {
		return 0, fmt.Errorf("%w: bcrypt version $2%c$ is not supported", ErrMalformedHash, h[2])
	}
	cost, err := strconv.Atoi(h[4:6])
	if err != nil || cost < bcrypt.MinCost || cost > maxBcryptCost {
		return 0, fmt.Errorf("%w: bcrypt cost %q outside %d..%d", ErrMalformedHash, h[4:6], bcrypt.MinCost, maxBcryptCost)
	}
	if !inCryptAlphabet(h[7:]) {
		return 0, fmt.Errorf("%w: bcrypt salt or hash has characters outside ./0-9A-Za-z", ErrMalformedHash)
	}
	return cost, nil
}

// shaCrypt is a parsed "$6$[rounds=N$]salt$digest".
type shaCrypt struct {
	rounds int
	salt   string
	digest string
}

// parseSHA512Crypt parses a SHA-crypt hash as Drepper's "Unix crypt using
// SHA-256 and SHA-512" specifies it: an optional rounds=N (default 5000),
// a salt of at most 16 characters without '$', and 86 characters of
// digest.
func parseSHA512Crypt(h string) (shaCrypt, error) {
	rest, ok := strings.CutPrefix(h, "$6$")
	if !ok {
		return shaCrypt{}, fmt.Errorf("%w: SHA512-CRYPT hash must start with $6$", ErrMalformedHash)
	}
	c := shaCrypt{rounds: defaultSHACryptRnds}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.Atoi(num)
		if !found || err != nil || n < minSHACryptRounds || n > maxSHACryptRounds {
			return shaCrypt{}, fmt.Errorf("%w: SHA512-CRYPT rounds %q outside %d..%d", ErrMalformedHash, num, minSHACryptRounds, maxSHACryptRounds)
		}
		c.rounds, rest = n, after
	}
	salt, digest, found := strings.Cut(rest, "$")
	if !found || len(salt) > maxSHACryptSalt || strings.ContainsAny(salt, "\x00\n:") {
		return shaCrypt{}, fmt.Errorf("%w: SHA512-CRYPT salt missing or longer than %d characters", ErrMalformedHash, maxSHACryptSalt)
	}
	if len(digest) != 86 || !inCryptAlphabet(digest) {
		return shaCrypt{}, fmt.Errorf("%w: SHA512-CRYPT digest must be 86 characters of ./0-9A-Za-z", ErrMalformedHash)
	}
	c.salt, c.digest = salt, digest
	return c, nil
}

// sha512CryptDigest computes the 86-character digest part of a SHA-crypt
// hash, following the numbered steps of Drepper's specification
// ("Unix crypt using SHA-256 and SHA-512", version 0.6, 2016).
func sha512CryptDigest(key, salt []byte, rounds int) string {
	// Steps 4-8: digest B = SHA512(key salt key).
	hb := sha512.New()
	hb.Write(key)
	hb.Write(salt)
	hb.Write(key)
	b := hb.Sum(nil)

	// Steps 1-3, 9-12: digest A = SHA512(key salt B-repeated-to-len(key)
	// then, for each bit of len(key) from the lowest, B for 1 and key for 0).
	ha := sha512.New()
	ha.Write(key)
	ha.Write(salt)
	for n := len(key); n > 0; n -= len(b) {
		ha.Write(b[:min(n, len(b))])
	}
	for n := len(key); n > 0; n >>= 1 {
		if n&1 == 1 {
			ha.Write(b)
		} else {
			ha.Write(key)
		}
	}
	a := ha.Sum(nil)

	// Steps 13-16: P = SHA512(key repeated len(key) times), stretched or
	// cut to len(key) bytes.
	hp := sha512.New()
	for range key {
		hp.Write(key)
	}
	p := repeatTo(hp.Sum(nil), len(key))

	// Steps 17-20: S = SHA512(salt repeated 16+A[0] times), cut to
	// len(salt) bytes.
	hs := sha512.New()
	for i := 0; i < 16+int(a[0]); i++ {
		hs.Write(salt)
	}
	s := repeatTo(hs.Sum(nil), len(salt))

	// Step 21: the rounds.
	c := a
	for i := 0; i < rounds; i++ {
		h := sha512.New()
		if i%2 == 1 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i%2 == 1 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	// Step 22: the bytes are taken in groups of three whose order rotates
	// (0,21,42), (22,43,1), (44,2,23), ... then byte 63 alone, each group
	// written as 4 characters, least significant 6 bits first.
	var out strings.Builder
	out.Grow(86)
	put := func(w uint32, n int) {
		for ; n > 0; n-- {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for i := 0; i < 21; i++ {
		t := [3]byte{c[i], c[i+21], c[i+42]}
		r := i % 3
		b2, b1, b0 := t[r], t[(r+1)%3], t[(r+2)%3]
		put(uint32(b2)<<16|uint32(b1)<<8|uint32(b0), 4)
	}
	put(uint32(c[63]), 2)
	return out.String()
}

// repeatTo returns d repeated and cut to n bytes.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}
