package directory

import (
	"errors"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in            string
		local, domain string
		err           error
	}{
		{"User@Example.TEST", "user", "example.test", nil},
		{"first.last+tag@example.test", "first.last+tag", "example.test", nil},
		{"jürgen@bücher.test", "jürgen", "xn--bcher-kva.test", nil},
		{"Jürgen@BÜCHER.test", "jürgen", "xn--bcher-kva.test", nil},
		{"user@XN--BCHER-KVA.test", "user", "xn--bcher-kva.test", nil},
		{"user@example.test.", "user", "example.test", nil},
		{"user%other.test@example.test", "", "", ErrRelayDenied},
		{"user!other.test@example.test", "", "", ErrRelayDenied},
		{`"a@b"@example.test`, "", "", ErrRelayDenied},
		{"@relay.test:user@example.test", "", "", ErrRelayDenied},
		{"@a.test,@b.test:user@example.test", "", "", ErrRelayDenied},
		{"", "", "", ErrInvalidAddress},
		{"user", "", "", ErrInvalidAddress},
		{"@example.test", "", "", ErrRelayDenied},
		{"user@", "", "", ErrInvalidAddress},
		{"user@localhost", "", "", ErrInvalidAddress},
		{"user@[127.0.0.1]", "", "", ErrInvalidAddress},
		{".user@example.test", "", "", ErrInvalidAddress},
		{"us..er@example.test", "", "", ErrInvalidAddress},
		{"us er@example.test", "", "", ErrInvalidAddress},
		{"user@exa_mple.test", "", "", ErrInvalidAddress},
		{"user@-example.test", "", "", ErrInvalidAddress},
		{"\xff@example.test", "", "", ErrInvalidAddress},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			l, d, err := ParseAddress(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseAddress(%q) error = %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tc.in, err)
			}
			if l != tc.local || d != tc.domain {
				t.Fatalf("ParseAddress(%q) = %q, %q; want %q, %q", tc.in, l, d, tc.local, tc.domain)
			}
		})
	}
}

func TestParseAddressLengthLimits(t *testing.T) {
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'a'
	}
	if _, _, err := ParseAddress(string(long) + "@example.test"); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("65-octet local part: err = %v", err)
	}
}
