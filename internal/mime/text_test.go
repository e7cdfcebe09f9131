package mime

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?ISO-8859-1?Q?Gr=FC=DFe?=", "Grüße"},
		{"=?UTF-8?B?R3LDvMOfZQ==?= aus", "Grüße aus"},
		// RFC 2047 section 6.2: white space between encoded words goes.
		{"=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab"},
		{"=?windows-1252?Q?=80?=", "€"},
		// Unknown charset: the bytes pass through, still valid UTF-8.
		{"=?x-unknown?Q?abc?=", "abc"},
		{"=?UTF-8?Q?broken", "=?UTF-8?Q?broken"},
		{"caf\xe9", "café"},
	}
	for _, tc := range tests {
		if got := DecodeHeader(tc.in); got != tc.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitHeader(t *testing.T) {
	raw := "Subject: one\r\n two\r\nX-A : b\r\nnot a field\r\n\tcontinued\r\nTo: c\r\n\r\nbody: not header\r\n"
	fields := SplitHeader([]byte(raw))
	want := []struct{ name, raw, value string }{
		{"Subject", "Subject: one\r\n two\r\n", "one two"},
		{"X-A", "X-A : b\r\n", "b"},
		{"", "not a field\r\n\tcontinued\r\n", ""},
		{"To", "To: c\r\n", "c"},
	}
	if len(fields) != len(want) {
		t.Fatalf("got %d fields: %q", len(fields), fields)
	}
	for i, w := range want {
		f := fields[i]
		if f.Name != w.name || string(f.Raw) != w.raw || f.Value() != w.value {
			t.Errorf("field %d = %q %q %q, want %q %q %q", i, f.Name, f.Raw, f.Value(), w.name, w.raw, w.value)
		}
	}
	// Appending to one field must not overwrite the next.
	_ = append(fields[0].Raw, "XXXXXXXX"...)
	if string(fields[1].Raw) != "X-A : b\r\n" {
		t.Errorf("append to a field changed the next: %q", fields[1].Raw)
	}
	if got := SplitHeader([]byte("A: 1\nB: 2")); len(got) != 2 || string(got[1].Raw) != "B: 2" {
		t.Errorf("LF and unterminated header: %q", got)
	}
}

func TestTransferDecoded(t *testing.T) {
	raw := crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\nAAEC\nAw==\n--b\n" +
		"Content-Transfer-Encoding: quoted-printable\n\na=3Db=\nc\n--b\nContent-Transfer-Encoding: x-uue\n\nzzz\n--b--\n")
	m := mustParse(t, raw)
	r := strings.NewReader(raw)
	tests := []struct {
		sec  string
		want string
		err  error
	}{
		{"1", "\x00\x01\x02\x03", nil},
		{"2", "a=bc", nil},
		{"3", "", ErrUnknownEncoding},
	}
	for _, tc := range tests {
		p, ok := m.Find(parseSection(t, tc.sec))
		if !ok {
			t.Fatalf("no part %s", tc.sec)
		}
		dec, err := TransferDecoded(r, p)
		if !errors.Is(err, tc.err) {
			t.Fatalf("part %s: err %v, want %v", tc.sec, err, tc.err)
		}
		if err != nil {
			continue
		}
		b, err := io.ReadAll(dec)
		if err != nil || string(b) != tc.want {
			t.Errorf("part %s: %q, %v; want %q", tc.sec, b, err, tc.want)
		}
	}
	// The multipart itself is returned as it is.
	dec, err := TransferDecoded(r, &m.Root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(dec)
	if string(b) != raw[m.Root.BodyStart:m.Root.End] {
		t.Errorf("multipart body: %q", b)
	}
}

func TestExtractText(t *testing.T) {
	raw := crlf("From: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\nSubject: a\n b\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\n" +
		"--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\nAAAA\n" +
		"--b\nContent-Type: message/rfc822\n\nSubject: =?UTF-8?Q?inn=C3=A9r?=\n\ninner body\n--b--\n")
	m := mustParse(t, raw)
	head, body, err := ExtractText(strings.NewReader(raw), m)
	if err != nil {
		t.Fatal(err)
	}
	wantHead := "From: Jörg <j@example.org>\nSubject: a b\nContent-Type: multipart/mixed; boundary=b\n"
	if head != wantHead {
		t.Errorf("header text %q, want %q", head, wantHead)
	}
	wantBody := "Grüße\nSubject: innér\ninner body\n"
	if body != wantBody {
		t.Errorf("body text %q, want %q", body, wantBody)
	}
}

func TestExtractTextBounded(t *testing.T) {
	// A text part far beyond the bound, of two-byte characters, so that
	// the cut must land on a character boundary.
	text := strings.Repeat("é", MaxExtractedText)
	raw := "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
	m := mustParse(t, raw)
	_, body, err := ExtractText(strings.NewReader(raw), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > MaxExtractedText || len(body) < MaxExtractedText-4 || !utf8.ValidString(body) {
		t.Errorf("body text of %d bytes, valid UTF-8 %v", len(body), utf8.ValidString(body))
	}
}

// TestFieldTextOneLine: a line break decoded from an encoded word becomes
// a space, so that every field stays one line of the header text (the
// store matches FROM/SUBJECT/HEADER by line).
func TestFieldTextOneLine(t *testing.T) {
	raw := "Subject: =?utf-8?q?a=0D=0Afrom:_evil?=\r\nFrom: =?utf-8?q?Jos=C3=A9?= <j@example.com>\r\n\r\nbody\r\n"
	fields := SplitHeader([]byte(raw))
	if got, want := FieldText(fields[0]), "a  from: evil"; got != want {
		t.Errorf("FieldText(Subject) = %q, want %q", got, want)
	}
	if got, want := FieldText(fields[1]), "José <j@example.com>"; got != want {
		t.Errorf("FieldText(From) = %q, want %q", got, want)
	}
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := ExtractText(strings.NewReader(raw), m)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Subject: a  from: evil\nFrom: José <j@example.com>\n"; head != want {
		t.Errorf("header text %q, want %q", head, want)
	}
}
