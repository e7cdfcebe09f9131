package imapd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
	"mailport/internal/store"
)

// fetchOptions are the session state writeFetch depends on.
type fetchOptions struct {
	// UID is set for UID FETCH: every response carries UID (RFC 9051
	// section 6.4.9).
	UID bool
	// CondStore is set once the client enabled CONDSTORE (or QRESYNC, or
	// used a CONDSTORE modifier): every FETCH response then carries
	// MODSEQ (RFC 7162 section 3.1.4.1).
	CondStore bool
	// Binary is set when the session offers BINARY (RFC 3516); without
	// it BINARY, BINARY.PEEK and BINARY.SIZE items are refused with
	// errBinaryNotEnabled before anything is written.
	Binary bool
}

// errBinaryNotEnabled refuses BINARY items in a session that does not
// offer the extension.
var errBinaryNotEnabled = errors.New("BINARY is not supported in this session")

// errFetchBroken marks an error that happened while the response line was
// being written.
var errFetchBroken = errors.New("fetch response broken")

// unknownCTEError is returned by writeFetch, before anything is written,
// when a BINARY item names a part whose Content-Transfer-Encoding the
// server cannot decode. RFC 3516 section 4.3: the session answers the
// command with "tag NO [UNKNOWN-CTE] ..." (use Error() as the text).
type unknownCTEError struct {
	Section  string
	Encoding string
}

func (e *unknownCTEError) Error() string {
	return fmt.Sprintf("cannot decode part %s: unknown content-transfer-encoding %q", e.Section, e.Encoding)
}

// fetchNeedsSeen reports whether items fetch body content that sets
// \Seen: BODY[...] and BINARY[...] without .PEEK, RFC822 and RFC822.TEXT
// (RFC 9051 section 6.4.5; RFC822.HEADER is BODY.PEEK[HEADER]).
func fetchNeedsSeen(items []wire.FetchItem) bool {
	for _, it := range items {
		switch it.Name {
		case "BODY":
			if it.Section != nil && !it.Peek {
				return true
			}
		case "BINARY":
			if !it.Peek {
				return true
			}
		case "RFC822", "RFC822.TEXT":
			return true
		}
	}
	return false
}

// writeFetch writes one complete untagged "* seq FETCH (...)" line for m
// with the items in the order asked.
//
// Before writing anything it resolves every item (parse, blob, sections),
// so an error it returns before the line starts leaves nothing written:
// *unknownCTEError (answer NO [UNKNOWN-CTE]), errBinaryNotEnabled, or a
// storage error (answer NO, and continue with the next message or stop).
// An error once the line has started wraps errFetchBroken: the line is
// cut (a literal's bytes could not be read or written) and the session
// must close the connection.
//
// Flags: RFC 9051 section 6.4.5 sets \Seen when body content is fetched
// without .PEEK (fetchNeedsSeen), and wants the changed flags reported in
// a FETCH response. The caller stores \Seen before calling (so m.Flags is
// current) and, for each message whose flags that changed, reports them
// itself with an untagged "* n FETCH (FLAGS ...)" unless FLAGS was among
// the items (then this response already shows the new flags). writeFetch
// never adds FLAGS on its own. It returns setSeen = true when the items
// set \Seen but m.Flags does not have it yet, i.e. the caller did not
// store it (in a read-only mailbox that is right, RFC 9051 section
// 6.3.3: nothing changes; otherwise the caller must store \Seen now and
// report the flags).
//
// UID FETCH (opt.UID) puts UID first when it was not asked; CondStore adds
// MODSEQ at the end when not asked.
func writeFetch(w *wire.Writer, ld *loader, m *message, items []wire.FetchItem, opt fetchOptions) (setSeen bool, err error) {
	f := &fetcher{ld: ld, m: m, w: w}
	defer f.close()

	var writers []func() error
	add := func(fn func() error) { writers = append(writers, fn) }
	hasItem := func(name string) bool {
		for _, it := range items {
			if it.Name == name {
				return true
			}
		}
		return false
	}
	if opt.UID && !hasItem("UID") {
		add(f.simple("UID"))
	}
	for _, it := range items {
		fn, err := f.prepare(it, opt)
		if err != nil {
			return false, err
		}
		add(fn)
	}
	setSeen = fetchNeedsSeen(items) && !hasFlag(m.Flags, store.FlagSeen)
	if opt.CondStore && !hasItem("MODSEQ") {
		add(f.simple("MODSEQ"))
	}

	w.StartUntagged()
	w.Number(m.Seq)
	w.Atom("FETCH")
	w.Open()
	for _, fn := range writers {
		if err := fn(); err != nil {
			return setSeen, fmt.Errorf("%w: %w", errFetchBroken, err)
		}
	}
	w.Close()
	w.EndLine()
	if err := w.Err(); err != nil {
		return setSeen, fmt.Errorf("%w: %w", errFetchBroken, err)
	}
	return setSeen, nil
}

