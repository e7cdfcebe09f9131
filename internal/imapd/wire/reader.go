package wire

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Default limits of a Reader (NewReader sets them; a session may change the
// exported fields before reading a command).
const (
	DefaultMaxLineLength    = 64 << 10
	DefaultMaxLiteralSize   = 64 << 20
	DefaultMaxStringLiteral = 64 << 10
	DefaultMaxCommandSize   = 1 << 20
	DefaultMaxNesting       = 32
	// LiteralMinusMax is the largest non-synchronizing literal a client
	// may send to a server that advertises LITERAL- (RFC 7888 section 5).
	LiteralMinusMax = 4096
)

// Reader reads IMAP commands from a client. It does no other I/O than
// reading from its bufio.Reader (plus the Continue hook the session
// provides) and keeps no state between commands beyond the options below.
//
// Memory is bounded: a line segment (the bytes between the start of a
// command or the end of a literal and the next CRLF) may be at most
// MaxLineLength bytes; a buffered literal at most MaxStringLiteral bytes;
// all buffered bytes of one command at most MaxCommandSize; parentheses may
// nest MaxNesting deep. APPEND message literals (up to MaxLiteralSize) are
// never buffered: they are handed to the session as an io.Reader.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br *bufio.Reader

	MaxLineLength    int
	MaxLiteralSize   int64 // APPEND message literals (RFC 7889 APPENDLIMIT)
	MaxStringLiteral int64 // every other literal (LOGIN password, SEARCH string...)
	MaxCommandSize   int64 // buffered bytes of one command, literals included
	MaxNesting       int

	// LiteralMinus makes the reader enforce LITERAL- (RFC 7888 section 5,
	// also the IMAP4rev2 default, RFC 9051 section 4.3): non-synchronizing
	// literals above 4096 bytes are refused with "BAD [TOOBIG]" and their
	// bytes skipped. Set it when the server advertises LITERAL- rather than
	// LITERAL+; with it false non-synchronizing literals of any size within
	// the limits are accepted (LITERAL+).
	LiteralMinus bool

	// UTF8 is set by the session once the client has enabled UTF8=ACCEPT
	// or IMAP4rev2 (RFC 9051 section 6.3.1, RFC 6855): mailbox names are
	// then read as UTF-8 instead of modified UTF-7.
	UTF8 bool

	// AppendCheck, when set, is called for each APPEND message whose
	// literal has been announced within MaxLiteralSize, before any
	// continuation request, with the (decoded) target mailbox and the
	// announced size. Returning an error refuses the message before its
	// bytes are read: return a *ParseError such as
	// {Status: "NO", Code: "TRYCREATE", Msg: "no such mailbox"} or
	// {Status: "NO", Code: "OVERQUOTA", ...} (any other error becomes a
	// NO with its text). ReadCommand or NextAppendMessage then returns that
	// error, recoverable: a refused non-synchronizing literal is skipped.
	AppendCheck func(mailbox string, size int64) error

	// Continue is called after a synchronizing literal "{N}" has been
	// announced and accepted (size within limits), before its bytes are
	// read: the session writes a command continuation request ("+ Ready")
	// and flushes it (RFC 9051 section 4.3). A literal refused for its size
	// never reaches Continue, so the client never sends it. An error from
	// Continue ends the command with that error.
	Continue func() error

	seg      int   // bytes read in the current line segment
	total    int64 // bytes of the current command held in memory
	depth    int   // current parenthesis nesting
	lineDone bool  // the command's final CRLF has been consumed
	fatal    error // once set, every read returns it
	tag      string
	name     string
	append   *literalBody // unfinished APPEND message literal
	appendTo string       // mailbox of the APPEND being read
	inAppend bool         // an APPEND command is being read message by message
	sb       strings.Builder
}

// NewReader returns a Reader on br with the default limits.
func NewReader(br *bufio.Reader) *Reader {
	return &Reader{
		br:               br,
		MaxLineLength:    DefaultMaxLineLength,
		MaxLiteralSize:   DefaultMaxLiteralSize,
		MaxStringLiteral: DefaultMaxStringLiteral,
		MaxCommandSize:   DefaultMaxCommandSize,
		MaxNesting:       DefaultMaxNesting,
	}
}

// fatalf marks the stream unusable and returns the error.
func (r *Reader) fatalf(code, format string, args ...any) *ParseError {
	pe := &ParseError{Status: "BAD", Code: code, Msg: fmt.Sprintf(format, args...), Fatal: true}
	r.fatal = pe
	return pe
}

