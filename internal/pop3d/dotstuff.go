package pop3d

import (
	"bufio"
	"bytes"
	"errors"
)

// errTopDone stops the copy of a message once TOP has sent enough lines.
var errTopDone = errors.New("pop3d: TOP line limit reached")

// dotWriter writes a message as the body of a POP3 multi-line response
// (RFC 1939 section 3) while it streams from the blob, so no message is
// ever held in memory whole:
//   - lines beginning with "." get another "." in front (byte-stuffing);
//   - bare LF line ends become CRLF;
//   - with a body line limit (TOP, RFC 1939 section 7) writing stops after
//     the header, the blank line and that many body lines.
//
// finish ends the last line if the message did not, and writes the ".CRLF"
// terminator.
type dotWriter struct {
	w          *bufio.Writer
	lineStart  bool // the next byte starts a line
	lastCR     bool // the last byte written was a CR
	hasContent bool // the current line has a byte other than CR
	inBody     bool // the blank line after the header has been written
	limit      int  // body lines still to write; < 0 means no limit
	done       bool
}

func newDotWriter(w *bufio.Writer, bodyLines int) *dotWriter {
	return &dotWriter{w: w, lineStart: true, limit: bodyLines}
}

func (d *dotWriter) Write(p []byte) (int, error) {
	if d.done {
		return 0, errTopDone
	}
	i := 0
	for i < len(p) {
		j := bytes.IndexByte(p[i:], '\n')
		seg := p[i:]
		if j >= 0 {
			seg = p[i : i+j]
		}
		if len(seg) > 0 {
			if d.lineStart && seg[0] == '.' {
				if err := d.w.WriteByte('.'); err != nil {
					return i, err
				}
			}
			if _, err := d.w.Write(seg); err != nil {
				return i, err
			}
			d.lineStart = false
			d.lastCR = seg[len(seg)-1] == '\r'
			if !d.hasContent && len(bytes.Trim(seg, "\r")) > 0 {
				d.hasContent = true
			}
		}
		if j < 0 {
			return len(p), nil
		}
		if err := d.endLine(); err != nil {
			return i, err
		}
		i += j + 1
		if d.done {
			return i, errTopDone
		}
	}
	return len(p), nil
}

// endLine writes the line end (adding the CR of a bare LF) and counts the
// line for TOP.
func (d *dotWriter) endLine() error {
	if !d.lastCR {
		if err := d.w.WriteByte('\r'); err != nil {
			return err
		}
	}
	if err := d.w.WriteByte('\n'); err != nil {
		return err
	}
	if d.limit >= 0 {
		if !d.inBody {
			// RFC 5322 section 2.1: the header ends at the first empty line.
			if !d.hasContent {
				d.inBody = true
				d.done = d.limit == 0
			}
		} else {
			d.limit--
			d.done = d.limit == 0
		}
	}
	d.lineStart, d.lastCR, d.hasContent = true, false, false
	return nil
}

// finish completes an unterminated last line and writes the terminator.
func (d *dotWriter) finish() error {
	if !d.lineStart {
		if err := d.endLine(); err != nil {
			return err
		}
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}
