package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readBufferSize is the scanner's window. Lines longer than this are read
// in pieces; only the first piece of a line is examined for a boundary
// delimiter, which is far shorter (RFC 2046 section 5.1.1 caps a boundary
// at 70 characters).
const readBufferSize = 32 << 10

// maxBoundaryLen bounds the boundary parameter we honour. RFC 2046 allows
// 70; real mail sometimes exceeds that, so allow more, but a multipart with
// a longer boundary is treated as an opaque leaf.
const maxBoundaryLen = 256

type phase uint8

const (
	// phaseHeader: the part's header lines are being read.
	phaseHeader phase = iota
	// phaseBody: lines belong to the part's body. For a multipart that is
	// its preamble, the bytes between its children's delimiters, or its
	// epilogue.
	phaseBody
)

type kind uint8

const (
	kindLeaf kind = iota
	kindMultipart
	kindMessage
)

// node is a part under construction; the tree is turned into Part values
// once the whole message is read.
type node struct {
	part     Part
	env      *Envelope // for message roots (top level and encapsulated)
	children []*node
	inner    *node // the encapsulated message of a message/rfc822 part
	depth    int
	phase    phase
	kind     kind
	// isRoot marks the root of a message, whose header carries the
	// envelope fields.
	isRoot bool
	// digest: children default to message/rfc822 (RFC 2046 section 5.1.5).
	digest bool
	// defaultMessage: this part's default Content-Type is message/rfc822.
	defaultMessage bool
	boundary       []byte // "--" + boundary, for multiparts
	closed         bool   // the close delimiter has been seen (epilogue)
	// bodyLine is the index of the first line that starts at or after
	// BodyStart; lines are counted to fill Part.Lines.
	bodyLine int64
	hdr      *headerFields
}

// scanner holds the state of one Parse.
type scanner struct {
	br  *bufio.Reader
	off int64 // offset of the next unread byte

	// Line bookkeeping for the line just completed, needed to find where a
	// body ends when a boundary line follows it.
	lineNo        int64 // number of lines started so far
	prevLineStart int64
	prevTermLen   int64 // 2 for CRLF, 1 for LF, 0 if none
	havePrev      bool

	stack  []*node // open parts, root first
	root   *node
	nparts int
	budget int // header bytes that may still be retained
}

// Parse reads r to EOF and returns the structure of the message. It fails
// only if r returns an error other than io.EOF; malformed MIME never makes
// it fail (see the package documentation).
func Parse(r io.Reader) (*Message, error) {
	s := &scanner{
		br:     bufio.NewReaderSize(r, readBufferSize),
		budget: maxRetainedBytes,
	}
	s.root = &node{isRoot: true, phase: phaseHeader, hdr: newHeaderFields(true)}
	s.stack = []*node{s.root}
	s.nparts = 1
	if err := s.run(); err != nil {
		return nil, err
	}
	m := &Message{Size: s.off}
	m.Root = s.root.build()
	if s.root.env != nil {
		m.Envelope = *s.root.env
	}
	return m, nil
}

// run reads the message line by line.
func (s *scanner) run() error {
	for {
		lineStart := s.off
		chunk, err := s.br.ReadSlice('\n')
		if len(chunk) == 0 {
			// ReadSlice returns no bytes only with an error.
			if errors.Is(err, io.EOF) {
				s.finish()
				return nil
			}
			return fmt.Errorf("mime: read message at offset %d: %w", s.off, err)
		}
		s.off += int64(len(chunk))
		s.lineNo++
		complete := err == nil // the chunk holds the whole line, LF included
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("mime: read message at offset %d: %w", s.off, err)
		}
		atEOF := errors.Is(err, io.EOF)

		s.line(lineStart, chunk, complete || atEOF)

		// The rest of a long line: only a header being read cares. before
		// is the byte preceding the final chunk, to see a CRLF split
		// across two reads.
		var before byte
		for errors.Is(err, bufio.ErrBufferFull) {
			before = chunk[len(chunk)-1]
			chunk, err = s.br.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
				return fmt.Errorf("mime: read message at offset %d: %w", s.off, err)
			}
			s.off += int64(len(chunk))
			if len(chunk) == 0 {
				break
			}
			s.lineMore(chunk)
		}
		atEOF = atEOF || errors.Is(err, io.EOF)
		s.lineEnd(lineStart, chunk, before)
		if atEOF {
			s.finish()
			return nil
		}
	}
}

