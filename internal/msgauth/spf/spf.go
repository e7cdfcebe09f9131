// Package spf checks whether a client may send mail for a domain (RFC
// 7208), with blitiri.com.ar/go/spf doing the evaluation and our
// dns.Resolver answering its lookups.
package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	blspf "blitiri.com.ar/go/spf"

	"mailport/internal/dns"
	"mailport/internal/domainname"
)

// Result is an SPF result (RFC 7208 section 2.6); the values are the words
// Received-SPF and Authentication-Results use.
type Result string

const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Identity returns the domain SPF checks and the sender used for macro
// expansion. RFC 7208 section 2.4: the MAIL FROM identity, or when the
// reverse-path is null, "postmaster@" the HELO identity; section 2.3 for
// HELO. The domain is in canonical form: RFC 8616 section 4 has a U-label
// identity (from an SMTPUTF8 session, RFC 6531) checked as its A-labels,
// the form its SPF record is published under; the sender carries the
// same domain, since the check takes the domain from it.
func Identity(helo, mailFrom string) (domain, sender string) {
	if i := strings.LastIndexByte(mailFrom, '@'); i >= 0 && i < len(mailFrom)-1 {
		domain = domainname.Canonical(mailFrom[i+1:])
		return domain, mailFrom[:i+1] + domain
	}
	domain = domainname.Canonical(helo)
	return domain, "postmaster@" + domain
}

// Check evaluates the SPF record of the MAIL FROM domain (or the HELO
// domain for a null sender) for the client ip. explanation says in a few
// words why the result came out (the mechanism that matched, or the DNS
// problem); it is for logs and Authentication-Results reasons, not for
// SMTP replies. err is set only when the check could not run (cancelled
// context); DNS failures are a TempError result.
func Check(ctx context.Context, ip net.IP, helo, mailFrom string, resolver dns.Resolver) (Result, string, error) {
	if ip.To16() == nil {
		return PermError, "", fmt.Errorf("spf: invalid client address %v", ip)
	}
	domain, sender := Identity(helo, mailFrom)
	// RFC 7208 section 4.3: an identity that is not a domain name (an
	// address literal in HELO, a single label) gives "none".
	if !isDomainName(domain) {
		return None, "no domain to check: " + quoteShort(domain), nil
	}
	res, why := blspf.CheckHostWithSender(ip, helo, sender,
		blspf.WithContext(ctx),
		blspf.WithResolver(resolverAdapter{r: resolver}),
	)
	if err := ctx.Err(); err != nil {
		return TempError, "", fmt.Errorf("spf: check %s: %w", domain, err)
	}
	return Result(res), explain(why), nil
}

// explain turns the library's second return value, which names the
// matching mechanism on success, into a short text.
func explain(err error) string {
	switch {
	case err == nil:
		return "no mechanism matched"
	case errors.Is(err, blspf.ErrNoResult):
		return "no SPF record"
	}
	return strings.TrimPrefix(err.Error(), "spf: ")
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", s)
}

// isDomainName accepts LDH labels separated by dots (RFC 1035 section
// 2.3.1, with underscores and non-ASCII bytes tolerated since DNS carries
// them): at least two labels, none empty, at most 253 bytes.
func isDomainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// resolverAdapter gives the library the *net.Resolver-like interface it
// asks for. The library tells "not found" from temporary failures by
// *net.DNSError fields (IsNotFound counts as a void lookup, RFC 7208
// section 4.6.4; anything temporary is a TempError, section 2.6.6), so our
// errors are translated back into that form.
type resolverAdapter struct {
	r dns.Resolver
}

func (a resolverAdapter) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := a.r.LookupTXT(ctx, name)
	return txts, netError(name, err)
}

func (a resolverAdapter) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mxs, err := a.r.LookupMX(ctx, name)
	return mxs, netError(name, err)
}

func (a resolverAdapter) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := a.r.LookupIP(ctx, host)
	if err != nil {
		return nil, netError(host, err)
	}
	addrs := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		addrs[i] = net.IPAddr{IP: ip}
	}
	return addrs, nil
}

func (a resolverAdapter) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	names, err := a.r.LookupAddr(ctx, addr)
	return names, netError(addr, err)
}

func netError(name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, dns.ErrNotFound) {
		return &net.DNSError{Err: "no such record", Name: name, IsNotFound: true}
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
}
