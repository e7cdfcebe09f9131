// Package mime parses a message once, at delivery, into the structures IMAP
// serves without touching the blob again: the ENVELOPE, the BODYSTRUCTURE
// and the byte offsets of every part (DESIGN.md section 3, "Parse once").
//
// The parser is a streaming line scanner written for hostile input rather
// than a recursive entity reader: it reads the message once through a small
// bufio buffer, never holds a whole line or body in memory, keeps its own
// explicit stack of open parts (so nesting cannot grow the goroutine stack),
// treats parts nested deeper than MaxDepth as opaque leaves, and stops
// creating parts after MaxParts. It never fails because of malformed MIME:
// every broken construct (missing boundary, unclosed multipart, missing blank
// line, bad header) degrades to a best-effort structure whose offsets are
// still consistent. Only an I/O error from the reader makes Parse fail.
//
// The result is plain data that encodes to compact JSON (Marshal) and is
// stored beside the message by the store as opaque bytes.
package mime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Limits on hostile input. Both are part of the stored format's meaning: a
// message parsed with other limits would number its parts differently, so
// changing them needs a new format version (see Marshal).
const (
	// MaxDepth is how deep parts may nest (each multipart child and each
	// encapsulated message is one level). A multipart or message/rfc822 at
	// this depth is not descended into: it becomes an opaque text/plain
	// leaf whose body is whatever it contains.
	MaxDepth = 64
	// MaxParts is the most parts (the root included) one message may have.
	// Body parts after the limit are not created; their bytes are folded
	// into the body of the multipart that contains them.
	MaxParts = 10000
	// maxFieldBytes caps one retained header field value (To with
	// thousands of recipients fits); longer values are truncated.
	maxFieldBytes = 64 << 10
	// maxRetainedBytes caps the header text retained for a whole message,
	// so 10,000 parts with huge headers cannot make the stored structure
	// large. Fields read after the budget is spent are treated as absent.
	maxRetainedBytes = 4 << 20
)

// Message is the parsed form of one message.
type Message struct {
	// Envelope of the top-level header (RFC 9051 section 7.5.2 ENVELOPE).
	Envelope Envelope `json:"env"`
	// Root is the top-level part: its header is the message header.
	Root Part `json:"root"`
	// Size is the length of the raw message in octets.
	Size int64 `json:"size"`
}

// Envelope holds the fields of an IMAP ENVELOPE (RFC 9051 section 7.5.2).
// String fields are the raw header values, unfolded and trimmed but not
// decoded (RFC 2047 encoded words are kept, as IMAP requires); "" means the
// field is absent and encodes as NIL.
//
// RFC 9051 section 7.5.2 says a server sets Sender and Reply-To to the From
// value when those fields are absent or empty. Parse does that here, so an
// IMAP encoder can write the envelope as it is.
type Envelope struct {
	Date      string    `json:"date,omitempty"`
	Subject   string    `json:"subj,omitempty"`
	From      []Address `json:"from,omitempty"`
	Sender    []Address `json:"sender,omitempty"`
	ReplyTo   []Address `json:"rto,omitempty"`
	To        []Address `json:"to,omitempty"`
	Cc        []Address `json:"cc,omitempty"`
	Bcc       []Address `json:"bcc,omitempty"`
	InReplyTo string    `json:"irt,omitempty"`
	MessageID string    `json:"mid,omitempty"`
}

// envelopeJSON is Envelope without its methods, for encoding.
type envelopeJSON Envelope

// MarshalJSON leaves out Sender and Reply-To when they equal From (the
// usual case, and always the case when the fields were absent), keeping
// the stored form small; UnmarshalJSON restores them.
func (e Envelope) MarshalJSON() ([]byte, error) {
	c := envelopeJSON(e)
	if sameAddresses(c.Sender, c.From) {
		c.Sender = nil
	}
	if sameAddresses(c.ReplyTo, c.From) {
		c.ReplyTo = nil
	}
	return marshalCompact(c)
}

// marshalCompact encodes v as JSON without escaping '<', '>' and '&',
// which addresses and message ids are full of.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var c envelopeJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	*e = Envelope(c)
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return nil
}

func sameAddresses(a, b []Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Address is one IMAP address structure (RFC 9051 section 7.5.2): Name is
// the display phrase (raw, encoded words kept), Adl the obsolete source
// route, Mailbox the local part and Host the domain.
//
// RFC 5322 groups are encoded as IMAP does: an Address with Host "" starts
// a group and carries the group name in Mailbox; one with Mailbox "" and
// Host "" ends it. A mailbox without a domain therefore gets Host
// MissingDomain (and a name-only address Mailbox MissingMailbox) so that it
// cannot be mistaken for a group marker.
type Address struct {
	Name    string `json:"n,omitempty"`
	Adl     string `json:"a,omitempty"`
	Mailbox string `json:"m,omitempty"`
	Host    string `json:"h,omitempty"`
}

// Placeholders for the parts of a broken address, so that it stays an
// address and never looks like an IMAP group marker.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
)

