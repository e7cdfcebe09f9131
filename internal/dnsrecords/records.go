// Package dnsrecords computes the DNS records a mail domain hosted on
// mailport needs (MX, SPF, DKIM, DMARC, MTA-STS, autoconfig, RFC 6186 SRV)
// and checks whether they are published. It does no storage: callers (the
// directory, the CLI, later the API and the portal) hand it the domain,
// the server's name and ports and the DKIM public keys, so every caller
// shows the same records.
package dnsrecords

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a record is for, which decides how Check compares it.
type Kind string

const (
	KindMX     Kind = "MX"
	KindSPF    Kind = "SPF"
	KindDKIM   Kind = "DKIM"
	KindDMARC  Kind = "DMARC"
	KindMTASTS Kind = "MTA-STS"
	// KindHost is a name that must lead to the server (autoconfig,
	// mta-sts): published as a CNAME to the hostname, or as A/AAAA records
	// with the hostname's addresses.
	KindHost Kind = "HOST"
	KindSRV  Kind = "SRV"
)

// Record is one DNS record in presentation form.
type Record struct {
	Kind  Kind
	Name  string // owner name, no trailing dot
	Type  string // "MX", "TXT", "CNAME", "SRV"
	Value string // RDATA as written in a zone file; TXT values unquoted
}

// String is the line `mailport dns` prints: name, type, value.
func (r Record) String() string { return r.Name + " " + r.Type + " " + r.Value }

// Server is what the records point to.
type Server struct {
	Hostname string // the MX host name; also where autoconfig and mta-sts lead
	// Ports of the client services, published as RFC 6186 SRV records; 0
	// leaves the record out (service not offered).
	SubmissionPort  int // 587, STARTTLS (RFC 6186 section 3.1)
	SubmissionsPort int // 465, implicit TLS (RFC 8314 section 5.1)
	IMAPSPort       int // 993 (RFC 6186 section 3.2)
	POP3SPort       int // 995 (RFC 6186 section 3.3)
}

// DKIMKey is a published DKIM key: its selector and TXT value
// ("v=DKIM1; k=...; p=...").
type DKIMKey struct {
	Selector string
	Value    string
}

// Options are the site's choices among valid records.
type Options struct {
	// SPFHardFail publishes "-all" (receivers reject mail from other
	// hosts) instead of "~all" (soft fail), RFC 7208 section 5.1.
	SPFHardFail bool
	// DMARCPolicy is p= of the DMARC record (RFC 7489 section 6.3):
	// "none", "quarantine" (the default) or "reject".
	DMARCPolicy string
	// MTASTSMode is the mode of the MTA-STS policy (RFC 8461 section
	// 3.2): "testing" (the default: failures are reported, not enforced,
	// which is safe while the certificate may still be self-signed) or
	// "enforce".
	MTASTSMode string
}

// DefaultMTASTSMode is the policy mode when Options leave it empty.
const DefaultMTASTSMode = "testing"

// MTASTSMaxAge is max_age of the policy: one week, as RFC 8461 section
// 3.2 suggests weeks rather than days.
const MTASTSMaxAge = 604800

// Required returns every record domain needs, in the order an admin adds
// them: MX, SPF, DKIM (one per key), DMARC, MTA-STS, autoconfig, SRV.
func Required(domain string, srv Server, dkim []DKIMKey, opts Options) []Record {
	host := srv.Hostname
	all := "~all"
	if opts.SPFHardFail {
		all = "-all"
	}
	policy := opts.DMARCPolicy
	if policy == "" {
		policy = "quarantine"
	}
	recs := []Record{
		{KindMX, domain, "MX", "10 " + host},
		// RFC 7208 section 5.4: "mx" authorizes the domain's MX hosts,
		// which is where mailport sends from too.
		{KindSPF, domain, "TXT", "v=spf1 mx " + all},
	}
	recs = append(recs, DKIM(domain, dkim)...)
	recs = append(recs,
		// RFC 7489 section 6.3; relaxed alignment so mail from
		// subdomains still aligns.
		Record{KindDMARC, "_dmarc." + domain, "TXT", "v=DMARC1; p=" + policy + "; adkim=r; aspf=r"},
		// RFC 8461 section 3.1: the id changes whenever the policy does.
		Record{KindMTASTS, "_mta-sts." + domain, "TXT", "v=STSv1; id=" + MTASTSID(MTASTSPolicy(host, opts.MTASTSMode))},
		Record{KindHost, "mta-sts." + domain, "CNAME", host},
		// Thunderbird's autoconfig looks up autoconfig.DOMAIN.
		Record{KindHost, "autoconfig." + domain, "CNAME", host},
	)
	// RFC 6186 section 3: priority 0, weight 1, port, target.
	srvs := []struct {
		service string
		port    int
	}{
		{"_submission", srv.SubmissionPort},
		{"_submissions", srv.SubmissionsPort},
		{"_imaps", srv.IMAPSPort},
		{"_pop3s", srv.POP3SPort},
	}
	for _, s := range srvs {
		if s.port > 0 {
			recs = append(recs, Record{KindSRV, s.service + "._tcp." + domain, "SRV", "0 1 " + strconv.Itoa(s.port) + " " + host})
		}
	}
	return recs
}

// DKIM returns the TXT record of each key, at selector._domainkey.domain
// (RFC 6376 section 3.6.2.1).
func DKIM(domain string, keys []DKIMKey) []Record {
	out := make([]Record, 0, len(keys))
	for _, k := range keys {
		out = append(out, Record{KindDKIM, k.Selector + "._domainkey." + domain, "TXT", k.Value})
	}
	return out
}

// MTASTSPolicyURL is where receivers fetch the policy of domain (RFC 8461
// section 3.3).
func MTASTSPolicyURL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

// MTASTSPolicy is the policy file the HTTP server serves for mail to
// hostname (RFC 8461 section 3.2), CRLF line endings. mode "" is
// DefaultMTASTSMode.
func MTASTSPolicy(hostname, mode string) string {
	if mode == "" {
		mode = DefaultMTASTSMode
	}
	return fmt.Sprintf("version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: %d\r\n", mode, hostname, MTASTSMaxAge)
}

// MTASTSID derives the TXT record's id from the policy text, so the id
// changes exactly when the policy does. RFC 8461 section 3.1: 1 to 32
// alphanumeric characters.
func MTASTSID(policy string) string {
	sum := sha256.Sum256([]byte(policy))
	return hex.EncodeToString(sum[:])[:20]
}

// tags parses a tag=value list ("v=DKIM1; k=rsa; p=...", RFC 6376
// section 3.2), keeping the first value of each tag, with whitespace
// around names and values removed. Malformed parts are skipped: Check
// only needs the tags it compares.
func tags(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := out[name]; !dup && name != "" {
			out[name] = strings.TrimSpace(value)
		}
	}
	return out
}
