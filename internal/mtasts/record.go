// Package mtasts implements the sending side of SMTP MTA Strict Transport
// Security (RFC 8461): the _mta-sts TXT record, the policy file fetched
// over HTTPS, and a cache that the outbound queue asks for the policy of
// a recipient domain. Parsing (ParseRecord, ParsePolicy) does no I/O;
// LookupRecord, FetchPolicy and Cache do.
package mtasts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailport/internal/dns"
)

// ErrNoRecord means the domain publishes no usable _mta-sts record: no
// TXT record, none starting with "v=STSv1", or more than one (RFC 8461
// section 3.1). The domain then has no MTA-STS policy to discover.
var ErrNoRecord = errors.New("mtasts: no MTA-STS record")

// maxIDLen is the longest policy id (RFC 8461 section 3.1: 1*32
// alphanumeric characters).
const maxIDLen = 32

// Record is a parsed _mta-sts TXT record.
type Record struct {
	// ID changes whenever the policy does; a sender holding a cached
	// policy with another id fetches the policy again.
	ID string
	// Extensions are other key=value fields, in order (ignored by
	// senders, kept for display).
	Extensions [][2]string
}

// ParseRecord parses one TXT record (its strings already joined without
// spaces, RFC 8461 section 3.1):
//
//	sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
//	sts-version     = %s"v=STSv1"
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-ext-name    = (ALPHA / DIGIT) 0*31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The fields are separated by ";" with optional spaces and tabs.
func ParseRecord(txt string) (*Record, error) {
	fields := strings.Split(txt, ";")
	// A single trailing delimiter is allowed.
	if n := len(fields); n > 1 && strings.Trim(fields[n-1], " \t") == "" {
		fields = fields[:n-1]
	}
	if len(fields) == 0 || strings.Trim(fields[0], " \t") != "v=STSv1" {
		return nil, fmt.Errorf("mtasts: record does not start with v=STSv1: %q", txt)
	}
	// The version must be exactly at the start (no leading space).
	if !strings.HasPrefix(txt, "v=STSv1") {
		return nil, fmt.Errorf("mtasts: record does not start with v=STSv1: %q", txt)
	}
	rec := &Record{}
	for _, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("mtasts: field %q has no '='", f)
		}
		switch {
		case name == "id":
			if rec.ID != "" {
				return nil, fmt.Errorf("mtasts: id given twice in %q", txt)
			}
			if !validID(value) {
				return nil, fmt.Errorf("mtasts: id %q is not 1 to 32 letters and digits", value)
			}
			rec.ID = value
		case validExtName(name) && validExtValue(value):
			rec.Extensions = append(rec.Extensions, [2]string{name, value})
		default:
			return nil, fmt.Errorf("mtasts: malformed field %q", f)
		}
	}
	if rec.ID == "" {
		return nil, fmt.Errorf("mtasts: record has no id: %q", txt)
	}
	return rec, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func validExtName(s string) bool {
	if s == "" || len(s) > 32 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func validExtValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		// %x21-3A / %x3C / %x3E-7E: visible characters except ";" and "=".
		if c := s[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}

// LookupRecord asks for the TXT records at _mta-sts.DOMAIN and returns the
// one MTA-STS record among them. RFC 8461 section 3.1: records that do not
// begin with "v=STSv1;" are discarded; when not exactly one remains, or it
// is invalid, the domain has no available policy (ErrNoRecord). A failed
// lookup (not NXDOMAIN) is returned as it is: the caller decides whether
// a cached policy still applies.
func LookupRecord(ctx context.Context, r dns.Resolver, domain string) (*Record, error) {
	name := "_mta-sts." + strings.TrimSuffix(domain, ".")
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		if errors.Is(err, dns.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s has no TXT record", ErrNoRecord, name)
		}
		return nil, fmt.Errorf("mtasts: lookup TXT %s: %w", name, err)
	}
	var sts []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1;") || t == "v=STSv1" {
			sts = append(sts, t)
		}
	}
	if len(sts) != 1 {
		return nil, fmt.Errorf("%w: %s has %d STSv1 records, want 1", ErrNoRecord, name, len(sts))
	}
	rec, err := ParseRecord(sts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRecord, err)
	}
	return rec, nil
}