// IsGroupStart reports whether a marks the start of an RFC 5322 group.
func (a Address) IsGroupStart() bool { return a.Host == "" && a.Mailbox != "" }

// IsGroupEnd reports whether a marks the end of an RFC 5322 group.
func (a Address) IsGroupEnd() bool { return a.Host == "" && a.Mailbox == "" }

// Param is one MIME parameter. Keys are lower case; values are as written
// (quotes removed). RFC 2231 continuations (name*0, name*1*, ...) are joined
// into one parameter: "name" if no section was extended, otherwise "name*"
// holding charset'language'percent-encoded-value, the form IMAP clients
// decode (Part.Param decodes it for Go callers).
type Param struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Part is one body part: everything BODYSTRUCTURE reports about it (RFC 9051
// section 7.5.2) plus where it lies in the raw message.
//
// Offsets are byte offsets into the raw message. The part's MIME header
// (BODY[n.MIME], or BODY[HEADER] for the root) is [HeaderStart, BodyStart),
// blank line included; its body (BODY[n], or BODY[TEXT] for the root) is
// [BodyStart, End). Per RFC 2046 section 5.1.1 the line break before a
// boundary delimiter belongs to the delimiter, so it is not in End.
type Part struct {
	Type    string  `json:"type"` // lower case, e.g. "text"
	Subtype string  `json:"sub"`  // lower case, e.g. "plain"
	Params  []Param `json:"params,omitempty"`
	// ID, Description, MD5 and Location are the raw, unfolded values of
	// Content-ID, Content-Description, Content-MD5 and Content-Location.
	ID          string `json:"id,omitempty"`
	Description string `json:"desc,omitempty"`
	// Encoding is the Content-Transfer-Encoding in upper case, "7BIT" when
	// absent (RFC 2045 section 6.1).
	Encoding string `json:"enc,omitempty"`
	// Size is the body length in octets (End - BodyStart).
	Size int64 `json:"size,omitempty"`
	// Lines is the number of text lines of the body, kept for text/* and
	// message/rfc822 (and message/global) parts, the only ones for which
	// BODYSTRUCTURE reports it.
	Lines             int64    `json:"lines,omitempty"`
	MD5               string   `json:"md5,omitempty"`
	Disposition       string   `json:"disp,omitempty"` // lower case, "" when absent
	DispositionParams []Param  `json:"dparams,omitempty"`
	Language          []string `json:"lang,omitempty"`
	Location          string   `json:"loc,omitempty"`

	HeaderStart int64 `json:"hs,omitempty"`
	BodyStart   int64 `json:"bs,omitempty"`
	End         int64 `json:"end,omitempty"`

	// Parts are the children of a multipart part (at least one).
	Parts []Part `json:"parts,omitempty"`
	// Envelope and Message are set, together, exactly for a
	// message/rfc822 or message/global part: the encapsulated message's
	// envelope and its root part. A message part that could not be
	// descended into (encoded, or too deep) is reported with another type,
	// so an IMAP encoder never needs an envelope it does not have.
	Envelope *Envelope `json:"env,omitempty"`
	Message  *Part     `json:"msg,omitempty"`
}

// IsMultipart reports whether p is a multipart with children.
func (p *Part) IsMultipart() bool { return len(p.Parts) > 0 }

// IsMessage reports whether p encapsulates a parsed message.
func (p *Part) IsMessage() bool { return p.Message != nil }

// Param returns the value of the Content-Type parameter key (lower case),
// decoding an RFC 2231 extended value ("key*") to UTF-8 when the charset is
// one this package knows; "" when absent.
func (p *Part) Param(key string) string { return paramValue(p.Params, key) }

// DispositionParam is Param for the Content-Disposition parameters, e.g.
// DispositionParam("filename").
func (p *Part) DispositionParam(key string) string { return paramValue(p.DispositionParams, key) }

// Find resolves an IMAP section part number (RFC 9051 section 6.4.5) such
// as 1.2.3, given as []int{1, 2, 3}. A nil or empty section returns the
// root. In a message that is not multipart, part 1 is the root itself; in a
// multipart, n selects the n-th child; after a message/rfc822 part the
// numbering continues inside the encapsulated message, whose part 1 is its
// body when that body is not multipart.
//
// For BODY[n.HEADER] and BODY[n.TEXT] the caller uses the returned part's
// Message; for BODY[n.MIME] its own HeaderStart and BodyStart.
func (m *Message) Find(section []int) (*Part, bool) {
	p := &m.Root
	// atMessage: p is the root of a message and the next number selects
	// within that message, rather than p being a part already selected.
	atMessage := true
	for _, n := range section {
		if n < 1 {
			return nil, false
		}
		if !atMessage && p.Message != nil {
			p = p.Message
			atMessage = true
		}
		switch {
		case len(p.Parts) > 0:
			if n > len(p.Parts) {
				return nil, false
			}
			p = &p.Parts[n-1]
		case atMessage && n == 1:
			// RFC 9051 section 6.4.5: a non-multipart message has part 1,
			// which is its body.
		default:
			return nil, false
		}
		atMessage = false
	}
	return p, true
}

// Walk calls fn, depth first, for every part that has a section number
// (the numbering of Find), stopping early when fn returns false. The root
// of a multipart message and the multipart root of an encapsulated message
// have no number of their own and are not visited; a single-part message's
// root is visited as part 1. Every leaf is visited exactly once. The
// section slice is reused between calls; copy it to keep it.
func (m *Message) Walk(fn func(section []int, p *Part) bool) {
	walkMessage(nil, &m.Root, fn)
}

// walkChildren visits the children of multipart p; recursion is bounded by
// MaxDepth because the parser never builds deeper trees (and Unmarshal
// rejects them).
func walkChildren(prefix []int, p *Part, fn func([]int, *Part) bool) bool {
	for i := range p.Parts {
		sec := append(prefix[:len(prefix):len(prefix)], i+1)
		c := &p.Parts[i]
		if !fn(sec, c) {
			return false
		}
		if len(c.Parts) > 0 {
			if !walkChildren(sec, c, fn) {
				return false
			}
		} else if c.Message != nil {
			if !walkMessage(sec, c.Message, fn) {
				return false
			}
		}
	}
	return true
}

// walkMessage visits the parts of an encapsulated message whose root is
// root, numbered below prefix.
func walkMessage(prefix []int, root *Part, fn func([]int, *Part) bool) bool {
	if len(root.Parts) > 0 {
		return walkChildren(prefix, root, fn)
	}
	sec := append(prefix[:len(prefix):len(prefix)], 1)
	if !fn(sec, root) {
		return false
	}
	if root.Message != nil {
		return walkMessage(sec, root.Message, fn)
	}
	return true
}

// formatVersion is written by Marshal; Unmarshal refuses other versions so
// a caller re-parses the blob instead of misreading an old structure.
const formatVersion = 1

type stored struct {
	V int `json:"v"`
	*Message
}

// ErrFormat is returned by Unmarshal for data written by another format
// version or not written by Marshal; the caller should parse the blob again.
var ErrFormat = errors.New("mime: unknown stored structure format")

// Marshal encodes m as compact JSON for the store.
func Marshal(m *Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("mime: marshal nil message")
	}
	b, err := marshalCompact(stored{V: formatVersion, Message: m})
	if err != nil {
		return nil, fmt.Errorf("mime: marshal: %w", err)
	}
	return b, nil
}

