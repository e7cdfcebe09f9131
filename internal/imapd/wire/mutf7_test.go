package wire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestModifiedUTF7RoundTrip(t *testing.T) {
	tests := []struct{ utf8, wire string }{
		{"INBOX", "INBOX"},
		{"&", "&-"},
		{"Tom & Jerry", "Tom &- Jerry"},
		{"&&", "&-&-"},
		// RFC 3501 section 5.1.3 example.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"Straße", "Stra&AN8-e"},
		{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
		{"受信トレイ", "&U9dP4TDIMOwwpA-"},
		{"😀", "&2D3eAA-"},
		{"a\tb", "a&AAk-b"},
		{"日本語&ü", "&ZeVnLIqe-&-&APw-"},
	}
	for _, tc := range tests {
		if got := EncodeMailboxName(tc.utf8, false); got != tc.wire {
			t.Errorf("EncodeMailboxName(%q) = %q, want %q", tc.utf8, got, tc.wire)
		}
		got, err := DecodeMailboxName(tc.wire, false)
		if err != nil || got != tc.utf8 {
			t.Errorf("DecodeMailboxName(%q) = %q, %v; want %q", tc.wire, got, err, tc.utf8)
		}
		if got := EncodeMailboxName(tc.utf8, true); got != tc.utf8 {
			t.Errorf("EncodeMailboxName(%q, utf8) = %q", tc.utf8, got)
		}
	}
}

func TestModifiedUTF7Invalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"unterminated shift", "&Jjo"},
		{"bad character", "&Jj!-"},
		{"8-bit byte", "Entw\xc3\xbcrfe"},
		{"printable ASCII encoded", "&AGE-"},
		{"adjacent shifts", "&ZeVnLIqe-&U,BTFw-"},
		{"unpaired high surrogate", "&2D0-"},
		{"unpaired low surrogate", "&3gA-"},
		{"nonzero padding bits", "&AN9-"},
		{"too much padding", "&AN8A-"},
		{"standard base64 slash", "&U/BTFw-"},
		{"raw control character", "a\x10b"},
		{"raw DEL", "a\x7f"},
	}
	for _, tc := range tests {
		if got, err := DecodeMailboxName(tc.in, false); err == nil {
			t.Errorf("%s: DecodeMailboxName(%q) = %q, want error", tc.name, tc.in, got)
		}
	}
	if _, err := DecodeMailboxName("bad\xff", true); err == nil {
		t.Errorf("invalid UTF-8 accepted with UTF8 enabled")
	}
}

func TestInboxCaseInsensitive(t *testing.T) {
	tests := []struct{ in, want string }{
		{"inbox", "INBOX"},
		{"InBoX", "INBOX"},
		{"INBOX", "INBOX"},
		{"inbox/sub", "inbox/sub"},
		{"inboxes", "inboxes"},
	}
	for _, tc := range tests {
		for _, u := range []bool{false, true} {
			if got, err := DecodeMailboxName(tc.in, u); err != nil || got != tc.want {
				t.Errorf("DecodeMailboxName(%q, %v) = %q, %v; want %q", tc.in, u, got, err, tc.want)
			}
		}
	}
}

func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "&-", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "Entwürfe", "😀x", "&AN9-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever decodes must encode back to the same wire form, and
		// every valid UTF-8 name must survive an encode/decode trip.
		if name, err := DecodeMailboxName(s, false); err == nil && !strings.EqualFold(s, "INBOX") {
			if enc := EncodeMailboxName(name, false); enc != s {
				t.Errorf("Decode(%q) = %q re-encodes as %q", s, name, enc)
			}
		}
		if utf8.ValidString(s) && !strings.EqualFold(s, "INBOX") {
			enc := EncodeMailboxName(s, false)
			if got, err := DecodeMailboxName(enc, false); err != nil || got != s {
				t.Errorf("round trip of %q via %q = %q, %v", s, enc, got, err)
			}
		}
	})
}
