package mime

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxParams caps the parameters kept from one Content-Type or
// Content-Disposition field.
const maxParams = 64

// headerFields accumulates the header fields of one part that the parser
// keeps; all other fields are skipped as they stream past.
type headerFields struct {
	root bool   // a message header: keep the envelope fields too
	cur  string // field being read, "" when it is not kept
	buf  []byte
	vals map[string]string // first occurrence of each kept field
}

func newHeaderFields(root bool) *headerFields {
	return &headerFields{root: root, vals: make(map[string]string)}
}

// kept reports whether field name is needed for BODYSTRUCTURE, or, in a
// message header, for ENVELOPE.
func (h *headerFields) kept(name string) bool {
	switch name {
	case "content-type", "content-transfer-encoding", "content-id",
		"content-description", "content-md5", "content-disposition",
		"content-language", "content-location":
		return true
	case "date", "subject", "from", "sender", "reply-to", "to", "cc",
		"bcc", "in-reply-to", "message-id":
		return h.root
	}
	return false
}

// start begins field name with the (first piece of the) value after the
// colon.
func (h *headerFields) start(s *scanner, name string, value []byte) {
	h.flush()
	if !h.kept(name) {
		return
	}
	if _, dup := h.vals[name]; dup {
		// RFC 5322 section 3.6 and RFC 2045 allow these fields once;
		// the first one wins, the way most readers behave.
		return
	}
	h.cur = name
	h.buf = h.buf[:0]
	h.add(s, value)
}

// continuation adds a folded line (RFC 5322 section 2.2.3: unfolding
// removes the line break and keeps the whitespace).
func (h *headerFields) continuation(s *scanner, line []byte) { h.add(s, line) }

// more adds a further piece of an overlong line.
func (h *headerFields) more(s *scanner, chunk []byte) { h.add(s, chunk) }

// endLine drops the line break that ends the line just read.
func (h *headerFields) endLine() {
	if h.cur == "" {
		return
	}
	n := len(h.buf)
	if n > 0 && h.buf[n-1] == '\n' {
		n--
	}
	if n > 0 && h.buf[n-1] == '\r' {
		n--
	}
	h.buf = h.buf[:n]
}

func (h *headerFields) add(s *scanner, b []byte) {
	if h.cur == "" {
		return
	}
	room := maxFieldBytes - len(h.buf)
	if room > s.budget {
		room = s.budget
	}
	if len(b) > room {
		b = b[:max(room, 0)]
	}
	h.buf = append(h.buf, b...)
	s.budget -= len(b)
}

// flush stores the field being read.
func (h *headerFields) flush() {
	if h.cur == "" {
		return
	}
	h.vals[h.cur] = strings.TrimSpace(headerText(h.buf))
	h.cur = ""
}

// headerText returns a header value as a valid UTF-8 string, which the
// stored JSON and IMAP strings both need. RFC 6532 allows UTF-8 in headers;
// other raw 8-bit bytes (not allowed by RFC 5322, common in spam) are read
// as Windows-1252, the charset such mailers most often meant, so every byte
// still maps to a character and nothing is silently dropped.
func headerText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	// A value cut at maxFieldBytes may end inside a character.
	for k := 1; k <= 3 && k < len(b); k++ {
		if !utf8.FullRune(b[len(b)-k:]) && utf8.Valid(b[:len(b)-k]) {
			return string(b[:len(b)-k])
		}
	}
	return string(charsetToUTF8("windows-1252", b))
}

// apply fills p's BODYSTRUCTURE fields from the header. defaultMessage is
// set for children of multipart/digest.
func (h *headerFields) apply(p *Part, defaultMessage bool) {
	h.flush()
	h.buf = nil

	// RFC 2045 section 5.2: without a (valid) Content-Type the default is
	// text/plain; charset=us-ascii; RFC 2046 section 5.1.5: in a digest
	// it is message/rfc822.
	ct, haveCT := h.vals["content-type"]
	typ, sub, rest, ok := parseMediaType(ct)
	switch {
	case ok:
		p.Type, p.Subtype = typ, sub
		p.Params = parseParams(rest)
	case defaultMessage && !haveCT:
		p.Type, p.Subtype = "message", "rfc822"
	default:
		p.Type, p.Subtype = "text", "plain"
		p.Params = []Param{{Key: "charset", Value: "us-ascii"}}
	}

	// RFC 2045 section 6.1: the encoding is a token, 7BIT by default.
	enc, _, _ := cutToken(h.vals["content-transfer-encoding"], 0)
	p.Encoding = strings.ToUpper(enc)
	if p.Encoding == "" {
		p.Encoding = "7BIT"
	}

	p.ID = h.vals["content-id"]
	p.Description = h.vals["content-description"]
	p.MD5 = h.vals["content-md5"]
	p.Location = h.vals["content-location"]

	// RFC 2183 section 2: disposition-type *(";" parameter).
	cd := h.vals["content-disposition"]
	if d, end, ok := cutToken(cd, 0); ok {
		p.Disposition = strings.ToLower(d)
		p.DispositionParams = parseParams(cd[end:])
	}

	// RFC 3282 section 2: Content-Language is a list of language tags.
	for _, tag := range strings.Split(stripComments(h.vals["content-language"]), ",") {
		if tag = strings.TrimSpace(tag); tag != "" && len(p.Language) < maxParams {
			p.Language = append(p.Language, tag)
		}
	}
}

