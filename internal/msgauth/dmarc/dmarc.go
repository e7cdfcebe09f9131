package dmarc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/net/publicsuffix"

	"mailport/internal/dns"
	"mailport/internal/domainname"
)

// Status is the DMARC result (RFC 7489 section 11.2, as used in
// Authentication-Results).
type Status string

const (
	StatusPass      Status = "pass"
	StatusFail      Status = "fail"
	StatusNone      Status = "none"      // no policy published
	StatusTempError Status = "temperror" // the policy could not be fetched now
	StatusPermError Status = "permerror" // bad record, or no single From domain
)

// ErrNoRecord means the domain publishes no usable DMARC record.
var ErrNoRecord = errors.New("dmarc: no record")

// OrganizationalDomain is the registered domain a name belongs to (RFC
// 7489 section 3.2): the public suffix plus one label, from the public
// suffix list. A name that is itself a public suffix, or that the list
// cannot handle, is its own organizational domain.
func OrganizationalDomain(domain string) string {
	d := normalize(domain)
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// normalize puts a domain in the form DMARC looks up and compares: RFC
// 8616 section 6 has a U-label From domain converted to A-labels for the
// _dmarc lookup and for alignment, so bücher.example and a DKIM d= of
// xn--bcher-kva.example are the same name. The public suffix list
// (OrganizationalDomain) is also written in A-labels.
func normalize(domain string) string {
	return domainname.Canonical(domain)
}

// Aligned reports whether an authenticated identifier (the SPF domain or a
// DKIM d=) is aligned with the From domain (RFC 7489 section 3.1.1 and
// 3.1.2): equal in strict mode, with the same organizational domain in
// relaxed mode.
func Aligned(identifier, fromDomain string, mode Alignment) bool {
	a, b := normalize(identifier), normalize(fromDomain)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return mode != Strict && OrganizationalDomain(a) == OrganizationalDomain(b)
}

// Lookup finds the DMARC record for a From domain (RFC 7489 section
// 6.6.3): first at _dmarc.<domain>, then, if that gives no record, at
// _dmarc.<organizational domain>. It returns the record and the domain it
// was found at. No record (or more than one at a level, which ends
// discovery) wraps ErrNoRecord; a record that claims v=DMARC1 but does not
// parse wraps ErrSyntax; other errors are DNS failures (temporary).
func Lookup(ctx context.Context, resolver dns.Resolver, fromDomain string) (*Record, string, error) {
	domain := normalize(fromDomain)
	rec, err := lookupAt(ctx, resolver, domain)
	if !errors.Is(err, errNoneHere) {
		return rec, domain, err
	}
	org := OrganizationalDomain(domain)
	if org == domain {
		return nil, "", fmt.Errorf("%w for %s", ErrNoRecord, domain)
	}
	rec, err = lookupAt(ctx, resolver, org)
	if errors.Is(err, errNoneHere) {
		return nil, "", fmt.Errorf("%w for %s or %s", ErrNoRecord, domain, org)
	}
	return rec, org, err
}

// errNoneHere means no DMARC record at one level: discovery continues at
// the organizational domain.
var errNoneHere = errors.New("no DMARC record here")

func lookupAt(ctx context.Context, resolver dns.Resolver, domain string) (*Record, error) {
	name := "_dmarc." + domain
	txts, err := resolver.LookupTXT(ctx, name)
	if errors.Is(err, dns.ErrNotFound) {
		return nil, errNoneHere
	}
	if err != nil {
		return nil, fmt.Errorf("dmarc: lookup %s: %w", name, err)
	}
	// Section 6.6.3 step 3: records that do not start with v=DMARC1 are
	// discarded.
	var found []string
	for _, txt := range txts {
		if IsDMARCRecord(txt) {
			found = append(found, txt)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNoneHere
	case 1:
		rec, err := ParseRecord(found[0])
		if err != nil {
			return nil, fmt.Errorf("dmarc: record at %s: %w", name, err)
		}
		return rec, nil
	}
	// Step 5: several records end discovery without a policy.
	return nil, fmt.Errorf("%w: %d records at %s", ErrNoRecord, len(found), name)
}

// Input is what DMARC evaluation needs from SPF and DKIM.
type Input struct {
	// FromDomain is the domain of the single RFC5322.From address; empty
	// when the message had no From, several, or one without a domain.
	FromDomain string
	// SPFPass is true when SPF passed for SPFDomain, the MAIL FROM domain
	// (or the HELO domain for a null sender, RFC 7489 section 4.1).
	SPFPass   bool
	SPFDomain string
	// DKIMPassDomains are the d= of every DKIM signature that verified.
	DKIMPassDomains []string
	// SampleKey picks this message in or out of a pct= sample (usually
	// its Message-ID). The same key always gives the same choice.
	SampleKey string
}

// Result is the outcome of DMARC evaluation.
type Result struct {
	Status       Status
	FromDomain   string
	Record       *Record // nil when none was found
	RecordDomain string  // where Record was published
	SPFAligned   bool    // SPF passed and is aligned
	DKIMAligned  bool    // a DKIM signature passed and is aligned
	// Requested is the domain owner's policy for this From domain (p, or
	// sp when the record came from the organizational domain).
	Requested Policy
	// Policy is what to do with this message: PolicyNone unless Status is
	// StatusFail, then Requested after pct sampling.
	Policy Policy
	Reason string // why, in a few words
}

// Evaluate applies DMARC to a message (RFC 7489 section 6.6).
func Evaluate(ctx context.Context, resolver dns.Resolver, in Input) Result {
	res := Result{FromDomain: normalize(in.FromDomain), Policy: PolicyNone}
	if res.FromDomain == "" {
		// Section 6.6.1: without a single author domain DMARC cannot be
		// applied; the message is reported, not judged here.
		res.Status, res.Reason = StatusPermError, "no single From domain"
		return res
	}
	rec, at, err := Lookup(ctx, resolver, res.FromDomain)
	switch {
	case errors.Is(err, ErrNoRecord):
		res.Status, res.Reason = StatusNone, "no DMARC record"
		return res
	case errors.Is(err, ErrSyntax):
		res.Status, res.Reason = StatusPermError, err.Error()
		return res
	case err != nil:
		res.Status, res.Reason = StatusTempError, err.Error()
		return res
	}
	res.Record, res.RecordDomain = rec, at

	res.SPFAligned = in.SPFPass && Aligned(in.SPFDomain, res.FromDomain, rec.ASPF)
	for _, d := range in.DKIMPassDomains {
		if Aligned(d, res.FromDomain, rec.ADKIM) {
			res.DKIMAligned = true
			break
		}
	}

	// Section 6.3 "sp": the subdomain policy applies to mail from
	// subdomains that found the policy at their organizational domain; a
	// record published at the From domain itself uses its p.
	res.Requested = rec.Policy
	if at != res.FromDomain {
		res.Requested = rec.SubdomainPolicy
	}

	// Section 4.2: DMARC passes when either identifier passes aligned.
	if res.SPFAligned || res.DKIMAligned {
		res.Status = StatusPass
		switch {
		case res.DKIMAligned && res.SPFAligned:
			res.Reason = "SPF and DKIM aligned"
		case res.DKIMAligned:
			res.Reason = "DKIM aligned"
		default:
			res.Reason = "SPF aligned"
		}
		return res
	}
	res.Status, res.Reason = StatusFail, "no aligned SPF or DKIM pass"
	res.Policy = res.Requested
	if !sampled(in.SampleKey, rec.Percent) {
		// Section 6.6.4: mail left out of the pct sample gets the next
		// lower policy: quarantine becomes none, reject becomes
		// quarantine.
		switch res.Policy {
		case PolicyReject:
			res.Policy = PolicyQuarantine
		case PolicyQuarantine:
			res.Policy = PolicyNone
		}
		res.Reason += fmt.Sprintf(", outside pct=%d sample", rec.Percent)
	}
	return res
}

// sampled decides whether a message is in the pct sample. RFC 7489 asks
// for a random selection; a hash of the message's key makes it
// deterministic instead, so a message retried after a temporary failure
// gets the same decision and tests can rely on it. pct=100 takes every
// message and pct=0 none.
func sampled(key string, pct int) bool {
	if pct >= 100 {
		return true
	}
	if pct <= 0 {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	return int(binary.BigEndian.Uint64(sum[:8])%100) < pct
}