// lineEnd records the terminator of the line that started at lineStart;
// last is the line's final chunk and before the byte preceding that chunk
// when the line was read in more than one.
func (s *scanner) lineEnd(lineStart int64, last []byte, before byte) {
	s.prevLineStart = lineStart
	s.havePrev = true
	s.prevTermLen = 0
	if n := len(last); n > 0 && last[n-1] == '\n' {
		s.prevTermLen = 1
		if n >= 2 && last[n-2] == '\r' || n == 1 && before == '\r' {
			s.prevTermLen = 2
		}
	}
	if top := s.top(); top.phase == phaseHeader {
		top.hdr.endLine()
	}
}

func (s *scanner) top() *node { return s.stack[len(s.stack)-1] }

// line handles the first chunk of a line. whole is true when chunk is the
// entire line (terminated by LF, or the last bytes of the message).
func (s *scanner) line(lineStart int64, chunk []byte, whole bool) {
	if whole && len(chunk) >= 2 && chunk[0] == '-' && chunk[1] == '-' {
		for i := len(s.stack) - 1; i >= 0; i-- {
			n := s.stack[i]
			if n.kind != kindMultipart || n.closed {
				continue
			}
			if isClose, ok := matchBoundary(chunk, n.boundary); ok {
				s.boundary(i, lineStart, int64(len(chunk)), isClose)
				return
			}
		}
	}
	// A header line may end the header and begin a body (or, for a
	// message/rfc822 part, the encapsulated header); each round either
	// consumes the line or pushes/advances a part, so this ends within
	// MaxDepth rounds.
	for {
		top := s.top()
		if top.phase != phaseHeader {
			return
		}
		content := chunk
		if whole {
			content = trimEOL(chunk)
		}
		switch {
		case whole && len(content) == 0:
			// The blank line that ends the header.
			s.endHeader(top, lineStart+int64(len(chunk)), s.lineNo)
			return
		case content[0] == ' ' || content[0] == '\t':
			top.hdr.continuation(s, content)
			return
		default:
			if name, value, ok := splitField(content); ok {
				top.hdr.start(s, name, value)
				return
			}
			// Not a header field: the header ended without a blank line
			// (RFC 5322 requires one, real mail sometimes omits it) and
			// this line is the first of the body.
			s.endHeader(top, lineStart, s.lineNo-1)
		}
	}
}

// lineMore handles a further chunk of a line longer than the buffer.
func (s *scanner) lineMore(chunk []byte) {
	if top := s.top(); top.phase == phaseHeader {
		top.hdr.more(s, chunk)
	}
}

// matchBoundary reports whether line is a delimiter ("--" boundary) or a
// close delimiter ("--" boundary "--") for delim ("--" + boundary),
// allowing trailing whitespace (RFC 2046 section 5.1.1 transport padding).
func matchBoundary(line, delim []byte) (isClose, ok bool) {
	if !bytes.HasPrefix(line, delim) {
		return false, false
	}
	rest := line[len(delim):]
	if bytes.HasPrefix(rest, []byte("--")) {
		isClose = true
		rest = rest[2:]
	}
	for _, c := range rest {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false, false
		}
	}
	return isClose, true
}

// boundary handles a delimiter line of the multipart s.stack[idx], starting
// at lineStart and lineLen bytes long. Parts opened inside it are closed
// (which makes unclosed inner multiparts harmless).
func (s *scanner) boundary(idx int, lineStart, lineLen int64, isClose bool) {
	// RFC 2046 section 5.1.1: the line break before the delimiter is part
	// of the delimiter, not of the body before it.
	end := lineStart
	prevStart := int64(-1)
	if s.havePrev {
		end -= s.prevTermLen
		prevStart = s.prevLineStart
	}
	s.closeAbove(idx, lineStart, end, prevStart, s.lineNo-1)

	m := s.stack[idx]
	if isClose {
		m.closed = true
		return
	}
	if s.nparts >= MaxParts {
		// Too many parts: the rest of this multipart stays in its own
		// body; its delimiters keep ending the part before them.
		return
	}
	s.nparts++
	c := &node{
		depth:          m.depth + 1,
		phase:          phaseHeader,
		defaultMessage: m.digest,
		hdr:            newHeaderFields(false),
	}
	c.part.HeaderStart = lineStart + lineLen
	m.children = append(m.children, c)
	s.stack = append(s.stack, c)
}

