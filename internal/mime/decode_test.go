package mime

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBase64Reader(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "aGVsbG8gd29ybGQ=", "hello world"},
		{"line breaks", "aGVs\r\nbG8g\r\nd29y\nbGQ=\r\n", "hello world"},
		{"junk ignored", "aGV*sbG8!", "hello"},
		{"no padding", "aGVsbG8", "hello"},
		{"concatenated", "aGk=aGk=", "hihi"},
		{"one char quantum dropped", "aGk=a", "hi"},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// OneByteReader exercises quanta split across reads.
			got, err := io.ReadAll(&base64Reader{src: iotest.OneByteReader(strings.NewReader(tc.in))})
			if err != nil || string(got) != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestQPReader(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"escapes", "caf=C3=A9", "café"},
		{"lower-case hex", "=c3=a9", "é"},
		{"soft break CRLF", "long=\r\nline", "longline"},
		{"soft break LF", "long=\nline", "longline"},
		{"soft break with trailing space", "long= \t\r\nline", "longline"},
		{"hard breaks kept", "a\r\nb\n", "a\r\nb\n"},
		{"bad escape literal", "1=2 =ZZ", "1=2 =ZZ"},
		{"trailing equals", "end=", "end"},
		{"control bytes pass", "a\x00b\x7f", "a\x00b\x7f"},
		{"long line", strings.Repeat("x", 100000) + "=41", strings.Repeat("x", 100000) + "A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(&qpReader{br: newSmallBufReader(tc.in)})
			if err != nil || string(got) != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCharsetReader(t *testing.T) {
	cases := []struct {
		name, charset, in, want string
	}{
		{"utf-8", "UTF-8", "grüße", "grüße"},
		{"utf-8 invalid replaced", "utf-8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"no charset is ascii/utf-8", "", "plain", "plain"},
		{"latin1", "ISO-8859-1", "gr\xfc\xdfe", "grüße"},
		{"latin1 read as cp1252", "iso-8859-1", "\x93q\x94", "“q”"},
		{"cp1252", "windows-1252", "\x80 \x9f", "€ Ÿ"},
		{"latin9", "iso-8859-15", "\xa4\xbd", "€œ"},
		{"unknown passes through", "koi8-r", "\xf0\xd2", "\xf0\xd2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(charsetReader(tc.charset, iotest.HalfReader(strings.NewReader(tc.in))))
			if err != nil || string(got) != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDecodedText(t *testing.T) {
	raw := crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe, soft=
 break
--b
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

PHA+aMOpPC9wPg==
--b
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--b--
`)
	m := mustParse(t, raw)
	r := strings.NewReader(raw)
	cases := []struct {
		section []int
		want    string
		err     error
	}{
		{[]int{1}, "Grüße, soft break", nil},
		{[]int{2}, "<p>hé</p>", nil},
		{[]int{3}, "", ErrNotText},
		{nil, "", ErrNotText}, // the multipart root
	}
	for _, tc := range cases {
		p, ok := m.Find(tc.section)
		if !ok {
			t.Fatalf("section %v not found", tc.section)
		}
		dr, err := DecodedText(r, p)
		if !errors.Is(err, tc.err) {
			t.Fatalf("section %v: err %v, want %v", tc.section, err, tc.err)
		}
		if err != nil {
			continue
		}
		got, err := io.ReadAll(dr)
		if err != nil || string(got) != tc.want {
			t.Errorf("section %v: got %q, %v; want %q", tc.section, got, err, tc.want)
		}
	}
}

// newSmallBufReader gives the QP decoder a reader whose buffer is smaller
// than its longest line and than its look-ahead.
func newSmallBufReader(s string) *bufio.Reader {
	return bufio.NewReaderSize(strings.NewReader(s), 16)
}
