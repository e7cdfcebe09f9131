package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// SCRAMSHA256 names the SASL mechanism (RFC 7677) and, in braces, the
// stored credential's scheme, as Dovecot does.
const SCRAMSHA256 = "SCRAM-SHA-256"

// scramIterations is the iteration count of new credentials. RFC 7677
// section 4 asks for at least 4096; the credential is a PBKDF2 digest of
// the password that, unlike argon2id, is not memory-hard, so a stolen
// database is guessed against at its iteration count. 100,000 costs about
// 15 ms, half an argon2id hash, on the server when a password is set and
// on the client at every login (most clients do not keep the salted
// password), which a phone opening a few IMAP connections still pays
// without notice.
const scramIterations = 100_000

// Bounds on stored credentials, checked when one is read or imported:
// RFC 7677 section 4's minimum, and a maximum that keeps a client's work
// per login under a second.
const (
	minSCRAMIterations = 4096
	maxSCRAMIterations = 2_000_000
	scramSaltLen       = 16
)

// ErrSCRAMPassword is a password SASLprep (RFC 4013) refuses, such as one
// with unassigned code points like emoji: SCRAM clients cannot send it
// (RFC 5802 section 2.2), so it gets no SCRAM credential and logs in with
// PLAIN only.
var ErrSCRAMPassword = errors.New("auth: password not usable with SCRAM (SASLprep refuses it)")

// NewSCRAMSHA256 returns the SCRAM-SHA-256 credential of password with a
// random salt, in Dovecot's form
// "{SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey" (standard base64).
func NewSCRAMSHA256(password string) (string, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: read salt: %w", err)
	}
	c, err := deriveSCRAMSHA256(password, salt, scramIterations)
	if err != nil {
		return "", err
	}
	return formatSCRAM(c), nil
}

// deriveSCRAMSHA256 computes StoredKey and ServerKey of password (RFC 5802
// section 3): SaltedPassword = Hi(SASLprep(password), salt, i), ClientKey =
// HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey), ServerKey =
// HMAC(SaltedPassword, "Server Key"). The library's client does exactly
// this for its own proof, so server and clients cannot disagree.
func deriveSCRAMSHA256(password string, salt []byte, iterations int) (scram.StoredCredentials, error) {
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		return scram.StoredCredentials{}, ErrSCRAMPassword
	}
	c, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("auth: derive SCRAM-SHA-256 credential: %w", err)
	}
	return c, nil
}

var scramB64 = base64.StdEncoding

func formatSCRAM(c scram.StoredCredentials) string {
	return fmt.Sprintf("{%s}%d,%s,%s,%s", SCRAMSHA256, c.Iters,
		scramB64.EncodeToString([]byte(c.Salt)), scramB64.EncodeToString(c.StoredKey), scramB64.EncodeToString(c.ServerKey))
}

// parseSCRAM reads a credential NewSCRAMSHA256 wrote (or Dovecot's
// passdb holds: the scheme name in any case), checking the iteration
// count and lengths.
func parseSCRAM(s string) (scram.StoredCredentials, error) {
	var c scram.StoredCredentials
	prefix := "{" + SCRAMSHA256 + "}"
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return c, fmt.Errorf("%w: SCRAM credential must start with %s", ErrMalformedHash, prefix)
	}
	parts := strings.Split(s[len(prefix):], ",")
	if len(parts) != 4 {
		return c, fmt.Errorf("%w: SCRAM credential must be iterations,salt,StoredKey,ServerKey", ErrMalformedHash)
	}
	iters, err := strconv.Atoi(parts[0])
	if err != nil || iters < minSCRAMIterations || iters > maxSCRAMIterations {
		return c, fmt.Errorf("%w: SCRAM iterations %q outside %d..%d", ErrMalformedHash, parts[0], minSCRAMIterations, maxSCRAMIterations)
	}
	salt, err := scramB64.DecodeString(parts[1])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return c, fmt.Errorf("%w: SCRAM salt must be %d to %d bytes of base64", ErrMalformedHash, minSaltLen, maxSaltLen)
	}
	keys := make([][]byte, 2)
	for i, p := range parts[2:] {
		if keys[i], err = scramB64.DecodeString(p); err != nil || len(keys[i]) != sha256.Size {
			return c, fmt.Errorf("%w: SCRAM keys must be %d bytes of base64", ErrMalformedHash, sha256.Size)
		}
	}
	c.Iters, c.Salt, c.StoredKey, c.ServerKey = iters, string(salt), keys[0], keys[1]
	return c, nil
}

// scramOutdated reports whether a stored credential should be derived
// anew at the next password login: there is none, it cannot be read, or
// its iteration count or salt length differ from new credentials'. The
// last matters beyond strength: a SCRAM exchange shows the count and
// salt before any proof, and an unknown login gets the standard shape
// (mockSCRAM), so an imported credential of another shape (Dovecot's
// 4096 iterations) would tell which logins exist.
func scramOutdated(s string) bool {
	c, err := parseSCRAM(s)
	return err != nil || c.Iters != scramIterations || len(c.Salt) != scramSaltLen
}

// NormalizeImportedSCRAM checks a SCRAM-SHA-256 credential brought by an
// import (Dovecot's "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey", as an
// export writes it) and returns the form to store in
// store.Account.SCRAMSHA256. It is an extra credential beside a password
// hash, never the only one: PLAIN and LOGIN need the hash.
func NormalizeImportedSCRAM(s string) (string, error) {
	if len(s) > maxImportedHashLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxImportedHashLen)
	}
	c, err := parseSCRAM(s)
	if err != nil {
		return "", err
	}
	return formatSCRAM(c), nil
}

// mockSCRAM is the credential a SCRAM exchange uses for a login that has
// none (RFC 5802 section 5.1): the salt is derived from the installation's
// secret and the login, so asking twice shows the same salt as for a real
// account, and the keys are random, so no proof matches.
func mockSCRAM(secret []byte, login string) scram.StoredCredentials {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("scram-sha-256 mock salt\x00" + login))
	keys := make([]byte, 2*sha256.Size)
	// crypto/rand.Read never fails (Go 1.24 and later).
	_, _ = rand.Read(keys)
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(mac.Sum(nil)[:scramSaltLen]), Iters: scramIterations},
		StoredKey:  keys[:sha256.Size],
		ServerKey:  keys[sha256.Size:],
	}
}