// envelope builds the ENVELOPE of a message header (RFC 9051 section 7.5.2).
func (h *headerFields) envelope() *Envelope {
	e := &Envelope{
		Date:      h.vals["date"],
		Subject:   h.vals["subject"],
		From:      parseAddressList(h.vals["from"]),
		Sender:    parseAddressList(h.vals["sender"]),
		ReplyTo:   parseAddressList(h.vals["reply-to"]),
		To:        parseAddressList(h.vals["to"]),
		Cc:        parseAddressList(h.vals["cc"]),
		Bcc:       parseAddressList(h.vals["bcc"]),
		InReplyTo: h.vals["in-reply-to"],
		MessageID: h.vals["message-id"],
	}
	// RFC 9051 section 7.5.2: "If the Sender or Reply-To header lines are
	// absent in the [RFC-5322] header, or are present but empty, the
	// server sets the corresponding member of the envelope to be the same
	// value as the from member."
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// isTokenChar reports whether c may appear in an RFC 2045 section 5.1
// token. Bytes >= 0x80 are accepted too: broken mailers put raw 8-bit text
// in parameters and dropping it would lose more than it protects.
func isTokenChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// skipCFWS skips whitespace and (nested) comments from i.
func skipCFWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			i = skipComment(s, i)
		default:
			return i
		}
	}
	return i
}

// skipComment skips the comment starting at s[i] == '(' (RFC 5322 section
// 3.2.2; comments nest and may quote with backslash). An unclosed comment
// runs to the end.
func skipComment(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// stripComments removes comments from s.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '(' {
			i = skipComment(s, i)
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// cutToken reads a token after optional CFWS at i, returning it and the
// index after it.
func cutToken(s string, i int) (tok string, end int, ok bool) {
	i = skipCFWS(s, i)
	start := i
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[start:i], i, i > start
}

// parseMediaType parses "type/subtype" (RFC 2045 section 5.1) and returns
// them in lower case with the rest of the field (the parameters).
func parseMediaType(v string) (typ, sub, rest string, ok bool) {
	typ, i, ok := cutToken(v, 0)
	if !ok {
		return "", "", "", false
	}
	i = skipCFWS(v, i)
	if i >= len(v) || v[i] != '/' {
		return "", "", "", false
	}
	sub, i, ok = cutToken(v, i+1)
	if !ok {
		return "", "", "", false
	}
	return strings.ToLower(typ), strings.ToLower(sub), v[i:], true
}

// parseParams parses *(";" attribute "=" value) leniently: missing
// semicolons, junk and attributes without values are skipped, unquoted
// values run to the next ';' or whitespace (so the common illegal
// boundary=----=_Part_1 works), and RFC 2231 continuations are joined.
func parseParams(s string) []Param {
	var raw []Param
	for i := 0; i < len(s) && len(raw) < maxParams; {
		i = skipCFWS(s, i)
		if i >= len(s) {
			break
		}
		if s[i] == ';' {
			i++
			continue
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		key := strings.ToLower(s[start:i])
		if key == "" {
			i++ // a stray special character
			continue
		}
		i = skipCFWS(s, i)
		if i >= len(s) || s[i] != '=' {
			continue
		}
		i = skipCFWS(s, i+1)
		var val string
		if i < len(s) && s[i] == '"' {
			val, i = unquote(s, i)
		} else {
			start = i
			for i < len(s) && s[i] != ';' && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			val = s[start:i]
		}
		raw = append(raw, Param{Key: key, Value: val})
	}
	return joinContinuations(raw)
}

// unquote reads the quoted-string starting at s[i] == '"' (RFC 5322
// section 3.2.4), returning its content with quoting removed and the index
// after it. An unclosed quote runs to the end.
func unquote(s string, i int) (string, int) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '\r', '\n':
			// Left over from folding; unfolding drops the break.
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), len(s)
}

