// Package domainname holds the one form of a domain name that mailport
// stores, looks up, compares and publishes: lower-case ASCII, with every
// internationalized label as its A-label (RFC 5890 section 2.3.2.1). A
// name reaches mailport in either form, since an SMTP client without
// SMTPUTF8 (RFC 6531) must write xn--bcher-kva.example where an SMTPUTF8
// client or an admin may write bücher.example; both must find the same
// domain. The A-label form is the one DNS holds, so records, DKIM d=
// (RFC 6376 section 3.5), host names to dial and MX lookups use stored
// names as they are. Display turns a name back into U-labels for people.
//
// It is a package of its own, with no mailport imports, because the
// directory, the authenticator (logins) and the store (its migration of
// names written by older versions) all need the same conversion.
package domainname

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ErrInvalid is a name that is not a domain name mailport can host or
// route to.
var ErrInvalid = errors.New("invalid domain name")

// Normalize returns name in canonical form, or ErrInvalid. An
// internationalized name is mapped and checked as IDNA2008 lookup asks
// (RFC 5891 section 5, with the UTS 46 mapping, which lower-cases and
// maps full-width dots and letters), and each of its labels becomes an
// A-label; an A-label must decode to a valid U-label. The result must
// then be a host name: labels of letters, digits and hyphens, 1 to 63
// octets, no leading or trailing hyphen, at least two labels, at most 253
// octets, and a last label that is not all digits. One trailing dot (the
// root) is dropped. Address literals ([192.0.2.1]) are refused: mailport
// hosts names only.
func Normalize(name string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(name), ".")
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("%w: %q: not UTF-8", ErrInvalid, d)
	}
	if !isASCII(d) || strings.Contains(strings.ToLower(d), "xn--") {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %v", ErrInvalid, d, err)
		}
		d = a
	}
	d = strings.ToLower(d)
	// RFC 1035 section 2.3.4 limits apply to the A-label form, the one
	// on the wire.
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%w: %q", ErrInvalid, d)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: %q: needs at least two labels", ErrInvalid, d)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: %q", ErrInvalid, d)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("%w: %q: bad character %q", ErrInvalid, d, r)
			}
		}
	}
	// RFC 3696 section 2: a top-level domain is never all digits (that
	// would be an IP address written wrong).
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("%w: %q: the last label is all digits", ErrInvalid, d)
	}
	return d, nil
}

// InAddress returns addr with its domain (after the last "@") in
// canonical form, for looking up an address that was not parsed as one:
// a login, or an address stored by an older version. The local part is
// left as it is. addr comes back unchanged when it has no "@" (an admin
// login) or its domain does not normalize (it then matches nothing).
func InAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	d, err := Normalize(addr[at+1:])
	if err != nil {
		return addr
	}
	return addr[:at+1] + d
}

// Canonical returns name in canonical form when it normalizes, and
// otherwise lower-cased without a root dot. It is for names from the
// network that must be looked up or compared whether or not mailport
// could host them (an address literal, a name with an underscore): a
// U-label name still becomes the A-labels DNS holds (RFC 5891 section 5).
func Canonical(name string) string {
	if d, err := Normalize(name); err == nil {
		return d
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// Display returns name with its A-labels as U-labels (RFC 5890 section
// 2.3.2.1), the form for people; a name without A-labels, or one that
// does not convert, comes back as it is.
func Display(name string) string {
	if !strings.Contains(name, "xn--") {
		return name
	}
	u, err := idna.Display.ToUnicode(name)
	if err != nil {
		return name
	}
	return u
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
