package wire

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Mailbox names travel as modified UTF-7 for IMAP4rev1 clients (RFC 3501
// section 5.1.3) and as UTF-8 once the client enabled IMAP4rev2 or
// UTF8=ACCEPT (RFC 9051 section 5.1, RFC 6855 section 3). Inside mailport
// names are always UTF-8.

// mutf7Alphabet is base64 with "," instead of "/" (RFC 3501 section 5.1.3).
const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var mutf7Decode = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(mutf7Alphabet); i++ {
		t[mutf7Alphabet[i]] = int8(i)
	}
	return t
}()

// DecodeMailboxName turns a mailbox name as the client sent it into UTF-8.
// Without utf8Enabled it decodes modified UTF-7 and rejects what RFC 3501
// section 5.1.3 forbids: 8-bit bytes, unterminated or empty shifts other
// than "&-", non-minimal encodings (printable ASCII encoded in base64,
// adjacent shifts), bad padding bits and unpaired surrogates. With
// utf8Enabled it only checks that s is valid UTF-8. In both cases any
// case of "INBOX" becomes "INBOX" (RFC 9051 section 5.1).
// In modified UTF-7, raw control characters are refused too: they must be
// base64-encoded like any non-printable character.
func DecodeMailboxName(s string, utf8Enabled bool) (string, error) {
	var name string
	if utf8Enabled {
		if !utf8.ValidString(s) {
			return "", errors.New("mailbox name is not valid UTF-8")
		}
		name = s
	} else {
		var err error
		if name, err = decodeModifiedUTF7(s); err != nil {
			return "", err
		}
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	return name, nil
}

// EncodeMailboxName turns a UTF-8 mailbox name into the form the client
// expects: unchanged when utf8Enabled, otherwise modified UTF-7. Invalid
// UTF-8 bytes are encoded as U+FFFD.
func EncodeMailboxName(name string, utf8Enabled bool) string {
	if utf8Enabled {
		return name
	}
	return encodeModifiedUTF7(name)
}

func decodeModifiedUTF7(s string) (string, error) {
	var b strings.Builder
	lastShiftEnd := -1 // index just after the previous "&...-" shift
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			return "", errors.New("8-bit byte in modified UTF-7 mailbox name")
		}
		if c < 0x20 || c == 0x7f {
			// Only printable US-ASCII represents itself (RFC 3501
			// section 5.1.3); control characters must be encoded.
			return "", errors.New("control character in modified UTF-7 mailbox name")
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errors.New("unterminated modified UTF-7 shift")
		}
		enc := s[i+1 : i+1+end]
		next := i + 1 + end + 1
		if enc == "" {
			b.WriteByte('&') // "&-" is "&"
			i = next
			continue
		}
		if lastShiftEnd == i {
			// Two adjacent shifts should have been one (RFC 3501 5.1.3).
			return "", errors.New("adjacent modified UTF-7 shifts")
		}
		if err := decodeShift(&b, enc); err != nil {
			return "", err
		}
		lastShiftEnd = next
		i = next
	}
	return b.String(), nil
}

// decodeShift decodes the modified base64 between "&" and "-" as UTF-16BE.
func decodeShift(b *strings.Builder, enc string) error {
	var bits uint32
	nbits := 0
	units := make([]uint16, 0, len(enc)*6/16)
	for i := 0; i < len(enc); i++ {
		v := mutf7Decode[enc[i]]
		if v < 0 {
			return errors.New("invalid character in modified UTF-7 shift")
		}
		bits = bits<<6 | uint32(v)
		nbits += 6
		if nbits >= 16 {
			nbits -= 16
			units = append(units, uint16(bits>>nbits))
			bits &= 1<<nbits - 1
		}
	}
	// Leftover bits are padding and must be zero and fewer than 6.
	if nbits >= 6 || bits != 0 {
		return errors.New("bad padding in modified UTF-7 shift")
	}
	if len(units) == 0 {
		return errors.New("empty modified UTF-7 shift")
	}
	for i := 0; i < len(units); i++ {
		u := units[i]
		var r rune
		switch {
		case utf16.IsSurrogate(rune(u)):
			if u >= 0xdc00 || i+1 >= len(units) {
				return errors.New("unpaired surrogate in modified UTF-7")
			}
			r = utf16.DecodeRune(rune(u), rune(units[i+1]))
			if r == utf8.RuneError {
				return errors.New("unpaired surrogate in modified UTF-7")
			}
			i++
		default:
			r = rune(u)
			// Printable US-ASCII must represent itself (RFC 3501 5.1.3).
			if r >= 0x20 && r <= 0x7e {
				return errors.New("printable ASCII encoded in modified UTF-7 shift")
			}
		}
		b.WriteRune(r)
	}
	return nil
}

func encodeModifiedUTF7(name string) string {
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		b.WriteByte('&')
		var bits uint32
		nbits := 0
		for _, u := range units {
			bits = bits<<16 | uint32(u)
			nbits += 16
			for nbits >= 6 {
				nbits -= 6
				b.WriteByte(mutf7Alphabet[(bits>>nbits)&0x3f])
			}
			bits &= 1<<nbits - 1
		}
		if nbits > 0 {
			b.WriteByte(mutf7Alphabet[(bits<<(6-nbits))&0x3f])
		}
		b.WriteByte('-')
		units = units[:0]
	}
	for _, r := range name {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		units = utf16.AppendRune(units, r)
	}
	flush()
	return b.String()
}