func (r *Reader) ioErr(err error) error {
	if err == io.EOF && r.seg > 0 {
		err = io.ErrUnexpectedEOF
	}
	e := fmt.Errorf("imap read: %w", err)
	r.fatal = e
	return e
}

// peek returns the next byte without consuming it.
func (r *Reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, r.ioErr(err)
	}
	return b[0], nil
}

// next consumes one byte of a line segment, enforcing the line and
// command limits. A line beyond the limit cannot be resynchronised without
// reading an unbounded amount, so it is fatal.
func (r *Reader) next() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, r.ioErr(err)
	}
	r.seg++
	r.total++
	if r.seg > r.MaxLineLength {
		return 0, r.fatalf("TOOBIG", "command line too long (more than %d bytes)", r.MaxLineLength)
	}
	if r.total > r.MaxCommandSize {
		return 0, r.fatalf("TOOBIG", "command too long (more than %d bytes)", r.MaxCommandSize)
	}
	return c, nil
}

func (r *Reader) expect(want byte, what string) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if c != want {
		return badf("expected %s, got %s", what, describe(c))
	}
	_, err = r.next()
	return err
}

func describe(c byte) string {
	switch {
	case c == '\r' || c == '\n':
		return "end of line"
	case c < 0x20 || c >= 0x7f:
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return strconv.Quote(string(c))
}

func (r *Reader) sp() error { return r.expect(' ', "space") }

// crlf consumes the end of the command line (RFC 9051 section 2.2: lines
// end with CRLF; a bare LF is refused).
func (r *Reader) crlf() error {
	if err := r.expect('\r', "end of line"); err != nil {
		return err
	}
	if err := r.expect('\n', "LF after CR"); err != nil {
		return err
	}
	r.seg = 0
	r.lineDone = true
	return nil
}

// maybe consumes c if it is next.
func (r *Reader) maybe(c byte) (bool, error) {
	p, err := r.peek()
	if err != nil || p != c {
		return false, err
	}
	_, err = r.next()
	return true, err
}

// atEOL reports whether the next byte ends the line.
func (r *Reader) atEOL() (bool, error) {
	c, err := r.peek()
	return c == '\r' || c == '\n', err
}

// RFC 9051 section 9: atom-specials = "(" / ")" / "{" / SP / CTL /
// list-wildcards / quoted-specials / resp-specials.
func isAtomChar(c byte) bool {
	if c <= 0x1f || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// ASTRING-CHAR = ATOM-CHAR / resp-specials.
func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

// list-char = ATOM-CHAR / list-wildcards / resp-specials.
func isListChar(c byte) bool { return isAStringChar(c) || c == '%' || c == '*' }

// tagChar: tag = 1*<any ASTRING-CHAR except "+">.
func isTagChar(c byte) bool { return isAStringChar(c) && c != '+' }

// run reads a non-empty run of bytes accepted by ok.
func (r *Reader) run(ok func(byte) bool, what string) (string, error) {
	r.sb.Reset()
	for {
		// Scan what bufio already holds in one go rather than byte by
		// byte; peek refills the buffer when it is empty.
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if !ok(c) {
			break
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		i := 0
		for i < len(buf) && ok(buf[i]) {
			i++
		}
		if r.seg+i > r.MaxLineLength {
			return "", r.fatalf("TOOBIG", "command line too long (more than %d bytes)", r.MaxLineLength)
		}
		if r.total+int64(i) > r.MaxCommandSize {
			return "", r.fatalf("TOOBIG", "command too long (more than %d bytes)", r.MaxCommandSize)
		}
		r.sb.Write(buf[:i])
		r.seg += i
		r.total += int64(i)
		if _, err := r.br.Discard(i); err != nil {
			return "", r.ioErr(err)
		}
		if i < len(buf) {
			break
		}
	}
	if r.sb.Len() == 0 {
		c, _ := r.peek()
		return "", badf("expected %s, got %s", what, describe(c))
	}
	return r.sb.String(), nil
}

func (r *Reader) atom() (string, error) { return r.run(isAtomChar, "atom") }

// upperAtom reads an atom and returns it in upper case (keywords of the
// grammar are case-insensitive, RFC 9051 section 9 note 1).
func (r *Reader) upperAtom() (string, error) {
	a, err := r.atom()
	return strings.ToUpper(a), err
}

// number reads an RFC 9051 number (32-bit unsigned).
func (r *Reader) number() (uint32, error) {
	s, err := r.run(isDigit, "number")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, badf("number %q out of range", s)
	}
	return uint32(n), nil
}

// nzNumber reads a non-zero number.
func (r *Reader) nzNumber() (uint32, error) {
	n, err := r.number()
	if err == nil && n == 0 {
		return 0, badf("expected a non-zero number")
	}
	return n, err
}

// number64 reads a 63-bit number (RFC 9051 number64, RFC 7162
// mod-sequence-value).
func (r *Reader) number64() (uint64, error) {
	s, err := r.run(isDigit, "number")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, badf("number %q out of range", s)
	}
	return n, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// quoted reads a quoted string (RFC 9051 section 4.3). The opening quote
// has been peeked. 8-bit bytes are accepted (UTF-8 quoted strings are
// IMAP4rev2 syntax); CR, LF and NUL are not.
func (r *Reader) quoted() (string, error) {
	if _, err := r.next(); err != nil {
		return "", err
	}
	r.sb.Reset()
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		switch c {
		case '\r', '\n', 0:
			return "", badf("unterminated quoted string")
		}
		if _, err := r.next(); err != nil {
			return "", err
		}
		switch c {
		case '"':
			return r.sb.String(), nil
		case '\\':
			e, err := r.peek()
			if err != nil {
				return "", err
			}
			if e != '\\' && e != '"' {
				return "", badf("invalid escape %s in quoted string", describe(e))
			}
			if _, err := r.next(); err != nil {
				return "", err
			}
			c = e
		}
		r.sb.WriteByte(c)
	}
}

// literalHeader parses "{N}" or "{N+}" and its CRLF ('~' of a literal8
// and '{' not yet consumed when binary is false: the caller peeked '{').
// It enforces limit (status is the response status for a refusal), then
// calls Continue for a synchronizing literal. On return the bytes of the
// literal are next on the stream.
func (r *Reader) literalHeader(limit int64, status string, buffered bool, check func(n int64) error) (int64, error) {
	if err := r.expect('{', "literal"); err != nil {
		return 0, err
	}
	digits, err := r.run(isDigit, "literal size")
	if err != nil {
		return 0, err
	}
	nonSync, err := r.maybe('+')
	if err != nil {
		return 0, err
	}
	if err := r.expect('}', "'}' after literal size"); err != nil {
		return 0, err
	}
	if err := r.crlf(); err != nil {
		return 0, err
	}
	// The CRLF after the size ends this line segment; the command goes on
	// after the literal.
	r.lineDone = false
	n, perr := strconv.ParseInt(digits, 10, 64)
	if perr != nil {
		n = -1 // larger than anything we accept
	}
	tooBig := n < 0 || n > limit || (buffered && r.total+n > r.MaxCommandSize)
	if nonSync {
		if tooBig {
			// RFC 7888 section 4: the client is already sending the bytes;
			// skipping them could take unbounded time, so the connection
			// is closed after the reply.
			pe := r.fatalf("TOOBIG", "literal of %s bytes too large", digits)
			pe.Status = status
			pe.LiteralSize = n
			return 0, pe
		}
		if r.LiteralMinus && n > LiteralMinusMax {
			// RFC 7888 section 5: LITERAL- refuses non-synchronizing
			// literals above 4096 bytes with BAD [TOOBIG]. The bytes are
			// within our limits, so skip them and the rest of the line
			// and keep the connection.
			if err := r.skip(n); err != nil {
				return 0, err
			}
			return 0, &ParseError{Status: "BAD", Code: "TOOBIG", LiteralSize: n,
				Msg: fmt.Sprintf("non-synchronizing literal of %d bytes exceeds LITERAL- limit of %d", n, LiteralMinusMax)}
		}
		if err := r.checkLiteral(check, n, nonSync); err != nil {
			return 0, err
		}
		return n, nil
	}
	if tooBig {
		// The client waits for "+" before sending the literal; it never
		// gets one, so the command simply ends here (RFC 9051 section 7.5).
		r.lineDone = true
		return 0, &ParseError{Status: status, Code: "TOOBIG", LiteralSize: n,
			Msg: fmt.Sprintf("literal of %s bytes too large (limit %d)", digits, limit)}
	}
	if err := r.checkLiteral(check, n, nonSync); err != nil {
		return 0, err
	}
	if r.Continue != nil {
		if err := r.Continue(); err != nil {
			r.fatal = err
			return 0, fmt.Errorf("imap: sending continuation: %w", err)
		}
	}
	return n, nil
}

// checkLiteral runs the session's check of an announced literal (see
// Reader.AppendCheck). A refusal of a synchronizing literal ends the
// command (the client will not send it); the bytes of a non-synchronizing
// one are already coming and are skipped with the rest of the line.
func (r *Reader) checkLiteral(check func(int64) error, n int64, nonSync bool) error {
	if check == nil {
		return nil
	}
	err := check(n)
	if err == nil {
		return nil
	}
	pe, ok := AsParseError(err)
	if !ok {
		pe = &ParseError{Status: "NO", Msg: err.Error()}
	}
	pe.Fatal = false
	if pe.Status == "" {
		pe.Status = "NO"
	}
	if !nonSync {
		r.lineDone = true
		return pe
	}
	if err := r.skip(n); err != nil {
		return err
	}
	return pe
}

// skip discards n literal bytes.
func (r *Reader) skip(n int64) error {
	if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
		return r.ioErr(err)
	}
	return nil
}

