// Package srs implements the Sender Rewriting Scheme for mail that mailport
// forwards (aliases and forwards with external targets). A forwarded
// message keeps its author, but its envelope sender becomes an address of
// ours, so the receiver's SPF check (RFC 7208) looks at our domain, where
// our address is authorized, instead of the original sender's, where it
// is not. A bounce sent to the rewritten address comes back to us and is
// routed to the original sender.
//
// The rewritten form is the SRS0 form of the scheme's original paper
// (Shevek, "Sender Rewriting Scheme", 2004):
//
//	SRS0=HHHHHH=TT=orig-domain=orig-local@forwarding-domain
//
// TT is the day of the rewrite (days since the Unix epoch modulo 1024, two
// base32 characters) and HHHHHH a keyed hash (HMAC-SHA256, first 30 bits
// in base32) of TT, the domain and the local part. Both are checked when a
// bounce comes back, so nobody can use our domain to send mail through us
// to an address of their choosing (the "open relay" that an unsigned
// scheme would be). Only we read our SRS addresses, so the hash need not
// match other implementations; base32 is used because some MTAs change
// the case of local parts.
//
// An address that is already SRS0 of another forwarder is rewritten again
// as SRS0 (not the SRS1 chaining form): the bounce then goes back through
// that forwarder, which costs one more hop and nothing else.
package srs

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeyFile is the name of the secret in the data directory.
const KeyFile = "srs.key"

// DefaultMaxAge is how long a rewritten address accepts bounces. Bounces
// come within the sending MTA's queue lifetime (typically 5 days); 21 days
// is what most SRS implementations allow.
const DefaultMaxAge = 21 * 24 * time.Hour

// Errors of Reverse.
var (
	ErrNotSRS   = errors.New("srs: not an SRS address")
	ErrInvalid  = errors.New("srs: malformed SRS address")
	ErrBadHash  = errors.New("srs: hash does not match")
	ErrTooOld   = errors.New("srs: address has expired")
	ErrNoSender = errors.New("srs: the null sender is not rewritten")
)

const (
	prefix    = "SRS0="
	hashLen   = 6
	dayPeriod = 1024
	sep       = "="
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Rewriter rewrites and reverses addresses with one secret.
type Rewriter struct {
	secret []byte
	// Domain is the domain of rewritten addresses: ours, with an SPF
	// record that authorizes this server.
	Domain string
	// MaxAge bounds the age of an address Reverse accepts.
	MaxAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// New returns a Rewriter; secret must be at least 16 bytes.
func New(secret []byte, domain string) (*Rewriter, error) {
	if len(secret) < 16 {
		return nil, errors.New("srs: secret shorter than 16 bytes")
	}
	if domain == "" {
		return nil, errors.New("srs: no domain")
	}
	return &Rewriter{secret: append([]byte(nil), secret...), Domain: strings.ToLower(domain), MaxAge: DefaultMaxAge, Now: time.Now}, nil
}

// LoadOrCreateKey reads DIR/srs.key, creating it with 32 random bytes and
// mode 0600 the first time. The key must stay the same across restarts,
// or bounces to addresses rewritten before are refused.
func LoadOrCreateKey(dir string) ([]byte, error) {
	p := filepath.Join(dir, KeyFile)
	key, err := os.ReadFile(p)
	if err == nil {
		if len(key) < 16 {
			return nil, fmt.Errorf("srs: %s holds only %d bytes", p, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("srs: read key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("srs: generate key: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write a key
	// and then disagree; the loser reads the winner's.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("srs: create key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("srs: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("srs: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("srs: write key: %w", err)
	}
	return key, nil
}

func (r *Rewriter) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func dayStamp(t time.Time) string {
	d := (t.Unix() / 86400) % dayPeriod
	// 1024 days fit two base32 characters of 5 bits each.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	return string([]byte{alphabet[d>>5], alphabet[d&31]})
}

func stampDay(ts string) (int64, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	if len(ts) != 2 {
		return 0, false
	}
	hi := strings.IndexByte(alphabet, upper(ts[0]))
	lo := strings.IndexByte(alphabet, upper(ts[1]))
	if hi < 0 || lo < 0 {
		return 0, false
	}
	return int64(hi<<5 | lo), true
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func (r *Rewriter) hash(ts, domain, local string) string {
	m := hmac.New(sha256.New, r.secret)
	// Lower case: the receiving MTA may change the case of the local
	// part, and domains are case-insensitive anyway.
	m.Write([]byte(strings.ToLower(ts + sep + domain + sep + local)))
	return b32.EncodeToString(m.Sum(nil))[:hashLen]
}

// Forward rewrites the envelope sender addr for forwarding. The null
// sender is never rewritten (ErrNoSender): bounces must not bounce.
func (r *Rewriter) Forward(addr string) (string, error) {
	if addr == "" {
		return "", ErrNoSender
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", fmt.Errorf("%w: %q is not local@domain", ErrInvalid, addr)
	}
	local, domain := addr[:at], strings.ToLower(addr[at+1:])
	if strings.EqualFold(domain, r.Domain) && IsSRS(local) {
		// Already ours (a forward of a forward): keep it, so the bounce
		// still finds the original sender.
		return addr, nil
	}
	ts := dayStamp(r.now())
	return prefix + r.hash(ts, domain, local) + sep + ts + sep + domain + sep + local + "@" + r.Domain, nil
}

// IsSRS reports whether a local part has the SRS0 form.
func IsSRS(local string) bool {
	return len(local) > len(prefix) && strings.EqualFold(local[:len(prefix)], prefix)
}

// Reverse returns the original sender of a rewritten address (its domain
// part is not checked; the caller accepts only our domains). Errors:
// ErrNotSRS, ErrInvalid, ErrBadHash, ErrTooOld.
func (r *Rewriter) Reverse(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", ErrNotSRS
	}
	local := addr[:at]
	if !IsSRS(local) {
		return "", ErrNotSRS
	}
	// HHH=TT=domain=local; the original local part may itself hold "=".
	parts := strings.SplitN(local[len(prefix):], sep, 4)
	if len(parts) != 4 || parts[2] == "" || parts[3] == "" {
		return "", ErrInvalid
	}
	hash, ts, domain, orig := parts[0], parts[1], parts[2], parts[3]
	if len(hash) != hashLen {
		return "", ErrInvalid
	}
	day, ok := stampDay(ts)
	if !ok {
		return "", ErrInvalid
	}
	want := r.hash(ts, domain, orig)
	if !hmac.Equal([]byte(strings.ToUpper(hash)), []byte(want)) {
		return "", ErrBadHash
	}
	// The stamp is a day modulo 1024: its age is the distance back from
	// today, wrapping around.
	today := (r.now().Unix() / 86400) % dayPeriod
	age := (today - day + dayPeriod) % dayPeriod
	if time.Duration(age)*24*time.Hour > r.MaxAge {
		return "", ErrTooOld
	}
	return orig + "@" + strings.ToLower(domain), nil
}