// fetcher resolves the items of one message: it loads the cached parse and
// opens the blob at most once.
type fetcher struct {
	ld   *loader
	m    *message
	w    *wire.Writer
	msg  *mime.Message
	file *os.File
}

func (f *fetcher) close() {
	if f.file != nil {
		f.file.Close()
	}
}

func (f *fetcher) parsed() (*mime.Message, error) {
	if f.msg == nil {
		p, err := f.ld.parsed(f.m)
		if err != nil {
			return nil, err
		}
		f.msg = p
	}
	return f.msg, nil
}

func (f *fetcher) blob() (*os.File, error) {
	if f.file == nil {
		file, err := f.ld.open(f.m)
		if err != nil {
			return nil, fmt.Errorf("open message uid %d: %w", f.m.UID, err)
		}
		f.file = file
	}
	return f.file, nil
}

// simple returns the writer of an item that needs nothing but the listing.
func (f *fetcher) simple(name string) func() error {
	return func() error {
		w := f.w
		m := f.m
		w.Atom(name)
		switch name {
		case "UID":
			w.Number(m.UID)
		case "FLAGS":
			w.Flags(m.Flags)
		case "MODSEQ":
			// RFC 7162 section 3.1.4.1: "MODSEQ (" mod-sequence-value ")".
			w.Open()
			w.Number64(m.ModSeq)
			w.Close()
		case "INTERNALDATE":
			w.DateTime(m.InternalDate)
		case "RFC822.SIZE":
			w.Number64(uint64(max(m.Size, 0)))
		}
		return nil
	}
}

// prepare resolves one item and returns the function that writes it.
func (f *fetcher) prepare(it wire.FetchItem, opt fetchOptions) (func() error, error) {
	switch it.Name {
	case "UID", "FLAGS", "MODSEQ", "INTERNALDATE", "RFC822.SIZE":
		return f.simple(it.Name), nil
	case "ENVELOPE":
		p, err := f.parsed()
		if err != nil {
			return nil, err
		}
		return func() error {
			f.w.Atom("ENVELOPE")
			f.w.Envelope(&p.Envelope)
			return nil
		}, nil
	case "BODYSTRUCTURE":
		return f.structure("BODYSTRUCTURE", true)
	case "BODY":
		if it.Section == nil {
			return f.structure("BODY", false)
		}
		c, err := f.section(it.Section)
		if err != nil {
			return nil, err
		}
		return f.content(it.ResponseName(), c, it.Partial), nil
	case "RFC822":
		c, err := f.section(&wire.Section{})
		if err != nil {
			return nil, err
		}
		return f.content("RFC822", c, nil), nil
	case "RFC822.HEADER":
		c, err := f.section(&wire.Section{Specifier: "HEADER"})
		if err != nil {
			return nil, err
		}
		return f.content("RFC822.HEADER", c, nil), nil
	case "RFC822.TEXT":
		c, err := f.section(&wire.Section{Specifier: "TEXT"})
		if err != nil {
			return nil, err
		}
		return f.content("RFC822.TEXT", c, nil), nil
	case "BINARY", "BINARY.SIZE":
		if !opt.Binary {
			return nil, errBinaryNotEnabled
		}
		if it.Section == nil {
			return nil, fmt.Errorf("%s without a section", it.Name)
		}
		c, err := f.binary(it.Section)
		if err != nil {
			return nil, err
		}
		name := it.ResponseName()
		if it.Name == "BINARY.SIZE" {
			// RFC 3516 section 4.2: the size of the decoded section.
			return func() error {
				f.w.Raw(name)
				if c.missing {
					f.w.Nil()
				} else {
					f.w.Number64(uint64(c.n))
				}
				return nil
			}, nil
		}
		return f.content(name, c, it.Partial), nil
	}
	return nil, fmt.Errorf("unknown fetch item %q", it.Name)
}

