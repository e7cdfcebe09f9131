package mime

import "strings"

// An address list is parsed by a small tokenizer and a forgiving state
// machine rather than net/mail: net/mail decodes RFC 2047 words (IMAP wants
// them raw), flattens groups (IMAP reports them as markers) and rejects a
// whole list for one broken address. This parser never fails: whatever it
// cannot read as RFC 5322 section 3.4 syntax it still turns into addresses.

type tokKind uint8

const (
	tokAtom    tokKind = iota // atom, dot-atom or domain literal
	tokQuoted                 // quoted-string, quotes removed
	tokComment                // comment, parentheses removed
	tokSpecial                // one of < > , : ; @
)

type token struct {
	kind  tokKind
	text  string
	space bool // whitespace (or a comment) came before it
}

func (t token) is(c byte) bool { return t.kind == tokSpecial && t.text[0] == c }

// tokenizeAddresses splits an address header value into tokens.
func tokenizeAddresses(s string) []token {
	var toks []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
		case c == '"':
			v, end := unquote(s, i)
			toks = append(toks, token{tokQuoted, v, space})
			space, i = false, end
		case c == '(':
			end := skipComment(s, i)
			inner := s[i+1 : end]
			inner = strings.TrimSuffix(inner, ")")
			toks = append(toks, token{tokComment, strings.TrimSpace(inner), space})
			space, i = true, end
		case strings.IndexByte("<>,:;@", c) >= 0:
			toks = append(toks, token{tokSpecial, s[i : i+1], space})
			space = false
			i++
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				end = len(s) - i - 1
			}
			toks = append(toks, token{tokAtom, s[i : i+end+1], space})
			space, i = false, i+end+1
		default:
			start := i
			for i < len(s) && strings.IndexByte(" \t\r\n\"(<>,:;@[", s[i]) < 0 {
				i++
			}
			toks = append(toks, token{tokAtom, s[start:i], space})
			space = false
		}
	}
	return toks
}

// phraseText joins the words of a display name with single spaces where
// the source had whitespace.
func phraseText(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind == tokComment {
			continue
		}
		if t.space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// compactText joins tokens without spaces, as in a local part or domain.
func compactText(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind != tokComment {
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// splitAddrSpec splits tokens of local-part "@" domain at the last '@'.
func splitAddrSpec(toks []token) (mailbox, host string, hadAt bool) {
	at := -1
	for i, t := range toks {
		if t.is('@') {
			at = i
		}
	}
	if at < 0 {
		return compactText(toks), "", false
	}
	return compactText(toks[:at]), compactText(toks[at+1:]), true
}

// lastComment returns the text of the last comment in toks, used as the
// name of "user@host (Real Name)" (an old convention IMAP servers keep).
func lastComment(toks []token) string {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind == tokComment {
			return toks[i].text
		}
	}
	return ""
}

// parseAddressList parses an RFC 5322 section 3.4 address-list into IMAP
// address structures, groups included as markers (RFC 9051 section
// 7.5.2). It returns nil for an empty or absent field.
func parseAddressList(s string) []Address {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	toks := tokenizeAddresses(s)
	var out []Address
	var cur []token    // tokens of the address being read, outside <>
	angleSeen := false // the current address had its <...>
	inGroup := false

	add := func(name, adl, mailbox, host string) {
		if name == "" && mailbox == "" && host == "" {
			return // "<>" or junk: nothing to report
		}
		if mailbox == "" {
			mailbox = MissingMailbox
		}
		if host == "" {
			host = MissingDomain
		}
		out = append(out, Address{Name: name, Adl: adl, Mailbox: mailbox, Host: host})
	}
	// finish ends the current address at ',' ';' or the end.
	finish := func() {
		if !angleSeen && len(cur) > 0 {
			words := 0
			for _, t := range cur {
				if t.kind != tokComment {
					words++
				}
			}
			mailbox, host, hadAt := splitAddrSpec(cur)
			switch {
			case hadAt || words == 1:
				add(lastComment(cur), "", mailbox, host)
			case words > 1:
				// Words without an address ("Undisclosed recipients"):
				// keep them as the name of an address we do not know.
				add(phraseText(cur), "", "", "")
			}
		}
		cur, angleSeen = cur[:0], false
	}

	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is('<') && !angleSeen:
			j := i + 1
			for j < len(toks) && !toks[j].is('>') {
				j++
			}
			inner := toks[i+1 : j]
			// RFC 5322 section 4.4 obs-route: "@a,@b:" before the
			// addr-spec is the source route, IMAP's adl.
			adl := ""
			if len(inner) > 0 && inner[0].is('@') {
				for k, it := range inner {
					if it.is(':') {
						adl = compactText(inner[:k])
						inner = inner[k+1:]
						break
					}
				}
			}
			mailbox, host, _ := splitAddrSpec(inner)
			name := phraseText(cur)
			if name == "" {
				name = lastComment(inner)
			}
			add(name, adl, mailbox, host)
			angleSeen = true
			i = j // at '>' or the end
		case angleSeen && !t.is(',') && !t.is(';'):
			// Trailing junk after <addr> is ignored up to the next comma.
		case t.is(':') && !inGroup && len(cur) > 0 && !containsAt(cur):
			// RFC 5322 section 3.4: display-name ":" [group-list] ";"
			out = append(out, Address{Mailbox: phraseText(cur)})
			inGroup = true
			cur = cur[:0]
		case t.is(';') && inGroup:
			finish()
			out = append(out, Address{}) // group end
			inGroup = false
		case t.is(','):
			finish()
		case t.is(';') || t.is(':') || t.is('>'):
			// Stray punctuation.
		default:
			cur = append(cur, t)
		}
	}
	finish()
	if inGroup {
		out = append(out, Address{})
	}
	return out
}

func containsAt(toks []token) bool {
	for _, t := range toks {
		if t.is('@') {
			return true
		}
	}
	return false
}
