package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	stdmime "mime"
	"strings"
	"unicode/utf8"
)

// MaxExtractedText bounds each of the two texts ExtractText returns, so one
// huge text part cannot make a delivery, or a SEARCH that scans blobs,
// arbitrarily expensive. It matches the bound of the store's search index:
// SEARCH BODY does not find text beyond it, indexed or not.
const MaxExtractedText = 1 << 20

// MaxHeaderRead bounds how much of one header IMAP code reads into memory
// to pick out fields (HEADER.FIELDS, SEARCH HEADER, THREAD References);
// fields after it are not seen.
const MaxHeaderRead = 1 << 20

// ErrUnknownEncoding is returned by TransferDecoded for a part whose
// Content-Transfer-Encoding is not one of RFC 2045's (IMAP answers
// "NO [UNKNOWN-CTE]", RFC 3516 section 4.3).
var ErrUnknownEncoding = errors.New("mime: unknown content-transfer-encoding")

// TransferDecoded returns the body of part p of the raw message r with its
// Content-Transfer-Encoding undone and nothing else (no charset
// conversion): the content IMAP BINARY[section] serves (RFC 3516 section
// 4.2). 7bit, 8bit and binary bodies (and so every multipart and message
// body, RFC 2045 section 6.4) are returned as they are.
func TransferDecoded(r io.ReaderAt, p *Part) (io.Reader, error) {
	var body io.Reader = io.NewSectionReader(r, p.BodyStart, p.End-p.BodyStart)
	switch p.Encoding {
	case "", "7BIT", "8BIT", "BINARY":
		return body, nil
	case "BASE64":
		return &base64Reader{src: body}, nil
	case "QUOTED-PRINTABLE":
		return &qpReader{br: bufio.NewReader(body)}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownEncoding, p.Encoding)
}

// HeaderField is one field of a raw header as it was written.
type HeaderField struct {
	// Name is the field name as written (compare it case-insensitively);
	// "" for a line that is not a field (no colon), kept so that a header
	// can be reproduced without losing bytes.
	Name string
	// Raw is the whole field: its first line and every folded
	// continuation line, line breaks included.
	Raw []byte
}

// Value returns the field's value unfolded (RFC 5322 section 2.2.3: line
// breaks removed, the whitespace after them kept) and trimmed, as valid
// UTF-8 but with encoded words not decoded.
func (f HeaderField) Value() string {
	i := bytes.IndexByte(f.Raw, ':')
	if i < 0 {
		return ""
	}
	v := f.Raw[i+1:]
	if bytes.ContainsAny(v, "\r\n") {
		v = bytes.ReplaceAll(bytes.ReplaceAll(v, []byte("\r"), nil), []byte("\n"), nil)
	}
	return strings.TrimSpace(headerText(v))
}

// SplitHeader splits a raw header (a part's bytes from HeaderStart to
// BodyStart) into its fields, in order. It stops at the blank line that
// ends the header; the blank line is not a field.
func SplitHeader(b []byte) []HeaderField {
	var fields []HeaderField
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\n') + 1
		if end == 0 {
			end = len(b)
		}
		line := b[:end]
		if len(trimEOL(line)) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			// RFC 5322 section 2.2.3: a line starting with white space
			// continues the field before it.
			last := &fields[len(fields)-1]
			last.Raw = last.Raw[:len(last.Raw)+len(line)]
		} else {
			name := ""
			if i := bytes.IndexByte(line, ':'); i > 0 {
				name = string(bytes.TrimRight(line[:i], " \t"))
			}
			fields = append(fields, HeaderField{Name: name, Raw: line[:len(line):len(b)]})
		}
		b = b[end:]
	}
	// Continuations extended Raw within b's backing array; cap each
	// field so that a caller appending to one cannot overwrite the next.
	for i := range fields {
		fields[i].Raw = fields[i].Raw[:len(fields[i].Raw):len(fields[i].Raw)]
	}
	return fields
}

// ReadHeader reads the header of part p ([HeaderStart, BodyStart), blank
// line included) from the raw message r, at most MaxHeaderRead bytes.
func ReadHeader(r io.ReaderAt, p *Part) ([]byte, error) {
	n := min(p.BodyStart-p.HeaderStart, MaxHeaderRead)
	if n <= 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, p.HeaderStart); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("mime: read header at %d: %w", p.HeaderStart, err)
	}
	return b, nil
}

// wordDecoder decodes RFC 2047 encoded words. Charsets this package knows
// are converted; others are passed through, so decoding never fails for
// an unknown charset alone.
var wordDecoder = &stdmime.WordDecoder{
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		return charsetReader(charset, input), nil
	},
}