func (f *fetcher) structure(name string, extended bool) (func() error, error) {
	p, err := f.parsed()
	if err != nil {
		return nil, err
	}
	// The cached parse is bounded in depth (mime.MaxDepth), and the
	// encoder bounds its recursion too, so a hostile nesting costs
	// nothing here (issue 3, acceptance 6).
	return func() error {
		f.w.Atom(name)
		f.w.BodyStructure(&p.Root, extended)
		return nil
	}, nil
}

// sectionContent is the resolved content of a body section.
type sectionContent struct {
	missing bool // the section does not exist: NIL
	n       int64
	// Exactly one source: mem, raw bytes [off, off+n) of the blob, or
	// decode (BINARY) yielding n bytes.
	mem    []byte
	raw    io.ReaderAt
	off    int64
	decode func() (io.Reader, error)
	// hasNUL asks for a literal8 (RFC 3516 section 4.3); set only for
	// BINARY content that holds a NUL.
	hasNUL bool
}

// section resolves a BODY[section] (RFC 9051 section 6.4.5).
func (f *fetcher) section(s *wire.Section) (*sectionContent, error) {
	if len(s.Part) == 0 && s.Specifier == "" {
		// The whole message (BODY[], RFC822), as many octets as
		// RFC822.SIZE says: no need for the parse.
		file, err := f.blob()
		if err != nil {
			return nil, err
		}
		return &sectionContent{raw: file, off: 0, n: max(f.m.Size, 0)}, nil
	}
	if len(s.Part) == 0 && s.Specifier == "HEADER" {
		// The top-level header needs only its offsets.
		hdr, err := f.ld.header(f.m)
		if err != nil {
			return nil, err
		}
		file, err := f.blob()
		if err != nil {
			return nil, err
		}
		return &sectionContent{raw: file, off: hdr.HeaderStart, n: hdr.BodyStart - hdr.HeaderStart}, nil
	}
	msg, err := f.parsed()
	if err != nil {
		return nil, err
	}
	p, ok := msg.Find(s.Part)
	if !ok {
		// A part that does not exist has no content; NIL rather than an
		// error keeps the rest of the response useful.
		return &sectionContent{missing: true}, nil
	}
	// hdr and text are the header and body of the message the
	// specifier applies to.
	hdr, text := p, p
	switch {
	case len(s.Part) == 0:
		hdr, text = &msg.Root, &msg.Root
	case s.Specifier == "HEADER" || s.Specifier == "TEXT" || strings.HasPrefix(s.Specifier, "HEADER.FIELDS"):
		// RFC 9051 section 6.4.5: after part numbers, HEADER, TEXT and
		// HEADER.FIELDS apply only to a message/rfc822 (or
		// message/global) part, meaning its encapsulated message.
		if p.Message == nil {
			return &sectionContent{missing: true}, nil
		}
		hdr, text = p.Message, p.Message
	}
	file, err := f.blob()
	if err != nil {
		return nil, err
	}
	switch s.Specifier {
	case "":
		return &sectionContent{raw: file, off: p.BodyStart, n: p.End - p.BodyStart}, nil
	case "MIME":
		return &sectionContent{raw: file, off: p.HeaderStart, n: p.BodyStart - p.HeaderStart}, nil
	case "HEADER":
		return &sectionContent{raw: file, off: hdr.HeaderStart, n: hdr.BodyStart - hdr.HeaderStart}, nil
	case "TEXT":
		return &sectionContent{raw: file, off: text.BodyStart, n: text.End - text.BodyStart}, nil
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		raw, err := mime.ReadHeader(file, hdr)
		if err != nil {
			return nil, fmt.Errorf("read header of uid %d: %w", f.m.UID, err)
		}
		b := headerFields(raw, s.Fields, s.Specifier == "HEADER.FIELDS.NOT")
		return &sectionContent{mem: b, n: int64(len(b))}, nil
	}
	return nil, fmt.Errorf("unknown section specifier %q", s.Specifier)
}

