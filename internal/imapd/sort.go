package imapd

import (
	"cmp"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
)

// sortKeys are the values of one message the SORT criteria compare,
// computed once per message.
type sortKeys struct {
	m        *message
	sent     time.Time
	subject  string
	from, to string
	cc       string
	dispFrom string
	dispTo   string
}

// sortMessages orders msgs by criteria (RFC 5256 section 3, SORT; RFC 5957
// DISPLAYFROM and DISPLAYTO). Messages equal under every criterion keep
// their sequence order (RFC 5256 section 3: "sequence number is used as
// the final tie-breaker"); REVERSE reverses one criterion only.
func sortMessages(ld *loader, msgs []message, criteria []wire.SortCriterion) ([]message, error) {
	needParse := false
	for _, c := range criteria {
		switch c.Key {
		case "ARRIVAL", "SIZE":
		case "CC", "DATE", "FROM", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
			needParse = true
		default:
			return nil, fmt.Errorf("sort: unsupported criterion %s", c.Key)
		}
	}
	keys := make([]sortKeys, len(msgs))
	for i := range msgs {
		if err := ld.ctx.Err(); err != nil {
			return nil, fmt.Errorf("sort: %w", err)
		}
		m := &msgs[i]
		keys[i].m = m
		if !needParse {
			continue
		}
		p, err := ld.parsed(m)
		if err != nil {
			return nil, err
		}
		env := &p.Envelope
		keys[i].sent = sentDate(env, m)
		keys[i].subject, _ = baseSubject(env.Subject)
		keys[i].from = asciiUpper(firstMailbox(env.From).Mailbox)
		keys[i].to = asciiUpper(firstMailbox(env.To).Mailbox)
		keys[i].cc = asciiUpper(firstMailbox(env.Cc).Mailbox)
		keys[i].dispFrom = displayName(env.From)
		keys[i].dispTo = displayName(env.To)
	}
	slices.SortStableFunc(keys, func(a, b sortKeys) int {
		for _, c := range criteria {
			var r int
			switch c.Key {
			case "ARRIVAL":
				r = a.m.InternalDate.Compare(b.m.InternalDate)
			case "SIZE":
				r = cmp.Compare(a.m.Size, b.m.Size)
			case "DATE":
				r = a.sent.Compare(b.sent)
			case "SUBJECT":
				r = strings.Compare(a.subject, b.subject)
			case "FROM":
				r = strings.Compare(a.from, b.from)
			case "TO":
				r = strings.Compare(a.to, b.to)
			case "CC":
				r = strings.Compare(a.cc, b.cc)
			case "DISPLAYFROM":
				r = strings.Compare(a.dispFrom, b.dispFrom)
			case "DISPLAYTO":
				r = strings.Compare(a.dispTo, b.dispTo)
			}
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.m.Seq, b.m.Seq)
	})
	out := make([]message, len(keys))
	for i, k := range keys {
		out[i] = *k.m
	}
	return out, nil
}

// sentDate is the sent date of RFC 5256 section 2.2: the Date: header
// in UTC, or the internal date when it is missing or cannot be parsed.
func sentDate(env *mime.Envelope, m *message) time.Time {
	if t, ok := parseSentDate(env.Date); ok {
		return t.UTC()
	}
	return m.InternalDate.UTC()
}

// parseSentDate parses an RFC 5322 date (section 3.3, obsolete forms of
// section 4.3 included), tolerating a trailing comment such as "(UTC)".
func parseSentDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	if i := strings.IndexByte(s, '('); i > 0 {
		if t, err := mail.ParseDate(strings.TrimSpace(s[:i])); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// firstMailbox is the first address of a list that is not a group marker
// (RFC 5256 section 3: the addr-mailbox of the first address).
func firstMailbox(list []mime.Address) mime.Address {
	for _, a := range list {
		if !a.IsGroupStart() && !a.IsGroupEnd() {
			if a.Mailbox == mime.MissingMailbox {
				a.Mailbox = ""
			}
			return a
		}
	}
	return mime.Address{}
}

// displayName is the RFC 5957 section 3 sort value: the decoded display
// name of the first address, or its addr-spec when it has none, compared
// case-insensitively.
func displayName(list []mime.Address) string {
	a := firstMailbox(list)
	name := strings.TrimSpace(mime.DecodeHeader(a.Name))
	if name == "" && a.Mailbox != "" {
		name = a.Mailbox
		if a.Host != "" && a.Host != mime.MissingDomain {
			name += "@" + a.Host
		}
	}
	return asciiUpper(name)
}

// asciiUpper is the i;ascii-casemap collation of RFC 4790 section 9.2
// that RFC 5256 uses by default: ASCII letters compare case-insensitively,
// everything else by octet.
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// baseSubject extracts the base subject of RFC 5256 section 2.1 and
// reports whether the subject was a reply or forward (had a subj-refwd
// or a "(fwd)" subj-trailer, RFC 5256 section 3), which THREAD needs. The
// result is compared with i;ascii-casemap, so it is returned upper-cased.
func baseSubject(subject string) (string, bool) {
	// (1) Decode encoded words, turn tabs and line breaks into spaces and
	// collapse runs of white space.
	s := strings.Join(strings.FieldsFunc(mime.DecodeHeader(subject), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
	refwd := false
	for {
		// (2) Remove trailing "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				refwd = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3), (4), (5): remove leaders and blobs until none is left.
		for {
			changed := false
			if t, ok := cutLeader(s); ok {
				if t != s {
					refwd = refwd || isRefwdLeader(s, t)
					s, changed = t, true
				}
			}
			if t, ok := cutBlob(s); ok && strings.TrimSpace(t) != "" {
				s, changed = t, true
			}
			if !changed {
				break
			}
		}
		// (6) "[fwd:" ... "]" wraps a forwarded subject: unwrap, repeat.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			continue
		}
		break
	}
	return asciiUpper(s), refwd
}

// cutLeader removes a leading subj-leader (RFC 5256 section 5):
// subj-leader = (*subj-blob subj-refwd) / WSP, subj-refwd = ("re" /
// ("fw" ["d"])) *WSP [subj-blob] ":".
func cutLeader(s string) (string, bool) {
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\t") {
		return strings.TrimLeft(s, " \t"), true
	}
	t := s
	for {
		u, ok := cutBlob(t)
		if !ok {
			break
		}
		t = u
	}
	if u, ok := cutRefwd(t); ok {
		return u, true
	}
	return s, false
}

// isRefwdLeader reports whether cutting s to t removed a subj-refwd (and
// not only white space).
func isRefwdLeader(s, t string) bool {
	return strings.TrimLeft(s, " \t") != t
}

// cutRefwd removes a leading subj-refwd.
func cutRefwd(s string) (string, bool) {
	var rest string
	switch {
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		rest = s[3:]
	case len(s) >= 2 && (strings.EqualFold(s[:2], "re") || strings.EqualFold(s[:2], "fw")):
		rest = s[2:]
	default:
		return s, false
	}
	rest = strings.TrimLeft(rest, " \t")
	if u, ok := cutBlob(rest); ok {
		rest = u
	}
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}

// cutBlob removes a leading subj-blob: "[" *BLOBCHAR "]" *WSP, where
// BLOBCHAR is any CHAR except "[" and "]".
func cutBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimLeft(s[end+2:], " \t"), true
}
