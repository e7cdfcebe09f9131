// Package authres writes the Authentication-Results header field (RFC
// 8601) that records what SPF, DKIM and DMARC concluded about a received
// message, using github.com/emersion/go-msgauth/authres for the value
// syntax.
package authres

import (
	"strings"

	msgauthres "github.com/emersion/go-msgauth/authres"
)

// FieldName is the header field name.
const FieldName = "Authentication-Results"

// maxReasonLen keeps reason= comments short; they may carry DNS error
// text.
const maxReasonLen = 120

// SPF is the "spf" method result (RFC 8601 section 2.7.2). MailFrom is
// the envelope sender; with a null sender Helo is reported instead.
type SPF struct {
	Result   string
	MailFrom string
	Helo     string
	Reason   string
}

// DKIM is one "dkim" method result (RFC 8601 section 2.7.1): the signing
// domain, selector, algorithm and the start of the signature (header.b,
// RFC 6008) that tells several signatures apart.
type DKIM struct {
	Result          string
	Domain          string
	Selector        string
	Identifier      string
	Algorithm       string
	SignaturePrefix string
	Reason          string
}

// DMARC is the "dmarc" method result (RFC 7489 section 11.2).
type DMARC struct {
	Result string
	From   string // the RFC5322.From domain
	Reason string
}

// Results are the method results of one message.
type Results struct {
	SPF   *SPF
	DKIM  []DKIM // no entry: "dkim=none"
	DMARC *DMARC
}

// Field returns the whole header field, "Authentication-Results: " then
// the value folded one method per line, ending in CRLF, ready to prepend
// to the message. hostname is the authserv-id: this server's name (RFC
// 8601 section 2.5).
func Field(hostname string, r Results) string {
	return FieldName + ": " + Value(hostname, r) + "\r\n"
}

// Value returns the folded field value.
func Value(hostname string, r Results) string {
	var methods []msgauthres.Result
	if r.SPF != nil {
		res := &msgauthres.SPFResult{Value: msgauthres.ResultValue(clean(r.SPF.Result)), Reason: reason(r.SPF.Reason)}
		// RFC 8601 section 2.7.2: smtp.mailfrom carries the checked
		// sender; for a null sender the HELO identity was checked.
		if r.SPF.MailFrom != "" {
			res.From = clean(r.SPF.MailFrom)
		} else {
			res.Helo = clean(r.SPF.Helo)
		}
		methods = append(methods, res)
	}
	if len(r.DKIM) == 0 {
		methods = append(methods, &msgauthres.GenericResult{Method: "dkim", Value: msgauthres.ResultNone, Params: map[string]string{}})
	}
	for _, d := range r.DKIM {
		methods = append(methods, &msgauthres.GenericResult{
			Method: "dkim",
			Value:  msgauthres.ResultValue(clean(d.Result)),
			Params: map[string]string{
				"reason":   reason(d.Reason),
				"header.d": clean(d.Domain),
				"header.s": clean(d.Selector),
				"header.i": clean(d.Identifier),
				"header.a": clean(d.Algorithm),
				"header.b": clean(d.SignaturePrefix),
			},
		})
	}
	if r.DMARC != nil {
		methods = append(methods, &msgauthres.GenericResult{
			Method: "dmarc",
			Value:  msgauthres.ResultValue(clean(r.DMARC.Result)),
			Params: map[string]string{
				"reason":      reason(r.DMARC.Reason),
				"header.from": clean(r.DMARC.From),
			},
		})
	}

	id := clean(hostname)
	if len(methods) == 0 {
		return msgauthres.Format(id, nil)
	}
	// The library writes one line; each method goes on its own folded
	// line (RFC 5322 section 2.2.3) so the field stays readable and within
	// the 78-character guideline in the common case.
	var b strings.Builder
	b.WriteString(id)
	for _, m := range methods {
		one := msgauthres.Format(id, []msgauthres.Result{m})
		b.WriteString(";\r\n\t")
		b.WriteString(strings.TrimSpace(strings.TrimPrefix(one, id+"; ")))
	}
	return b.String()
}

// clean removes control characters and white space from values that come
// from the network (a sender address, a domain from a signature), so they
// can neither end the header field early nor split a token.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// reason keeps a reason readable and safe inside the quoted-string the
// library writes: control characters become spaces, backslashes and
// double quotes (which the library does not escape fully) become single
// quotes, and it is cut to maxReasonLen.
func reason(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < ' ' || r == 0x7f:
			return ' '
		case r == '\\' || r == '"':
			return '\''
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxReasonLen {
		s = strings.ToValidUTF8(s[:maxReasonLen], "")
	}
	return s
}

// ServID returns the authserv-id of an Authentication-Results field value
// (RFC 8601 section 2.2: `[CFWS] authserv-id [CFWS authres-version] ";"`),
// lower-cased, or "" when the value has none. It reads leniently, as mail
// clients do, so a forged field cannot hide the id it claims behind
// syntax a strict parser would refuse: leading comments are skipped, and
// the id ends at white space, a comment or ";".
func ServID(value string) string {
	s := skipCFWS(value)
	if strings.HasPrefix(s, `"`) {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 {
			return strings.ToLower(s[1 : 1+end])
		}
		return ""
	}
	end := strings.IndexAny(s, " \t\r\n(;")
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
}

// skipCFWS drops leading white space and (nested) comments, RFC 5322
// section 3.2.2.
func skipCFWS(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return s[i:]
		}
	}
	return ""
}