// headerFields returns the fields of raw named in names (or, with not,
// all others), as they were written, folded lines included, followed by
// the blank line: RFC 9051 section 6.4.5, "HEADER.FIELDS ... a subset of
// the header"; the blank line is part of it in every server's answer
// and in the RFC's examples. Names compare case-insensitively.
func headerFields(raw []byte, names []string, not bool) []byte {
	var b bytes.Buffer
	for _, fld := range mime.SplitHeader(raw) {
		match := false
		for _, n := range names {
			if strings.EqualFold(fld.Name, n) {
				match = true
				break
			}
		}
		if fld.Name == "" {
			// Not a field: never asked for by name, and not worth
			// passing on either.
			continue
		}
		if match != not {
			b.Write(fld.Raw)
			if !bytes.HasSuffix(fld.Raw, []byte("\n")) {
				b.WriteString("\r\n")
			}
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// binary resolves BINARY[section] (RFC 3516 section 4.2): the section's
// content with its transfer encoding undone. It decodes once to learn
// the size and whether a NUL forces a literal8; writing decodes again, so
// memory stays bounded whatever the part's size.
func (f *fetcher) binary(s *wire.Section) (*sectionContent, error) {
	msg, err := f.parsed()
	if err != nil {
		return nil, err
	}
	p, ok := msg.Find(s.Part)
	if !ok {
		return &sectionContent{missing: true}, nil
	}
	file, err := f.blob()
	if err != nil {
		return nil, err
	}
	if len(s.Part) == 0 {
		// BINARY[] is the whole message, which has no transfer encoding
		// of its own.
		n := max(f.m.Size, 0)
		hasNUL, err := readerHasNUL(io.NewSectionReader(file, 0, n))
		if err != nil {
			return nil, err
		}
		return &sectionContent{raw: file, n: n, hasNUL: hasNUL}, nil
	}
	if p.IsMultipart() || p.IsMessage() {
		// RFC 2045 section 6.4: composite types are never encoded;
		// serve the body as it is.
		n := p.End - p.BodyStart
		hasNUL, err := readerHasNUL(io.NewSectionReader(file, p.BodyStart, n))
		if err != nil {
			return nil, err
		}
		return &sectionContent{raw: file, off: p.BodyStart, n: n, hasNUL: hasNUL}, nil
	}
	decode := func() (io.Reader, error) { return mime.TransferDecoded(file, p) }
	r, err := decode()
	if errors.Is(err, mime.ErrUnknownEncoding) {
		return nil, &unknownCTEError{Section: s.String(), Encoding: p.Encoding}
	} else if err != nil {
		return nil, err
	}
	var size int64
	hasNUL := false
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		size += int64(k)
		if !hasNUL && bytes.IndexByte(buf[:k], 0) >= 0 {
			hasNUL = true
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode part %s of uid %d: %w", s.String(), f.m.UID, err)
		}
	}
	return &sectionContent{decode: decode, n: size, hasNUL: hasNUL}, nil
}

func readerHasNUL(r io.Reader) (bool, error) {
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		if bytes.IndexByte(buf[:k], 0) >= 0 {
			return true, nil
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read message: %w", err)
		}
	}
}

// content returns the writer of a section item: name, then the content
// (or the partial asked, RFC 9051 section 6.4.5: "<origin.count>";
// an origin beyond the end gives the empty string) as a literal streamed
// from the blob, or NIL for a section that does not exist.
func (f *fetcher) content(name string, c *sectionContent, partial *wire.Partial) func() error {
	return func() error {
		w := f.w
		w.Raw(name)
		if c.missing {
			w.Nil()
			return nil
		}
		start, n := int64(0), c.n
		if partial != nil {
			start = min(int64(partial.Offset), c.n)
			n = min(int64(partial.Count), c.n-start)
		}
		if n <= 0 {
			w.Quoted("")
			return nil
		}
		switch {
		case c.mem != nil:
			if c.hasNUL {
				w.Literal8(string(c.mem[start : start+n]))
			} else {
				w.Literal(string(c.mem[start : start+n]))
			}
			return w.Err()
		case c.raw != nil:
			return w.WriteLiteralFrom(io.NewSectionReader(c.raw, c.off+start, n), n, c.hasNUL)
		}
		r, err := c.decode()
		if err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, r, start); err != nil {
			return fmt.Errorf("skip to partial origin: %w", err)
		}
		return w.WriteLiteralFrom(r, n, c.hasNUL)
	}
}