// literal reads a buffered literal (every literal except an APPEND
// message).
func (r *Reader) literal() (string, error) {
	n, err := r.literalHeader(r.MaxStringLiteral, "BAD", true, nil)
	if err != nil {
		return "", err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return "", r.ioErr(err)
	}
	r.total += n
	// RFC 9051 section 4.3: a literal may not contain NUL (only literal8
	// may).
	for _, c := range buf {
		if c == 0 {
			return "", badf("NUL byte in literal")
		}
	}
	return string(buf), nil
}

// str reads a string: quoted or literal.
func (r *Reader) str() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return r.quoted()
	case '{':
		return r.literal()
	}
	return "", badf("expected string, got %s", describe(c))
}

// astring reads an atom (with ']' allowed), a quoted string or a literal.
func (r *Reader) astring() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return r.str()
	}
	return r.run(isAStringChar, "string")
}

// nstring reads a string or NIL; ok is false for NIL.
func (r *Reader) nstring() (s string, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return "", false, err
	}
	if c == '"' || c == '{' {
		s, err := r.str()
		return s, true, err
	}
	a, err := r.atom()
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, badf("expected string or NIL, got %q", a)
	}
	return "", false, nil
}

// mailbox reads a mailbox name and decodes it (modified UTF-7 unless UTF8
// is enabled); any case of INBOX becomes "INBOX" (RFC 9051 section 5.1).
func (r *Reader) mailbox() (string, error) {
	s, err := r.astring()
	if err != nil {
		return "", err
	}
	name, err := DecodeMailboxName(s, r.UTF8)
	if err != nil {
		return "", badf("mailbox name: %v", err)
	}
	return name, nil
}