// Unmarshal decodes what Marshal wrote. It checks the structure's shape
// (nesting depth and offsets) so that IMAP code can trust the offsets it
// seeks to.
func Unmarshal(b []byte) (*Message, error) {
	var s stored
	s.Message = new(Message)
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("mime: unmarshal: %w", err)
	}
	if s.V != formatVersion {
		return nil, fmt.Errorf("%w: version %d", ErrFormat, s.V)
	}
	if err := s.Message.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return s.Message, nil
}

// check verifies the invariants Parse guarantees: every part lies within
// the message and within its parent, HeaderStart <= BodyStart <= End, and
// nesting is no deeper than MaxDepth.
func (m *Message) check() error {
	type item struct {
		p      *Part
		lo, hi int64
		depth  int
		name   string
	}
	stack := []item{{p: &m.Root, lo: 0, hi: m.Size, name: "root"}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := it.p
		if it.depth > MaxDepth {
			return fmt.Errorf("part %s nested deeper than %d", it.name, MaxDepth)
		}
		if !(it.lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= it.hi) {
			return fmt.Errorf("part %s offsets %d/%d/%d outside [%d,%d]", it.name, p.HeaderStart, p.BodyStart, p.End, it.lo, it.hi)
		}
		if p.Size != p.End-p.BodyStart {
			return fmt.Errorf("part %s size %d does not match offsets", it.name, p.Size)
		}
		if (p.Message == nil) != (p.Envelope == nil) || (p.Message != nil && len(p.Parts) > 0) {
			return fmt.Errorf("part %s is both multipart and message, or lacks its envelope", it.name)
		}
		for i := range p.Parts {
			stack = append(stack, item{p: &p.Parts[i], lo: p.BodyStart, hi: p.End, depth: it.depth + 1, name: fmt.Sprintf("%s.%d", it.name, i+1)})
		}
		if p.Message != nil {
			stack = append(stack, item{p: p.Message, lo: p.BodyStart, hi: p.End, depth: it.depth + 1, name: it.name + ".msg"})
		}
	}
	return nil
}
