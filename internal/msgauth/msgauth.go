// Package msgauth authenticates received mail: SPF for the client and
// envelope sender, DKIM for the signatures, DMARC for the author domain,
// and the Authentication-Results field that records all three (issue 4).
// Each standard lives in its own subpackage; Evaluate is the one call the
// delivery pipeline makes.
package msgauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"

	"mailport/internal/dns"
	"mailport/internal/domainname"
	"mailport/internal/msgauth/authres"
	"mailport/internal/msgauth/dkim"
	"mailport/internal/msgauth/dmarc"
	"mailport/internal/msgauth/internal/msghdr"
	"mailport/internal/msgauth/spf"
)

// SPFVerdict is the SPF part of a Verdict.
type SPFVerdict struct {
	Result      spf.Result
	Domain      string // the domain checked: MAIL FROM's, or HELO's for a null sender
	MailFrom    string
	Helo        string
	Explanation string
}

// Verdict is everything Evaluate found out about a message, for the
// Authentication-Results field, antispam and sieve.
type Verdict struct {
	SPF        SPFVerdict
	DKIM       []dkim.Result // one per verified signature; none when unsigned
	DMARC      dmarc.Result
	FromDomain string // the RFC5322.From domain, "" if there was no single one
}

// Evaluate checks SPF for the connection, verifies the DKIM signatures of
// msg and evaluates DMARC for its From domain. ip is the client's address,
// helo its EHLO/HELO name, mailFrom the envelope sender ("" for the null
// reverse-path). It reads msg to the end only when it is signed. The
// error is for reading msg or a cancelled context; DNS trouble and bad
// input are results (temperror, permerror), not errors.
func Evaluate(ctx context.Context, resolver dns.Resolver, ip net.IP, helo, mailFrom string, msg io.Reader) (Verdict, error) {
	var v Verdict
	spfResult, why, err := spf.Check(ctx, ip, helo, mailFrom, resolver)
	if err != nil {
		return v, fmt.Errorf("msgauth: %w", err)
	}
	domain, _ := spf.Identity(helo, mailFrom)
	v.SPF = SPFVerdict{Result: spfResult, Domain: domain, MailFrom: mailFrom, Helo: helo, Explanation: why}

	br := bufio.NewReader(msg)
	hdr, err := msghdr.Read(br)
	if errors.Is(err, msghdr.ErrTooLarge) {
		// Nothing in the header can be trusted or even found; DMARC cannot
		// be applied (RFC 7489 section 6.6.1 needs the From field).
		v.DMARC = dmarc.Result{Status: dmarc.StatusPermError, Policy: dmarc.PolicyNone, Reason: "header section too large"}
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("msgauth: %w", err)
	}

	v.DKIM, err = dkim.VerifyHeader(ctx, hdr, br, resolver)
	if err != nil {
		return v, fmt.Errorf("msgauth: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return v, fmt.Errorf("msgauth: %w", err)
	}

	v.FromDomain = fromDomain(hdr)
	in := dmarc.Input{
		FromDomain: v.FromDomain,
		SPFPass:    spfResult == spf.Pass,
		SPFDomain:  domain,
		SampleKey:  firstValue(hdr, "Message-ID"),
	}
	for _, d := range v.DKIM {
		if d.Status == dkim.StatusPass {
			in.DKIMPassDomains = append(in.DKIMPassDomains, d.Domain)
		}
	}
	v.DMARC = dmarc.Evaluate(ctx, resolver, in)
	if err := ctx.Err(); err != nil {
		return v, fmt.Errorf("msgauth: %w", err)
	}
	return v, nil
}

// Reject reports whether the author domain asks for failing mail to be
// rejected: DMARC failed under p=reject (issue 4: "550 5.7.1" at the end
// of DATA).
func (v Verdict) Reject() bool {
	return v.DMARC.Status == dmarc.StatusFail && v.DMARC.Policy == dmarc.PolicyReject
}

// Quarantine reports whether DMARC failed under p=quarantine (or a reject
// policy lowered by pct): deliver to the junk folder.
func (v Verdict) Quarantine() bool {
	return v.DMARC.Status == dmarc.StatusFail && v.DMARC.Policy == dmarc.PolicyQuarantine
}

// AuthResultsHeader returns the Authentication-Results header field
// (name, folded value, CRLF) to prepend to the message; hostname is this
// server's name, the authserv-id (RFC 8601 section 2.5).
func (v Verdict) AuthResultsHeader(hostname string) string {
	r := authres.Results{
		SPF: &authres.SPF{
			Result:   string(v.SPF.Result),
			MailFrom: v.SPF.MailFrom,
			Helo:     v.SPF.Helo,
			Reason:   v.SPF.Explanation,
		},
	}
	for _, d := range v.DKIM {
		res := authres.DKIM{
			Result:          string(d.Status),
			Domain:          d.Domain,
			Selector:        d.Selector,
			Identifier:      d.Identifier,
			Algorithm:       d.Algorithm,
			SignaturePrefix: d.SignaturePrefix,
		}
		if d.Err != nil {
			res.Reason = strings.TrimPrefix(d.Err.Error(), "dkim: ")
		}
		r.DKIM = append(r.DKIM, res)
	}
	dm := &authres.DMARC{Result: string(v.DMARC.Status), From: v.FromDomain, Reason: v.DMARC.Reason}
	if v.DMARC.Status == dmarc.StatusFail {
		dm.Reason = fmt.Sprintf("%s, p=%s, applied %s", v.DMARC.Reason, v.DMARC.Requested, v.DMARC.Policy)
	}
	r.DMARC = dm
	return authres.Field(hostname, r)
}

func firstValue(hdr *msghdr.Header, name string) string {
	if vs := hdr.Values(name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// fromDomain returns the domain of the single From address in canonical
// form (lower case, A-labels: RFC 8616 section 6 has DMARC look up and
// align a U-label From domain, RFC 6532, as its A-labels), or "" when the message has no From field, several, or a
// field that does not hold exactly one address with a domain (RFC 7489
// section 6.6.1).
func fromDomain(hdr *msghdr.Header) string {
	froms := hdr.Values("From")
	if len(froms) != 1 {
		return ""
	}
	addr := fromAddress(froms[0])
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	d := strings.TrimSuffix(strings.TrimSpace(addr[at+1:]), ".")
	if !strings.Contains(d, ".") || strings.ContainsAny(d, " \t\r\n@<>[]") {
		return ""
	}
	return domainname.Canonical(d)
}

// fromAddress extracts the address of a From value. net/mail handles the
// RFC 5322 grammar; for values it refuses (unknown charsets in display
// names, sloppy quoting) the part in angle brackets, or the whole value,
// is taken, since DMARC needs only the domain.
func fromAddress(value string) string {
	if list, err := mail.ParseAddressList(value); err == nil {
		if len(list) != 1 {
			return ""
		}
		return list[0].Address
	}
	if i := strings.LastIndexByte(value, '<'); i >= 0 {
		rest := value[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	if strings.ContainsAny(value, ", ") {
		return ""
	}
	return value
}
