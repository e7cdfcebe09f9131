package queue

import (
	"context"
	"strings"
)

// PolicySource gives the MTA-STS policy of a recipient domain (RFC 8461).
// Fetching policies (the _mta-sts TXT record, the HTTPS policy file and its
// cache, RFC 8461 sections 3 and 5) is internal/mtasts's job; the
// delivery code enforces whatever policy a source returns:
// in mode "enforce" only MX hosts matching the policy are used and each
// connection must use STARTTLS with a certificate valid for the MX name
// (RFC 8461 section 4). A nil Policy, or mode "testing" or "none", means
// opportunistic TLS.
type PolicySource interface {
	// Policy returns the domain's policy, nil when it publishes none. An
	// error is treated as temporary: the delivery is retried later rather
	// than sent without the policy the domain may have.
	Policy(ctx context.Context, domain string) (*Policy, error)
}

// PolicyMode is the "mode" of an MTA-STS policy.
type PolicyMode string

// RFC 8461 section 3.2 modes.
const (
	ModeEnforce PolicyMode = "enforce"
	ModeTesting PolicyMode = "testing"
	ModeNone    PolicyMode = "none"
)

// Policy is an MTA-STS policy: its mode and "mx" patterns.
type Policy struct {
	Mode PolicyMode
	// MX holds the "mx" patterns: a host name or "*.example.test".
	MX []string
}

// enforced reports whether the policy constrains delivery.
func (p *Policy) enforced() bool { return p != nil && p.Mode == ModeEnforce }

// Matches reports whether host is allowed by the policy's mx patterns
// (RFC 8461 section 4.1: a wildcard matches exactly one leftmost label).
func (p *Policy) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		pat = strings.ToLower(strings.TrimSuffix(pat, "."))
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}
