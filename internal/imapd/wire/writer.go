package wire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxQuoted is the longest string written as a quoted string; longer ones
// go as literals, which need no escaping and read faster.
const maxQuoted = 1024

// Writer writes server responses. Data items are written as tokens that
// are separated by single spaces automatically: after Open ("(") and at
// the start of a line no space is written, between other tokens one is.
// So
//
//	w.StartUntagged(); w.Number(12); w.Atom("FETCH"); w.Open()
//	w.Atom("UID"); w.Number(7); w.Close(); w.EndLine()
//
// writes "* 12 FETCH (UID 7)\r\n". Write errors are sticky: the first one
// is kept, later writes are skipped, and Flush (or Err) returns it, so a
// caller checks once per response rather than once per token.
type Writer struct {
	bw *bufio.Writer
	// UTF8 is set by the session once the client enabled IMAP4rev2 or
	// UTF8=ACCEPT: mailbox names are then sent as UTF-8 and strings with
	// UTF-8 may be quoted (RFC 9051 section 4.3, RFC 6855 section 3).
	UTF8  bool
	space bool
	err   error
	num   [24]byte
}

// NewWriter returns a Writer on bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// Flush sends buffered output; it returns the first error of any write.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("imap write: %w", err)
	}
	return w.err
}

func (w *Writer) write(s string) {
	if w.err != nil {
		return
	}
	if _, err := w.bw.WriteString(s); err != nil {
		w.err = fmt.Errorf("imap write: %w", err)
	}
}

func (w *Writer) writeByte(c byte) {
	if w.err != nil {
		return
	}
	if err := w.bw.WriteByte(c); err != nil {
		w.err = fmt.Errorf("imap write: %w", err)
	}
}

// sep writes the space before a token when one is due.
func (w *Writer) sep() {
	if w.space {
		w.writeByte(' ')
	}
	w.space = true
}

// StartUntagged begins an untagged response line ("*").
func (w *Writer) StartUntagged() {
	w.space = false
	w.Raw("*")
}

// StartTagged begins a tagged response line.
func (w *Writer) StartTagged(tag string) {
	w.space = false
	w.Raw(tag)
}

// EndLine ends a response line with CRLF.
func (w *Writer) EndLine() {
	w.write("\r\n")
	w.space = false
}

// Status writes a whole status response line (RFC 9051 section 7.1):
// "tag STATUS [code] text" ("*" when tag is ""). Code is the response code
// without brackets ("" for none), e.g. "APPENDUID 38505 3955" or
// "TOOBIG". CR and LF in code and text are replaced by spaces so no
// client-supplied text can inject a response line.
func (w *Writer) Status(tag, status, code, text string) {
	if tag == "" {
		tag = "*"
	}
	w.space = false
	w.write(tag)
	w.writeByte(' ')
	w.write(status)
	if code != "" {
		w.write(" [")
		w.write(strings.Map(safeTextRune, strings.ReplaceAll(code, "]", " ")))
		w.writeByte(']')
	}
	if text == "" {
		text = strings.ToLower(status)
	}
	w.writeByte(' ')
	w.write(strings.Map(safeTextRune, text))
	w.EndLine()
}

func safeTextRune(r rune) rune {
	if r == '\r' || r == '\n' || r == 0 {
		return ' '
	}
	return r
}

// Continuation writes a command continuation request "+ text" (RFC 9051
// section 7.5), e.g. before a synchronizing literal. For AUTHENTICATE
// challenges pass the base64 text.
func (w *Writer) Continuation(text string) {
	w.space = false
	w.writeByte('+')
	w.writeByte(' ')
	if text == "" {
		text = "Ready"
	}
	w.write(strings.Map(safeTextRune, text))
	w.EndLine()
}

// Raw writes s as one token without quoting: atoms, flags and FETCH item
// names such as "BODY[1.MIME]<0>".
func (w *Writer) Raw(s string) {
	w.sep()
	w.write(s)
}

// Atom writes an atom (alias of Raw, for readability at call sites).
func (w *Writer) Atom(s string) { w.Raw(s) }

// Number writes a number.
func (w *Writer) Number(n uint32) { w.Number64(uint64(n)) }

// Number64 writes a 64-bit number (MODSEQ, sizes).
func (w *Writer) Number64(n uint64) {
	w.sep()
	if w.err == nil {
		if _, err := w.bw.Write(strconv.AppendUint(w.num[:0], n, 10)); err != nil {
			w.err = fmt.Errorf("imap write: %w", err)
		}
	}
}

// Nil writes NIL.
func (w *Writer) Nil() { w.Raw("NIL") }

// Open starts a parenthesized list; Close ends it.
func (w *Writer) Open() {
	w.sep()
	w.writeByte('(')
	w.space = false
}

// Close ends a parenthesized list.
func (w *Writer) Close() {
	w.writeByte(')')
	w.space = true
}

// OpenCode starts a response code "[" inside a line; CloseCode ends it.
func (w *Writer) OpenCode() {
	w.sep()
	w.writeByte('[')
	w.space = false
}

// CloseCode ends a response code.
func (w *Writer) CloseCode() {
	w.writeByte(']')
	w.space = true
}

// Quoted writes s as a quoted string, escaping '\' and '"'. The caller
// must know s has no CR, LF or NUL (String chooses for it).
func (w *Writer) Quoted(s string) {
	w.sep()
	w.writeByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			w.writeByte('\\')
		}
		w.writeByte(s[i])
	}
	w.writeByte('"')
}

