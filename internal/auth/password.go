// Package auth holds what every protocol server needs to check a login:
// argon2id password hashing, password strength rules, a per-client back-off
// for failed attempts, the Authenticator that ties them to the store, and
// the rule for when plaintext credentials may cross the wire.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is returned by VerifyPassword for a stored hash that is
// not an argon2id PHC string it can check.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Hashing parameters: OWASP's minimum recommendation for argon2id
// (19 MiB, 2 passes, 1 lane), which costs tens of milliseconds per login
// rather than seconds, so a busy IMAP server is not slowed down by its own
// password checks.
const (
	argonMemoryKiB = 19456
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Bounds on parameters read back from a stored hash. Hashes come from our
// own database, but a hash imported from elsewhere (migration, restore)
// must not make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxThreads   = 64
	minKeyLen    = 16
	maxKeyLen    = 128
	minSaltLen   = 8
	maxSaltLen   = 64
)

// b64 is the encoding the PHC string format uses: standard alphabet, no
// padding.
var b64 = base64.RawStdEncoding

// HashPassword returns the argon2id hash of pw as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash", checking every
// parameter against the bounds above.
func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	// "" "argon2id" "v=19" "m=..,t=..,p=.." salt hash
	if len(parts) != 6 || parts[0] != "" {
		return p, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return p, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("%w: parameter %q", ErrMalformedHash, kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("%w: parameter %q: %w", ErrMalformedHash, kv, err)
		}
		switch k {
		case "m":
			if n < 8 || n > maxMemoryKiB {
				return p, fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, n)
			}
			p.memory, seen[0] = uint32(n), true
		case "t":
			if n < 1 || n > maxTime {
				return p, fmt.Errorf("%w: time %d out of range", ErrMalformedHash, n)
			}
			p.time, seen[1] = uint32(n), true
		case "p":
			if n < 1 || n > maxThreads {
				return p, fmt.Errorf("%w: parallelism %d out of range", ErrMalformedHash, n)
			}
			p.threads, seen[2] = uint8(n), true
		default:
			return p, fmt.Errorf("%w: unknown parameter %q", ErrMalformedHash, k)
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return p, fmt.Errorf("%w: need m, t and p parameters", ErrMalformedHash)
	}
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, fmt.Errorf("%w: salt: %w", ErrMalformedHash, err)
	}
	if len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return p, fmt.Errorf("%w: salt length %d", ErrMalformedHash, len(p.salt))
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil {
		return p, fmt.Errorf("%w: hash: %w", ErrMalformedHash, err)
	}
	if len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return p, fmt.Errorf("%w: hash length %d", ErrMalformedHash, len(p.key))
	}
	return p, nil
}

// VerifyPassword reports whether pw matches hash: an argon2id PHC string
// made by HashPassword (or by another implementation with parameters
// within bounds), or a hash imported from another server in one of the
// forms NormalizeImportedHash accepts ({ARGON2ID}, {BLF-CRYPT},
// {SHA512-CRYPT}). The comparison is constant-time. A malformed hash is an
// error wrapping ErrMalformedHash (an unknown scheme ErrUnsupportedScheme),
// never a match.
func VerifyPassword(hash, pw string) (bool, error) {
	return verifyHash(hash, pw)
}

// verifyArgon2id checks pw against an argon2id PHC string.
func verifyArgon2id(hash, pw string) (bool, error) {
	p, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}
