package smtpd

import (
	"fmt"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
)

// The DSN extension (RFC 3461) is announced on every port. go-smtp
// checks the syntax of its parameters before the session sees them (501
// 5.5.4 for an unknown RET value, a NOTIFY list that is empty, repeats a
// keyword or pairs NEVER with another, and an ENVID or ORCPT that is not
// valid xtext or not printable ASCII); what it leaves to us are the
// length limits below, counted as the client sent them (xtext).
const (
	// maxEnvelopeIDLen is the ENVID limit of RFC 3461 section 4.4.
	maxEnvelopeIDLen = 100
	// maxOriginalRecipientLen is the ORCPT limit of RFC 3461 section
	// 4.2 (type, ";" and address).
	maxOriginalRecipientLen = 500
)

// checkMailDSN refuses a MAIL whose ENVID is too long.
func checkMailDSN(opts *smtp.MailOptions) *delivery.Error {
	if n := xtextLen(opts.EnvelopeID); n > maxEnvelopeIDLen {
		return dsnParamError("ENVID", n, maxEnvelopeIDLen, "4.4")
	}
	return nil
}

// checkRcptDSN refuses a RCPT whose ORCPT is too long.
func checkRcptDSN(opts *smtp.RcptOptions) *delivery.Error {
	if opts.OriginalRecipient == "" {
		return nil
	}
	if n := len(opts.OriginalRecipientType) + 1 + xtextLen(opts.OriginalRecipient); n > maxOriginalRecipientLen {
		return dsnParamError("ORCPT", n, maxOriginalRecipientLen, "4.2")
	}
	return nil
}

// dsnParamError is the 501 5.5.4 answer (RFC 3463: invalid command
// arguments) to a DSN parameter over its limit.
func dsnParamError(name string, n, limit int, section string) *delivery.Error {
	return &delivery.Error{Code: 501, Enhanced: [3]int{5, 5, 4},
		Message: fmt.Sprintf("%s parameter is %d characters, at most %d allowed (RFC 3461 section %s)", name, n, limit, section)}
}

// xtextLen is the length of s encoded as xtext (RFC 3461 section 4):
// "!" to "~" but "+" and "=" stand for themselves, other ASCII octets
// take "+HH". Octets above 127 (a utf-8 ORCPT, RFC 6533) count once,
// as in the utf-8-addr-unitext form, the shortest a client may send.
func xtextLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80 || (c >= '!' && c <= '~' && c != '+' && c != '='):
			n++
		default:
			n += 3
		}
	}
	return n
}

// recipientDSN is what RCPT asked about the notices for its recipient.
func recipientDSN(opts *smtp.RcptOptions) delivery.RecipientDSN {
	return delivery.RecipientDSN{Notify: opts.Notify, OriginalRecipientType: opts.OriginalRecipientType,
		OriginalRecipient: opts.OriginalRecipient}
}