// needsLiteral reports whether s cannot be a quoted string: CR, LF or NUL
// (RFC 9051 section 4.3 QUOTED-CHAR), 8-bit data unless UTF-8 is enabled
// and s is valid UTF-8, or length beyond maxQuoted.
func needsLiteral(s string, utf8OK bool) bool {
	if len(s) > maxQuoted {
		return true
	}
	eight := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return true
		case c >= 0x80:
			eight = true
		}
	}
	return eight && !(utf8OK && utf8.ValidString(s))
}

// String writes s as a quoted string or, when it must be, a literal.
func (w *Writer) String(s string) {
	if needsLiteral(s, w.UTF8) {
		w.Literal(s)
		return
	}
	w.Quoted(s)
}

// NString writes s as a string, or NIL when s is "" (the convention of
// ENVELOPE and BODYSTRUCTURE fields, where absent and empty coincide).
func (w *Writer) NString(s string) {
	if s == "" {
		w.Nil()
		return
	}
	w.String(s)
}

// AString writes s as an atom when it is one (and not NIL-like), else as
// a string.
func (w *Writer) AString(s string) {
	if isAtomString(s) {
		w.Raw(s)
		return
	}
	w.String(s)
}

func isAtomString(s string) bool {
	if s == "" || len(s) > maxQuoted || strings.EqualFold(s, "NIL") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return false
		}
	}
	return true
}

// formatAString formats s as an atom or quoted string (for section specs
// in FETCH response names); strings that would need a literal are quoted
// with their unsafe bytes dropped.
func formatAString(s string) string {
	if isAtomString(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r' || c == '\n' || c == 0:
			continue
		case c == '"' || c == '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// Literal writes s as a literal "{n}\r\n" followed by s.
func (w *Writer) Literal(s string) {
	w.literalHeader(int64(len(s)), false)
	w.write(s)
}

// Literal8 writes s as a literal8 "~{n}\r\n" (RFC 3516 section 4.2), for
// BINARY content that may hold NUL.
func (w *Writer) Literal8(s string) {
	w.literalHeader(int64(len(s)), true)
	w.write(s)
}

func (w *Writer) literalHeader(n int64, binary bool) {
	w.sep()
	if binary {
		w.writeByte('~')
	}
	w.writeByte('{')
	if w.err == nil {
		if _, err := w.bw.Write(strconv.AppendInt(w.num[:0], n, 10)); err != nil {
			w.err = fmt.Errorf("imap write: %w", err)
		}
	}
	w.write("}\r\n")
}

// WriteLiteralFrom writes a literal (a literal8 when binary) of exactly n
// bytes copied from r, without holding them in memory: FETCH BODY[] of a
// large message streams from its blob. If r yields fewer than n bytes the
// response is broken; the error is returned (and kept) and the session
// must close the connection.
func (w *Writer) WriteLiteralFrom(r io.Reader, n int64, binary bool) error {
	w.literalHeader(n, binary)
	if w.err != nil {
		return w.err
	}
	// The bytes are read straight into the buffer's free space. (Copying
	// with the buffer's ReadFrom would hand the reader to the
	// connection's ReadFrom whenever the buffer is empty: one unbuffered
	// write per literal, through a fresh 32 KiB copy buffer.)
	var copied int64
	for copied < n {
		if w.bw.Available() == 0 {
			if err := w.bw.Flush(); err != nil {
				w.err = fmt.Errorf("imap write literal: %d of %d bytes: %w", copied, n, err)
				return w.err
			}
		}
		free := w.bw.AvailableBuffer()
		k, err := r.Read(free[:min(int64(cap(free)), n-copied)])
		w.bw.Write(free[:k]) // fits: k <= Available()
		copied += int64(k)
		if copied < n && err != nil {
			w.err = fmt.Errorf("imap write literal: %d of %d bytes: %w", copied, n, err)
			return w.err
		}
	}
	return w.err
}

// Redirect makes the writer collect its output in bw until the returned
// function is called: it
// flushes bw into the previous buffer, makes that current again and
// returns the writer's error. A command with a long response (FETCH of
// many messages) collects it in a large buffer this way, so that it goes
// out in few writes, while an idle connection keeps only its small one.
//
// bw is reset to write into the current buffer, and reset again to write
// nowhere when restored, so it can go back to a pool.
func (w *Writer) Redirect(bw *bufio.Writer) (restore func() error) {
	prev := w.bw
	bw.Reset(prev)
	w.bw = bw
	return func() error {
		if err := bw.Flush(); err != nil && w.err == nil {
			w.err = fmt.Errorf("imap write: %w", err)
		}
		bw.Reset(nil)
		w.bw = prev
		return w.err
	}
}

// Flags writes a flag list "(\Seen $Forwarded)".
func (w *Writer) Flags(flags []string) {
	w.Open()
	for _, f := range flags {
		w.Raw(f)
	}
	w.Close()
}

// SeqSet writes a sequence set.
func (w *Writer) SeqSet(s SeqSet) { w.Raw(s.String()) }

// Mailbox writes a mailbox name (UTF-8 inside mailport), encoded for the
// client: modified UTF-7 unless UTF8 (RFC 3501 section 5.1.3).
func (w *Writer) Mailbox(name string) {
	w.AString(EncodeMailboxName(name, w.UTF8))
}

// DateTime writes an INTERNALDATE date-time, "02-Jan-2006 15:04:05 -0700"
// quoted (RFC 9051 section 9, date-time).
func (w *Writer) DateTime(t time.Time) {
	w.Quoted(t.Format("02-Jan-2006 15:04:05 -0700"))
}