// DecodeHeader decodes the RFC 2047 encoded words of an unfolded header
// value to UTF-8 (RFC 2047 section 6.2: white space between adjacent
// encoded words is dropped). A value that cannot be decoded is returned
// as it is; the result is always valid UTF-8.
func DecodeHeader(s string) string {
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	if !utf8.ValidString(s) {
		// Raw 8-bit bytes: read as Windows-1252, as headerText does.
		s = string(charsetToUTF8("windows-1252", []byte(s)))
	}
	return s
}

// textBuilder collects text up to MaxExtractedText bytes, cut at a
// character boundary.
type textBuilder struct {
	b    strings.Builder
	full bool
}

func (t *textBuilder) WriteString(s string) {
	if t.full {
		return
	}
	room := MaxExtractedText - t.b.Len()
	if len(s) > room {
		for room > 0 && !utf8.RuneStart(s[room]) {
			room--
		}
		s = s[:room]
		t.full = true
	}
	t.b.WriteString(s)
}

// copyFrom copies decoded text from r until it ends or the builder is
// full.
func (t *textBuilder) copyFrom(r io.Reader) error {
	buf := make([]byte, 32<<10)
	var carry []byte
	for !t.full {
		n, err := r.Read(buf[len(carry):])
		chunk := buf[:len(carry)+n]
		// Keep an incomplete character for the next read so the cut in
		// WriteString never splits one that would have completed.
		keep := 0
		if err == nil {
			for k := 1; k <= 3 && k <= len(chunk); k++ {
				if utf8.RuneStart(chunk[len(chunk)-k]) {
					if !utf8.FullRune(chunk[len(chunk)-k:]) {
						keep = k
					}
					break
				}
			}
		}
		t.WriteString(string(chunk[:len(chunk)-keep]))
		carry = append(buf[:0:0], chunk[len(chunk)-keep:]...)
		copy(buf, carry)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeHeaderText writes the fields of a raw header as "name: value"
// lines, the values as FieldText gives them.
func writeHeaderText(t *textBuilder, raw []byte) {
	for _, f := range SplitHeader(raw) {
		if f.Name == "" {
			continue
		}
		t.WriteString(f.Name)
		t.WriteString(": ")
		t.WriteString(FieldText(f))
		t.WriteString("\n")
	}
}

// lineBreaks turns the line breaks an encoded word can decode to into
// spaces.
var lineBreaks = strings.NewReplacer("\r", " ", "\n", " ")

// FieldText is the text of a field that IMAP SEARCH compares against
// (RFC 9051 section 6.4.4, FROM, SUBJECT, HEADER ...): the value unfolded,
// its RFC 2047 encoded words decoded, and any line break that decoding
// produced turned into a space, so the field is exactly one line of the
// header text ExtractText produces and the store can match a field by its
// line.
func FieldText(f HeaderField) string {
	v := DecodeHeader(f.Value())
	if strings.ContainsAny(v, "\r\n") {
		v = lineBreaks.Replace(v)
	}
	return v
}

// ExtractText produces the text the search index holds for message m
// whose raw bytes are r (store.NewMessage.HeaderText and BodyText), and
// what IMAP SEARCH compares against when a message is not indexed, so both
// paths find the same things (RFC 9051 section 6.4.4, BODY and TEXT):
//
//   - headerText: every field of the top-level header as one line
//     "Name: value\n", the value as FieldText gives it. Every message with a header therefore has a ':' in its
//     header text, which IMAP uses to tell indexed messages apart.
//   - bodyText: the body of every text/* part with its transfer encoding
//     (base64, quoted-printable) undone and its charset converted to UTF-8
//     (DecodedText), and the decoded header fields of every encapsulated
//     message/rfc822, each followed by a line break.
//
// Each text is at most MaxExtractedText bytes. Only an I/O error from r
// makes it fail.
func ExtractText(r io.ReaderAt, m *Message) (headerText, bodyText string, err error) {
	var head, body textBuilder
	raw, err := ReadHeader(r, &m.Root)
	if err != nil {
		return "", "", err
	}
	writeHeaderText(&head, raw)

	m.Walk(func(_ []int, p *Part) bool {
		switch {
		case p.Message != nil:
			raw, err = ReadHeader(r, p.Message)
			if err != nil {
				return false
			}
			writeHeaderText(&body, raw)
		case p.Type == "text" && len(p.Parts) == 0:
			var text io.Reader
			text, err = DecodedText(r, p)
			if err != nil {
				return false
			}
			if err = body.copyFrom(text); err != nil {
				err = fmt.Errorf("mime: decode text part: %w", err)
				return false
			}
			body.WriteString("\n")
		}
		return !body.full
	})
	if err != nil {
		return "", "", err
	}
	return head.b.String(), body.b.String(), nil
}