// listMailbox reads a LIST pattern: list-mailbox = 1*list-char / string.
func (r *Reader) listMailbox() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	var s string
	if c == '"' || c == '{' {
		s, err = r.str()
	} else {
		s, err = r.run(isListChar, "mailbox pattern")
	}
	if err != nil {
		return "", err
	}
	name, err := DecodeMailboxName(s, r.UTF8)
	if err != nil {
		return "", badf("mailbox pattern: %v", err)
	}
	return name, nil
}

// open consumes "(" and enforces MaxNesting; close consumes ")".
func (r *Reader) open() error {
	if err := r.expect('(', "'('"); err != nil {
		return err
	}
	r.depth++
	if r.depth > r.MaxNesting {
		return badf("parentheses nested deeper than %d", r.MaxNesting)
	}
	return nil
}

func (r *Reader) close() error {
	if err := r.expect(')', "')'"); err != nil {
		return err
	}
	r.depth--
	return nil
}

// list reads "(" item *(SP item) ")" calling item for each element;
// empty lists are allowed when allowEmpty.
func (r *Reader) list(allowEmpty bool, item func() error) error {
	if err := r.open(); err != nil {
		return err
	}
	empty, err := r.maybe(')')
	if err != nil {
		return err
	}
	if empty {
		r.depth--
		if !allowEmpty {
			return badf("empty list")
		}
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		c, err := r.peek()
		if err != nil {
			return err
		}
		if c == ')' {
			return r.close()
		}
		if err := r.sp(); err != nil {
			return err
		}
	}
}

