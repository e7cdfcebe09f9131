package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrNotText is returned by DecodedText for a part that is not a text/*
// leaf.
var ErrNotText = errors.New("mime: part is not text")

// DecodedText returns the body of the text part p of the raw message r as
// UTF-8 text, for the search index: the Content-Transfer-Encoding is undone
// (base64 and quoted-printable, both decoded leniently; other encodings are
// passed through) and the charset converted. UTF-8 and US-ASCII are passed
// through with invalid bytes replaced by U+FFFD; ISO-8859-1,
// Windows-1252 and ISO-8859-15 are converted; other charsets are passed
// through unchanged. The reader streams: memory use does not grow with the
// part; a caller wanting a bound on the text wraps it in io.LimitReader.
func DecodedText(r io.ReaderAt, p *Part) (io.Reader, error) {
	if p.Type != "text" || len(p.Parts) > 0 || p.Message != nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotText, p.Type, p.Subtype)
	}
	var body io.Reader = io.NewSectionReader(r, p.BodyStart, p.End-p.BodyStart)
	switch p.Encoding {
	case "BASE64":
		body = &base64Reader{src: body}
	case "QUOTED-PRINTABLE":
		body = &qpReader{br: bufio.NewReader(body)}
	}
	return charsetReader(p.Param("charset"), body), nil
}

// base64Reader decodes base64 (RFC 2045 section 6.8) leniently: characters
// outside the alphabet (line breaks, junk) are ignored, as section 6.8
// tells decoders to do, and '=' ends a quantum wherever it appears, so
// concatenated encodings decode too.
type base64Reader struct {
	src  io.Reader
	in   [4096]byte
	buf  []byte // backing array of out, reused
	out  []byte
	acc  uint32
	nacc int
	err  error
}

var base64Values = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

func (r *base64Reader) flushQuantum() {
	switch r.nacc {
	case 2:
		r.out = append(r.out, byte(r.acc>>4))
	case 3:
		r.out = append(r.out, byte(r.acc>>10), byte(r.acc>>2))
	}
	r.acc, r.nacc = 0, 0
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n, err := r.src.Read(r.in[:])
		r.out = r.buf[:0]
		for _, c := range r.in[:n] {
			v := base64Values[c]
			switch {
			case v >= 0:
				r.acc = r.acc<<6 | uint32(v)
				r.nacc++
				if r.nacc == 4 {
					r.out = append(r.out, byte(r.acc>>16), byte(r.acc>>8), byte(r.acc))
					r.acc, r.nacc = 0, 0
				}
			case c == '=':
				r.flushQuantum()
			}
		}
		if err != nil {
			r.flushQuantum()
			r.err = err
		}
		r.buf = r.out
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// qpReader decodes quoted-printable (RFC 2045 section 6.7) leniently: "="
// not followed by two hex digits or a line break is kept literally, a soft
// line break may have trailing whitespace after the "=" (rule 3), and lines
// of any length are accepted.
type qpReader struct {
	br *bufio.Reader
}

func (r *qpReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := r.br.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if c != '=' {
			p[n] = c
			n++
			continue
		}
		if h, _ := r.br.Peek(2); len(h) == 2 && isHex(h[0]) && isHex(h[1]) {
			p[n] = unhex(h[0])<<4 | unhex(h[1])
			n++
			_, _ = r.br.Discard(2) // cannot fail: the bytes were peeked
			continue
		}
		if k := r.softBreak(); k >= 0 {
			_, _ = r.br.Discard(k)
			continue
		}
		p[n] = '='
		n++
	}
	return n, nil
}

// softBreak returns how many bytes after an "=" form a soft line break
// (optional whitespace, then CRLF, LF or the end of the data), or -1.
func (r *qpReader) softBreak() int {
	// Peek more than the buffer holds reports ErrBufferFull even at EOF.
	b, err := r.br.Peek(min(128, r.br.Size()))
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	switch {
	case i < len(b) && b[i] == '\n':
		return i + 1
	case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
		return i + 2
	case i == len(b) && errors.Is(err, io.EOF):
		return i // whitespace to the end of the data
	}
	return -1
}

// Windows-1252 differs from ISO-8859-1 in 0x80-0x9F, which ISO-8859-1 uses
// for C1 controls that mail never means; like browsers (WHATWG Encoding),
// treat ISO-8859-1 as Windows-1252. Unassigned bytes map to the C1 code
// point of the same value.
var cp1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// byteTable maps every byte of a single-byte charset to its code point.
type byteTable [256]rune

var (
	tableCP1252 = func() (t byteTable) {
		for i := range t {
			t[i] = rune(i)
		}
		for i, r := range cp1252High {
			t[0x80+i] = r
		}
		return t
	}()
	// ISO-8859-15 replaces eight ISO-8859-1 code points (the euro sign
	// among them).
	tableLatin9 = func() (t byteTable) {
		for i := range t {
			t[i] = rune(i)
		}
		for b, r := range map[byte]rune{0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178} {
			t[b] = r
		}
		return t
	}()
)

// charsetKind classifies a charset name (RFC 2978 names and common
// aliases): table is nil for UTF-8 and for charsets passed through.
func charsetKind(charset string) (table *byteTable, isUTF8 bool) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return nil, true
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1",
		"windows-1252", "cp1252", "x-cp1252":
		return &tableCP1252, false
	case "iso-8859-15", "iso8859-15", "iso_8859-15", "latin-9", "latin9":
		return &tableLatin9, false
	}
	return nil, false
}

// charsetToUTF8 converts a short string (a parameter value).
func charsetToUTF8(charset string, b []byte) []byte {
	table, isUTF8 := charsetKind(charset)
	switch {
	case isUTF8:
		return bytes.ToValidUTF8(b, []byte("\uFFFD"))
	case table != nil:
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, table[c])
		}
		return out
	}
	return b
}

// charsetReader converts src from charset to UTF-8 as it streams.
func charsetReader(charset string, src io.Reader) io.Reader {
	table, isUTF8 := charsetKind(charset)
	switch {
	case isUTF8:
		return &utf8Reader{br: bufio.NewReader(src)}
	case table != nil:
		return &tableReader{src: src, table: table}
	}
	return src
}

// tableReader converts a single-byte charset to UTF-8.
type tableReader struct {
	src   io.Reader
	table *byteTable
	in    [2048]byte
	buf   []byte // backing array of out, reused
	out   []byte
	err   error
}

func (r *tableReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n, err := r.src.Read(r.in[:])
		r.out = r.buf[:0]
		for _, c := range r.in[:n] {
			r.out = utf8.AppendRune(r.out, r.table[c])
		}
		r.buf = r.out
		r.err = err
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// utf8Reader passes UTF-8 through, replacing invalid bytes with U+FFFD so
// the search index only ever sees valid text.
type utf8Reader struct {
	br  *bufio.Reader
	buf []byte // backing array of out, reused
	out []byte
	err error
}

func (r *utf8Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.out = r.buf[:0]
		for len(r.out) < 4096 {
			c, size, err := r.br.ReadRune()
			if err != nil {
				r.err = err
				break
			}
			if c == utf8.RuneError && size == 1 {
				c = '\uFFFD'
			}
			r.out = utf8.AppendRune(r.out, c)
		}
		r.buf = r.out
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}