// closeAbove closes every open part above s.stack[idx]. A part still in its
// header has it end at hdrEnd (the header ran into a delimiter or EOF).
// Bodies end at end (not before their BodyStart); lineIdx is the index of
// the line at which they end (the delimiter line, or lineNo at EOF), and
// prevStart the start of the line before it, for counting lines.
func (s *scanner) closeAbove(idx int, hdrEnd, end, prevStart, lineIdx int64) {
	for len(s.stack)-1 > idx {
		n := s.top()
		if n.phase == phaseHeader {
			// May push the inner root of a message/rfc822 part, which is
			// then closed by the next round.
			s.endHeader(n, hdrEnd, lineIdx)
			continue
		}
		s.close(n, end, prevStart, lineIdx)
		// When the line break before the delimiter was the blank line
		// ending an inner header, that inner part ends after it; its
		// parents must not end before their child.
		end = max(end, n.part.End)
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// close sets the end of n's body.
func (s *scanner) close(n *node, end, prevStart, lineIdx int64) {
	if end < n.part.BodyStart {
		end = n.part.BodyStart
	}
	n.part.End = end
	n.part.Size = end - n.part.BodyStart
	// Lines of the body: the lines that start within [BodyStart, End).
	lines := lineIdx - n.bodyLine
	if lines > 0 && prevStart >= end {
		lines-- // the line before the delimiter is empty; its break is not ours
	}
	if lines < 0 {
		lines = 0
	}
	n.part.Lines = lines
	if n.kind == kindMultipart && len(n.children) == 0 {
		// No body part was ever delimited: IMAP requires a multipart to
		// have at least one, so report the body as opaque text.
		n.kind = kindLeaf
		n.part.Type, n.part.Subtype, n.part.Params = "text", "plain", nil
	}
}

// finish closes everything at EOF. Bodies that reach EOF keep their final
// line break (there is no delimiter to own it).
func (s *scanner) finish() {
	s.closeAbove(-1, s.off, s.off, -1, s.lineNo)
}

// endHeader ends n's header at bodyStart; bodyLine is the index of the
// first line at or after bodyStart. It decides what n is from its
// Content-Type and, for a message/rfc822 part, opens the encapsulated
// message.
func (s *scanner) endHeader(n *node, bodyStart, bodyLine int64) {
	n.part.BodyStart = bodyStart
	n.bodyLine = bodyLine
	n.phase = phaseBody
	h := n.hdr
	n.hdr = nil
	h.apply(&n.part, n.defaultMessage)
	if n.isRoot {
		n.env = h.envelope()
	}

	switch {
	case n.part.Type == "multipart":
		b := []byte(paramRaw(n.part.Params, "boundary"))
		if len(b) == 0 || len(b) > maxBoundaryLen || n.depth >= MaxDepth {
			s.opaque(n)
			return
		}
		n.kind = kindMultipart
		n.digest = n.part.Subtype == "digest"
		n.boundary = append([]byte("--"), b...)
	case n.part.Type == "message" && (n.part.Subtype == "rfc822" || n.part.Subtype == "global"):
		switch n.part.Encoding {
		case "7BIT", "8BIT", "BINARY":
		default:
			// RFC 2046 section 5.2.1 forbids encoding message/rfc822;
			// when it is encoded anyway its body is not a message we
			// can read in place, so describe it as what it is.
			n.part.Type, n.part.Subtype, n.part.Params = "application", "octet-stream", nil
			return
		}
		if n.depth >= MaxDepth || s.nparts >= MaxParts {
			s.opaque(n)
			return
		}
		s.nparts++
		n.kind = kindMessage
		n.inner = &node{
			depth:  n.depth + 1,
			phase:  phaseHeader,
			isRoot: true,
			hdr:    newHeaderFields(true),
		}
		n.inner.part.HeaderStart = bodyStart
		s.stack = append(s.stack, n.inner)
	}
}

// opaque makes n a text/plain leaf whose body is whatever it holds: used
// for containers beyond the limits or without a usable boundary.
func (s *scanner) opaque(n *node) {
	n.kind = kindLeaf
	n.part.Type, n.part.Subtype, n.part.Params = "text", "plain", nil
}

// build converts the finished node tree into Part values. Recursion depth
// is bounded by MaxDepth.
func (n *node) build() Part {
	p := n.part
	if !(p.Type == "text" || p.Type == "message" && n.inner != nil) {
		p.Lines = 0
	}
	if len(n.children) > 0 {
		p.Parts = make([]Part, len(n.children))
		for i, c := range n.children {
			p.Parts[i] = c.build()
		}
	}
	if n.inner != nil {
		inner := n.inner.build()
		p.Message = &inner
		p.Envelope = n.inner.env
		if p.Envelope == nil {
			p.Envelope = &Envelope{}
		}
	}
	return p
}

// trimEOL strips a trailing LF or CRLF.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// splitField splits a header line into field name and value. RFC 5322
// section 2.2: the name is printable US-ASCII except colon; whitespace
// before the colon (obsolete syntax, RFC 5322 section 4.5) is tolerated.
func splitField(line []byte) (name string, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", nil, false
	}
	nm := bytes.TrimRight(line[:i], " \t")
	if len(nm) == 0 {
		return "", nil, false
	}
	for _, c := range nm {
		if c < 33 || c > 126 {
			return "", nil, false
		}
	}
	return strings.ToLower(string(nm)), line[i+1:], true
}