// flag reads a flag: "\" atom (a system flag) or a keyword atom.
func (r *Reader) flag() (string, error) {
	bs, err := r.maybe('\\')
	if err != nil {
		return "", err
	}
	if !bs {
		return r.atom()
	}
	a, err := r.atom()
	if err != nil {
		return "", err
	}
	return `\` + canonicalFlag(a), nil
}

// canonicalFlag gives system flags their RFC spelling (flags are
// case-insensitive, RFC 9051 section 2.3.2) so the session can compare.
func canonicalFlag(a string) string {
	for _, f := range []string{"Seen", "Answered", "Flagged", "Deleted", "Draft", "Recent"} {
		if strings.EqualFold(a, f) {
			return f
		}
	}
	return a
}

// flagList reads "(" [flag *(SP flag)] ")".
func (r *Reader) flagList() ([]string, error) {
	flags := []string{}
	err := r.list(true, func() error {
		f, err := r.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// seqSet reads a sequence set or "$".
func (r *Reader) seqSet() (SeqSet, error) {
	s, err := r.run(func(c byte) bool { return isDigit(c) || c == ':' || c == ',' || c == '*' || c == '$' }, "sequence set")
	if err != nil {
		return SeqSet{}, err
	}
	set, err := ParseSeqSet(s)
	if err != nil {
		return SeqSet{}, badf("%v", err)
	}
	return set, nil
}

// discardLine skips the rest of a bad command. Non-synchronizing literals
// announced at the end of a skipped line are skipped too, because the
// client sends their bytes without waiting; a synchronizing one ends the
// command, since the client waits for a "+" it will not get.
func (r *Reader) discardLine() error {
	var tail []byte
	for {
		c, err := r.next()
		if err != nil {
			return err
		}
		if c != '\n' {
			if len(tail) == 32 {
				copy(tail, tail[1:])
				tail = tail[:31]
			}
			tail = append(tail, c)
			continue
		}
		r.seg = 0
		n, nonSync, ok := trailingLiteral(tail)
		if !ok || !nonSync {
			r.lineDone = true
			return nil
		}
		if n > r.MaxLiteralSize {
			return r.fatalf("TOOBIG", "literal of %d bytes too large", n)
		}
		if err := r.skip(n); err != nil {
			return err
		}
		tail = tail[:0]
	}
}

// trailingLiteral recognises a line ending in "{N}\r" or "{N+}\r".
func trailingLiteral(tail []byte) (n int64, nonSync, ok bool) {
	s := string(tail)
	if !strings.HasSuffix(s, "}\r") {
		return 0, false, false
	}
	s = s[:len(s)-2]
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false, false
	}
	digits := s[i+1:]
	if strings.HasSuffix(digits, "+") {
		nonSync = true
		digits = digits[:len(digits)-1]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false, false
	}
	return n, nonSync, true
}

// ReadLine reads one raw line (without its CRLF) outside a command, for
// the AUTHENTICATE exchange and the end of IDLE; at most MaxLineLength.
func (r *Reader) ReadLine() (string, error) {
	if r.fatal != nil {
		return "", r.fatal
	}
	r.seg, r.total, r.lineDone = 0, 0, false
	r.sb.Reset()
	for {
		c, err := r.next()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			s := r.sb.String()
			r.seg = 0
			if !strings.HasSuffix(s, "\r") {
				return "", &ParseError{Status: "BAD", Msg: "line must end with CRLF"}
			}
			return s[:len(s)-1], nil
		}
		r.sb.WriteByte(c)
	}
}

// ReadIdleDone waits for the "DONE" line that ends IDLE (RFC 2177,
// RFC 9051 section 6.3.13). Anything else is a *ParseError (the session
// answers "tag BAD" and leaves IDLE).
func (r *Reader) ReadIdleDone() error {
	line, err := r.ReadLine()
	if err != nil {
		return err
	}
	if !strings.EqualFold(line, "DONE") {
		return badf("expected DONE to end IDLE")
	}
	return nil
}

// ReadSASLResponse reads one client response of an AUTHENTICATE exchange
// (RFC 9051 section 6.2.2): base64 data, "" for an empty response sent as
// an empty line or "=", or ErrSASLCancel for "*".
func (r *Reader) ReadSASLResponse() ([]byte, error) {
	line, err := r.ReadLine()
	if err != nil {
		return nil, err
	}
	if line == "*" {
		return nil, ErrSASLCancel
	}
	return decodeSASL(line)
}

func decodeSASL(s string) ([]byte, error) {
	if s == "" || s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, badf("invalid base64 in SASL response")
	}
	return b, nil
}

// literalBody is the io.Reader of an APPEND message literal: it reads
// exactly the announced number of bytes from the connection.
type literalBody struct {
	r    *Reader
	left int64
}

func (l *literalBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.br.Read(p)
	l.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		l.r.fatal = fmt.Errorf("imap read literal: %w", err)
		return n, l.r.fatal
	}
	return n, nil
}

// errNotAppending is returned by NextAppendMessage outside APPEND.
var errNotAppending = errors.New("imap: NextAppendMessage called outside an APPEND command")