// joinContinuations implements RFC 2231 section 3: parameters name*0,
// name*1, ... (each possibly extended, name*N*) are joined in section
// order into one parameter. If any section is extended the result is
// "name*" with charset'language'%XX-encoded value (sections that were not
// extended are %-encoded so the whole value decodes as one), else "name".
// The first parameter of a name wins over later duplicates.
func joinContinuations(raw []Param) []Param {
	type section struct {
		n        int
		extended bool
		value    string
	}
	type group struct {
		pos      int
		sections []section
	}
	var out []Param
	groups := map[string]*group{}
	for _, p := range raw {
		base, n, extended, ok := continuationKey(p.Key)
		if !ok {
			out = append(out, p)
			continue
		}
		g := groups[base]
		if g == nil {
			g = &group{pos: len(out)}
			groups[base] = g
			out = append(out, Param{Key: base}) // filled in below
		}
		g.sections = append(g.sections, section{n, extended, p.Value})
	}
	for base, g := range groups {
		sort.SliceStable(g.sections, func(i, j int) bool { return g.sections[i].n < g.sections[j].n })
		anyExtended := false
		for _, sec := range g.sections {
			anyExtended = anyExtended || sec.extended
		}
		var b strings.Builder
		last := -1
		for i, sec := range g.sections {
			if sec.n == last {
				continue // a repeated section number: keep the first
			}
			last = sec.n
			switch {
			case !anyExtended || sec.extended && i > 0:
				b.WriteString(sec.value)
			case sec.extended: // the first section carries charset'lang'
				if sec.n == 0 && strings.Count(sec.value, "'") >= 2 {
					b.WriteString(sec.value)
				} else {
					b.WriteString("''")
					b.WriteString(sec.value)
				}
			default:
				if i == 0 {
					b.WriteString("''")
				}
				b.WriteString(percentEncode(sec.value))
			}
		}
		key := base
		if anyExtended {
			key += "*"
		}
		out[g.pos] = Param{Key: key, Value: b.String()}
	}
	// First occurrence of each key wins.
	seen := make(map[string]bool, len(out))
	kept := out[:0]
	for _, p := range out {
		if !seen[p.Key] {
			seen[p.Key] = true
			kept = append(kept, p)
		}
	}
	return kept
}

// continuationKey splits an RFC 2231 continuation key "name*N" or
// "name*N*". A plain "name*" (extended, not continued) is not one.
func continuationKey(key string) (base string, n int, extended, ok bool) {
	i := strings.IndexByte(key, '*')
	if i <= 0 {
		return "", 0, false, false
	}
	base, rest := key[:i], key[i+1:]
	if strings.HasSuffix(rest, "*") {
		extended = true
		rest = rest[:len(rest)-1]
	}
	if rest == "" || len(rest) > 4 {
		return "", 0, false, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || rest[0] == '+' {
		return "", 0, false, false
	}
	return base, n, extended, true
}

// percentEncode encodes what RFC 2231 section 7 does not allow unencoded
// in an extended value.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenChar(c) && c < 0x80 && c != '%' && c != '*' && c != '\'' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// paramRaw returns the value of key exactly as stored.
func paramRaw(params []Param, key string) string {
	for _, p := range params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// paramValue returns the value of key, preferring the RFC 2231 extended
// form key* (decoded to UTF-8 when its charset is known) over key.
func paramValue(params []Param, key string) string {
	key = strings.ToLower(key)
	for _, p := range params {
		if p.Key == key+"*" {
			return decodeExtended(p.Value)
		}
	}
	return paramRaw(params, key)
}

// decodeExtended decodes an RFC 2231 section 4 extended value
// charset'language'%XX-encoded-text.
func decodeExtended(v string) string {
	charset := ""
	if i := strings.IndexByte(v, '\''); i >= 0 {
		if j := strings.IndexByte(v[i+1:], '\''); j >= 0 {
			charset, v = v[:i], v[i+1+j+1:]
		}
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b = append(b, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		b = append(b, v[i])
	}
	return string(charsetToUTF8(charset, b))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
