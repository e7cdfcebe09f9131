package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"mailport/internal/domainname"
)

// Errors of address handling. Protocol layers map them to replies: SMTP
// renders ErrUnknownRecipient as 550 5.1.1 and ErrRelayDenied as 554 5.7.1.
var (
	ErrInvalidAddress   = errors.New("invalid address")
	ErrInvalidDomain    = domainname.ErrInvalid
	ErrRelayDenied      = errors.New("relay access denied")
	ErrUnknownRecipient = errors.New("no such user here")
	ErrDisabled         = errors.New("mailbox disabled")
	ErrLoop             = errors.New("alias loop or chain too deep")
)

// maxAddressLength follows RFC 5321 section 4.5.3.1.3 (path of 256 octets
// including the angle brackets).
const maxAddressLength = 254

// ParseAddress splits an address into its lower-cased local part and its
// domain in canonical form (domainname.Normalize: A-labels), so that
// user@bücher.example and user@XN--BCHER-KVA.example are one key. It
// accepts dot-atom local parts (RFC 5322 section 3.4.1) in ASCII or UTF-8
// (RFC 6531) and refuses what relay tricks are made of: quoted local parts
// ("a@b"@host), '%' and '!' routing (user%other@host), and source routes
// (@a,@b:user@host). Such addresses get ErrRelayDenied, any other
// malformed address ErrInvalidAddress.
func ParseAddress(addr string) (local, domain string, err error) {
	if addr == "" || len(addr) > maxAddressLength || !utf8.ValidString(addr) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	if strings.HasPrefix(addr, "@") || strings.HasPrefix(addr, `"`) {
		return "", "", fmt.Errorf("%w: %q: source routes and quoted local parts are not accepted", ErrRelayDenied, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", "", fmt.Errorf("%w: %q: missing local part or domain", ErrInvalidAddress, addr)
	}
	local, domain = addr[:at], addr[at+1:]
	if strings.ContainsAny(local, `%!@":`) {
		return "", "", fmt.Errorf("%w: %q: routing characters in local part", ErrRelayDenied, addr)
	}
	if len(local) > 64 {
		return "", "", fmt.Errorf("%w: %q: local part longer than 64 octets", ErrInvalidAddress, addr)
	}
	if !validDotAtom(local) {
		return "", "", fmt.Errorf("%w: %q: bad local part", ErrInvalidAddress, addr)
	}
	domain, err = domainname.Normalize(domain)
	if err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrInvalidAddress, addr, err)
	}
	return strings.ToLower(local), domain, nil
}

// NormalizeAddress returns addr in the canonical form used as a key
// everywhere: local part lower-cased, domain in A-labels.
func NormalizeAddress(addr string) (string, error) {
	l, d, err := ParseAddress(strings.TrimSpace(addr))
	if err != nil {
		return "", err
	}
	return l + "@" + d, nil
}

// validDotAtom reports whether s is a dot-atom: atext runs separated by
// single dots (RFC 5322 section 3.2.3), with UTF-8 allowed (RFC 6532).
func validDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 {
			continue
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r) {
			return false
		}
	}
	return true
}
