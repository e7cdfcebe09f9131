package imapd

import (
	"fmt"
	"slices"
	"strings"

	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// listEntry is one name LIST may return: an existing mailbox, or a parent
// implied by a child's name (RFC 9051 section 6.3.9: \Noselect).
type listEntry struct {
	name        string
	mb          *store.Mailbox // nil for an implied parent
	hasChildren bool
	// subscribedChild: some child is subscribed (RFC 5258 CHILDINFO).
	subscribedChild bool
}

// cmdList: LIST (RFC 9051 section 6.3.9) with LIST-EXTENDED (RFC 5258),
// LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154), and the old LSUB
// (RFC 3501 section 6.3.9).
func (s *session) cmdList(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.ListArgs)
	lsub := cmd.Name == "LSUB"

	// RFC 9051 section 6.3.9: an empty pattern asks for the delimiter
	// and the root of the reference.
	if !lsub && len(args.Patterns) == 1 && args.Patterns[0] == "" && !args.Extended {
		s.w.StartUntagged()
		s.w.Atom("LIST")
		s.w.Raw(`(\Noselect) "/" ""`)
		s.w.EndLine()
		return "", nil
	}

	mailboxes, err := s.srv.cfg.Store.ListMailboxes(s.ctx, s.account.ID)
	if err != nil {
		return "", fmt.Errorf("list mailboxes: %w", err)
	}
	entries := listEntries(mailboxes)

	var patterns []string
	for _, p := range args.Patterns {
		// The reference is prefixed to the pattern (RFC 9051 section
		// 6.3.9); with "/" as delimiter a plain concatenation serves.
		full := p
		if args.Reference != "" {
			full = strings.TrimSuffix(args.Reference, "/") + "/" + strings.TrimPrefix(p, "/")
		}
		patterns = append(patterns, full)
	}
	selSubscribed := args.SelectSubscribed || lsub
	for _, e := range entries {
		if !slices.ContainsFunc(patterns, func(p string) bool { return matchPattern(p, e.name) }) {
			continue
		}
		subscribed := e.mb != nil && e.mb.Subscribed
		childInfo := false
		if selSubscribed && !subscribed {
			// RFC 5258 section 3.1: with RECURSIVEMATCH a parent of a
			// subscribed mailbox is returned with CHILDINFO; LSUB
			// returns such parents as \Noselect (RFC 3501 6.3.9).
			if !e.subscribedChild || !(args.SelectRecursiveMatch || lsub) {
				continue
			}
			if lsub && !hiddenSubscribedChild(entries, e.name, patterns) {
				// RFC 3501 section 6.3.9: the parent stands in only
				// for children the pattern ("%") does not reach.
				continue
			}
			childInfo = !lsub
		}
		if args.SelectSpecialUse && (e.mb == nil || e.mb.SpecialUse == "") {
			continue
		}
		s.writeListEntry(cmd.Name, e, args, subscribed, childInfo, lsub && !subscribed)
		if len(args.ReturnStatus) > 0 && e.mb != nil {
			if err := s.writeStatus(*e.mb, args.ReturnStatus); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

func (s *session) writeListEntry(name string, e listEntry, args *wire.ListArgs, subscribed, childInfo, lsubNoselect bool) {
	var attrs []string
	if e.mb == nil || lsubNoselect {
		attrs = append(attrs, `\Noselect`)
	}
	if e.mb == nil && name == "LIST" && args.Extended {
		// RFC 5258 section 3.4: a name that does not exist.
		attrs = append(attrs, `\NonExistent`)
	}
	if name == "LIST" {
		// RFC 3348 / RFC 9051 section 7.3.1: children are cheap to tell.
		if e.hasChildren {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if subscribed && (args.ReturnSubscribed || args.SelectSubscribed) {
			attrs = append(attrs, `\Subscribed`)
		}
		if e.mb != nil && e.mb.SpecialUse != "" {
			attrs = append(attrs, e.mb.SpecialUse)
		}
	}
	s.w.StartUntagged()
	s.w.Atom(name)
	s.w.Open()
	for _, a := range attrs {
		s.w.Atom(a)
	}
	s.w.Close()
	s.w.Quoted("/")
	s.w.Mailbox(e.name)
	if childInfo {
		s.w.Raw(`("CHILDINFO" ("SUBSCRIBED"))`)
	}
	s.w.EndLine()
}

// listEntries builds the sorted names LIST works on: every mailbox plus
// the parents their names imply, INBOX first.
func listEntries(mailboxes []store.Mailbox) []listEntry {
	byName := make(map[string]*listEntry, len(mailboxes))
	for i := range mailboxes {
		mb := &mailboxes[i]
		if e := byName[mb.Name]; e != nil {
			e.mb = mb
		} else {
			byName[mb.Name] = &listEntry{name: mb.Name, mb: mb}
		}
		name := mb.Name
		for {
			i := strings.LastIndexByte(name, '/')
			if i < 0 {
				break
			}
			name = name[:i]
			p := byName[name]
			if p == nil {
				p = &listEntry{name: name}
				byName[name] = p
			}
			p.hasChildren = true
			if mb.Subscribed {
				p.subscribedChild = true
			}
		}
	}
	out := make([]listEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b listEntry) int {
		if (a.name == "INBOX") != (b.name == "INBOX") {
			if a.name == "INBOX" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// matchPattern matches a mailbox name against a LIST pattern (RFC 9051
// section 6.3.9): "*" matches anything, "%" anything but the delimiter.
// INBOX matches case-insensitively (section 5.1).
func matchPattern(pattern, name string) bool {
	if len(pattern) >= 5 && strings.EqualFold(pattern[:5], "INBOX") && (len(pattern) == 5 || pattern[5] == '/') {
		pattern = "INBOX" + pattern[5:]
	}
	return match(pattern, name, 0)
}

// match is a backtracking glob with a bound on the work: patterns come
// from clients, and "*%*%*..." must not be exponential. depth counts
// wildcards expanded.
func match(p, n string, depth int) bool {
	if depth > 64 {
		return false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*', '%':
			wild := p[0]
			// Collapse runs of wildcards; "*" wins over "%".
			for len(p) > 0 && (p[0] == '*' || p[0] == '%') {
				if p[0] == '*' {
					wild = '*'
				}
				p = p[1:]
			}
			if len(p) == 0 {
				return wild == '*' || !strings.Contains(n, "/")
			}
			for i := 0; i <= len(n); i++ {
				if match(p, n[i:], depth+1) {
					return true
				}
				if i < len(n) && wild == '%' && n[i] == '/' {
					return false
				}
			}
			return false
		default:
			if len(n) == 0 || n[0] != p[0] {
				return false
			}
			p, n = p[1:], n[1:]
		}
	}
	return len(n) == 0
}

// hiddenSubscribedChild reports whether a subscribed mailbox below name
// matches none of the patterns.
func hiddenSubscribedChild(entries []listEntry, name string, patterns []string) bool {
	for _, e := range entries {
		if e.mb == nil || !e.mb.Subscribed || !strings.HasPrefix(e.name, name+"/") {
			continue
		}
		if !slices.ContainsFunc(patterns, func(p string) bool { return matchPattern(p, e.name) }) {
			return true
		}
	}
	return false
}
