// Package dmarc evaluates DMARC (RFC 7489): it finds the policy record of
// the author's domain (falling back to the organizational domain), checks
// that a passing SPF or DKIM identifier is aligned with the RFC5322.From
// domain, and says which policy the domain owner asks for.
package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"mailport/internal/msgauth/internal/taglist"
)

// Policy is a requested handling of failing mail (RFC 7489 section 6.3,
// "p").
type Policy string

const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// Alignment mode for an identifier (RFC 7489 section 3.1).
type Alignment string

const (
	Relaxed Alignment = "r"
	Strict  Alignment = "s"
)

// Record is a parsed DMARC policy record (RFC 7489 section 6.3). Absent
// optional tags hold their defaults.
type Record struct {
	Policy          Policy    // p
	SubdomainPolicy Policy    // sp; defaults to p
	ADKIM           Alignment // adkim; default relaxed
	ASPF            Alignment // aspf; default relaxed
	Percent         int       // pct, 0..100; default 100
	RUA             []string  // aggregate report URIs
	RUF             []string  // failure report URIs
	FailureOptions  string    // fo; default "0"
	ReportFormat    string    // rf; default "afrf"
	ReportInterval  uint32    // ri, seconds; default 86400
	// PolicyAssumed is set when p (or sp) was missing or invalid and the
	// record was kept as p=none because it names a valid rua (section
	// 6.6.3).
	PolicyAssumed bool
}

// ErrSyntax is wrapped by every record parse error.
var ErrSyntax = errors.New("dmarc: invalid record")

// ErrNotDMARC means the TXT value is not a DMARC record at all (it does not
// start with v=DMARC1), so it is skipped during discovery.
var ErrNotDMARC = errors.New("dmarc: not a DMARC1 record")

// maxRecordLen bounds the record text parsed; DNS messages are smaller.
const maxRecordLen = 4096

// maxURIs bounds rua and ruf lists.
const maxURIs = 16

// IsDMARCRecord reports whether a TXT value claims to be a DMARC record:
// RFC 7489 section 6.4, "v" must be the first tag and its value exactly
// "DMARC1".
func IsDMARCRecord(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	name, value, ok := strings.Cut(first, "=")
	return ok && strings.TrimSpace(name) == "v" && strings.TrimSpace(value) == "DMARC1"
}

// ParseRecord parses a DMARC TXT value.
func ParseRecord(txt string) (*Record, error) {
	if len(txt) > maxRecordLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSyntax, maxRecordLen)
	}
	if !IsDMARCRecord(txt) {
		return nil, ErrNotDMARC
	}
	tags, err := taglist.Parse(txt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	rec := &Record{
		ADKIM:          Relaxed,
		ASPF:           Relaxed,
		Percent:        100,
		FailureOptions: "0",
		ReportFormat:   "afrf",
		ReportInterval: 86400,
	}
	var pErr, spErr error
	var haveSP bool
	for _, tag := range tags[1:] {
		v := tag.Value
		// Tag names and keyword values are ABNF literals, compared
		// without regard to case (RFC 5234 section 2.3).
		switch strings.ToLower(tag.Name) {
		case "p":
			rec.Policy, pErr = parsePolicy(v)
		case "sp":
			haveSP = true
			rec.SubdomainPolicy, spErr = parsePolicy(v)
		case "adkim":
			if rec.ADKIM, err = parseAlignment(v); err != nil {
				return nil, fmt.Errorf("%w: adkim: %w", ErrSyntax, err)
			}
		case "aspf":
			if rec.ASPF, err = parseAlignment(v); err != nil {
				return nil, fmt.Errorf("%w: aspf: %w", ErrSyntax, err)
			}
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return nil, fmt.Errorf("%w: pct %q is not 0 to 100", ErrSyntax, v)
			}
			rec.Percent = n
		case "rua":
			if rec.RUA, err = parseURIs(v); err != nil {
				return nil, fmt.Errorf("%w: rua: %w", ErrSyntax, err)
			}
		case "ruf":
			if rec.RUF, err = parseURIs(v); err != nil {
				return nil, fmt.Errorf("%w: ruf: %w", ErrSyntax, err)
			}
		case "fo":
			rec.FailureOptions = v
		case "rf":
			rec.ReportFormat = v
		case "ri":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%w: ri %q: %w", ErrSyntax, v, err)
			}
			rec.ReportInterval = uint32(n)
		default:
			// Section 6.3: unknown tags MUST be ignored.
		}
	}
	if rec.Policy == "" && pErr == nil {
		pErr = errors.New("no p tag")
	}
	// Section 6.6.3: a record whose p (or sp) is missing or invalid but
	// that names a valid rua is taken as p=none; otherwise it is no policy.
	if pErr != nil || spErr != nil {
		if len(rec.RUA) == 0 {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, errors.Join(pErr, spErr))
		}
		rec.Policy, rec.SubdomainPolicy, rec.PolicyAssumed = PolicyNone, PolicyNone, true
		return rec, nil
	}
	if !haveSP {
		rec.SubdomainPolicy = rec.Policy
	}
	return rec, nil
}

func parsePolicy(v string) (Policy, error) {
	switch p := Policy(strings.ToLower(v)); p {
	case PolicyNone, PolicyQuarantine, PolicyReject:
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q", v)
}

func parseAlignment(v string) (Alignment, error) {
	switch a := Alignment(strings.ToLower(v)); a {
	case Relaxed, Strict:
		return a, nil
	}
	return "", fmt.Errorf("unknown alignment %q", v)
}

// parseURIs parses a comma-separated list of report URIs, each with an
// optional "!size" suffix (RFC 7489 section 6.4, dmarc-uri).
func parseURIs(v string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(v, ",") {
		u := strings.TrimSpace(part)
		if u == "" {
			continue
		}
		if len(out) == maxURIs {
			return nil, fmt.Errorf("more than %d URIs", maxURIs)
		}
		addr := u
		if i := strings.LastIndexByte(u, '!'); i >= 0 {
			addr = u[:i]
			if _, err := parseSize(u[i+1:]); err != nil {
				return nil, fmt.Errorf("URI %q: %w", u, err)
			}
		}
		parsed, err := url.Parse(addr)
		if err != nil || parsed.Scheme == "" {
			return nil, fmt.Errorf("bad URI %q", u)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("no URI")
	}
	return out, nil
}

// parseSize checks a report size limit: digits and an optional k, m, g or
// t unit.
func parseSize(s string) (uint64, error) {
	num := strings.TrimRight(s, "kmgtKMGT")
	if len(s)-len(num) > 1 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n, nil
}

// String renders the record in canonical form, with every tag that has a
// meaning for receivers.
func (r *Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=DMARC1; p=%s", r.Policy)
	if r.SubdomainPolicy != r.Policy {
		fmt.Fprintf(&b, "; sp=%s", r.SubdomainPolicy)
	}
	if r.ADKIM != Relaxed {
		fmt.Fprintf(&b, "; adkim=%s", r.ADKIM)
	}
	if r.ASPF != Relaxed {
		fmt.Fprintf(&b, "; aspf=%s", r.ASPF)
	}
	if r.Percent != 100 {
		fmt.Fprintf(&b, "; pct=%d", r.Percent)
	}
	if len(r.RUA) > 0 {
		fmt.Fprintf(&b, "; rua=%s", strings.Join(r.RUA, ","))
	}
	if len(r.RUF) > 0 {
		fmt.Fprintf(&b, "; ruf=%s", strings.Join(r.RUF, ","))
	}
	return b.String()
}
