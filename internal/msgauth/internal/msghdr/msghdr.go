// Package msghdr reads the header section of a message once, bounded, so
// DKIM, DMARC and the Authentication-Results builder can look at header
// fields without holding the body in memory.
package msghdr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxHeaderBytes bounds the header section read into memory. Real headers
// are a few kilobytes; long Received chains stay far below this.
const MaxHeaderBytes = 1 << 20

// ErrTooLarge means the header section did not end within MaxHeaderBytes.
var ErrTooLarge = errors.New("msghdr: header section too large")

// Field is one header field: its name as written and its value with the
// folding line breaks kept (RFC 5322 section 2.2.3).
type Field struct {
	Name  string
	Value string
}

// Header is the header section of a message.
type Header struct {
	// Raw is the header section exactly as read, including the empty line
	// that ends it (if the message had one).
	Raw    []byte
	Fields []Field
}

// Values returns the values of every field named name (case-insensitive),
// unfolded and trimmed.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, Unfold(f.Value))
		}
	}
	return out
}

// Unfold removes folding line breaks and trims the value.
func Unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	return strings.TrimSpace(v)
}

// Read reads the header section from br, up to and including the empty
// line, never more than MaxHeaderBytes. The body stays unread in br.
func Read(br *bufio.Reader) (*Header, error) {
	var raw bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the reader's buffer: keep reading it.
			err = nil
		}
		if raw.Len()+len(line) > MaxHeaderBytes {
			return nil, ErrTooLarge
		}
		raw.Write(line)
		if err == io.EOF {
			// A message without a body and without the empty line.
			break
		}
		if err != nil {
			return nil, fmt.Errorf("msghdr: read header: %w", err)
		}
		if len(line) > 0 && line[len(line)-1] == '\n' && isBlank(line) {
			break
		}
	}
	return &Header{Raw: raw.Bytes(), Fields: parseFields(raw.Bytes())}, nil
}

// isBlank reports whether a complete line is empty ("\r\n" or "\n").
func isBlank(line []byte) bool {
	return string(line) == "\r\n" || string(line) == "\n"
}

// parseFields splits the header section into fields. A line that starts
// with white space continues the previous field (RFC 5322 section 2.2.3);
// a line without a colon is kept out of the field list, as DKIM verifiers
// do.
func parseFields(raw []byte) []Field {
	var fields []Field
	cur := -1 // index of the field a continuation line belongs to
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		if isBlank(line) {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur >= 0 {
				fields[cur].Value += string(line)
			}
			continue
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			cur = -1
			continue
		}
		fields = append(fields, Field{Name: strings.TrimSpace(name), Value: value})
		cur = len(fields) - 1
	}
	return fields
}
