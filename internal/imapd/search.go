package imapd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
	"mailport/internal/store"
)

// searchEnv is what SEARCH criteria are evaluated against besides the
// messages themselves.
type searchEnv struct {
	// MaxSeq and MaxUID are what "*" stands for in sequence sets and UID
	// sets: the number of messages and the highest UID in the session's
	// view.
	MaxSeq, MaxUID uint32
	// Saved is the result of the last SEARCH RETURN (SAVE), as UIDs
	// (RFC 5182): "$" as a sequence set or a UID set means these.
	Saved []uint32
	// Now is the time OLDER and YOUNGER (RFC 5032) measure from.
	Now time.Time
}

// maxSearchDepth bounds the recursion over a criteria tree; the wire
// parser already limits nesting (wire.DefaultMaxNesting), this only guards
// against a hand-built tree.
const maxSearchDepth = 256

// Costs of evaluating a key for one message, so that an AND can test the
// cheap keys first and skip the expensive ones (RFC 9051 section 6.4.4
// does not order the keys; the result is the same).
const (
	costListing = iota // flags, sizes, dates, numbers: in the listing
	costParsed         // the cached parse (sent date)
	costHeader         // the top-level header, read from the blob
	costText           // decoded text of the whole message
)

// searchNode is a key of the criteria tree prepared for evaluation.
type searchNode struct {
	key    *wire.SearchKey
	kids   []*searchNode
	cost   int
	needle string // the key's string, lower case (text and header keys)

	// hits are the UIDs the search index reports for a text or header
	// key, looked up on first use. For a header key answered by the
	// store (fieldKnown), hits are exact and unknown holds the messages
	// the store could not tell about; otherwise hits are candidates.
	hits       map[uint32]bool
	unknown    map[uint32]bool
	fieldKnown bool
	looked     bool
}

// searchMessages returns the messages of msgs (all messages of the
// selected mailbox, in sequence order) that match key, in the same order
// (RFC 9051 section 6.4.4).
//
// Keys that need only the listing (flags, UIDs, sequence numbers, sizes,
// internal dates, MODSEQ) are evaluated first; the cached parse, the
// header and the text of a message are loaded only when a key still
// needs them, once per message. BODY and TEXT use the store's text index
// (store.Store.SearchText), and the header keys its header text
// (store.Store.SearchHeaderField), for the messages it holds text for;
// only messages the index has no text for (or, for header keys, no text
// of one line per field) are read from their blobs, with
// mime.ExtractText and mime.FieldText, the functions that produce the
// indexed text, so both paths agree.
func searchMessages(ld *loader, msgs []message, key *wire.SearchKey, env searchEnv) ([]message, error) {
	s := &searcher{ld: ld, env: env, msgs: msgs}
	if len(env.Saved) > 0 {
		s.saved = make(map[uint32]bool, len(env.Saved))
		for _, u := range env.Saved {
			s.saved[u] = true
		}
	}
	root, err := compileSearch(key, 0)
	if err != nil {
		return nil, err
	}
	var out []message
	for i := range msgs {
		if err := ld.ctx.Err(); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		s.reset(&msgs[i])
		ok, err := s.eval(root)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, msgs[i])
		}
	}
	return out, nil
}

// compileSearch checks the tree and orders the children of every AND and
// OR by cost.
func compileSearch(k *wire.SearchKey, depth int) (*searchNode, error) {
	if k == nil {
		return nil, errors.New("search: empty criteria")
	}
	if depth > maxSearchDepth {
		return nil, fmt.Errorf("search: criteria nested deeper than %d", maxSearchDepth)
	}
	n := &searchNode{key: k}
	switch k.Op {
	case "AND", "OR", "NOT":
		if k.Op == "OR" && len(k.Children) != 2 || k.Op == "NOT" && len(k.Children) != 1 {
			return nil, fmt.Errorf("search: %s with %d operands", k.Op, len(k.Children))
		}
		for _, c := range k.Children {
			cn, err := compileSearch(c, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, cn)
			n.cost = max(n.cost, cn.cost)
		}
		if k.Op == "AND" || k.Op == "OR" {
			slices.SortStableFunc(n.kids, func(a, b *searchNode) int { return a.cost - b.cost })
		}
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN", "UNANSWERED",
		"UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN", "NEW", "OLD", "RECENT",
		"KEYWORD", "UNKEYWORD", "SEQSET", "UID", "BEFORE", "ON", "SINCE",
		"LARGER", "SMALLER", "OLDER", "YOUNGER", "MODSEQ":
		n.cost = costListing
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		n.cost = costParsed
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER":
		n.cost = costHeader
		n.needle = strings.ToLower(k.Value)
	case "BODY", "TEXT":
		n.cost = costText
		n.needle = strings.ToLower(k.Value)
	default:
		return nil, fmt.Errorf("search: unsupported key %s", k.Op)
	}
	return n, nil
}

// searcher evaluates a criteria tree message by message.
type searcher struct {
	ld    *loader
	env   searchEnv
	saved map[uint32]bool

	// msgs are the messages searched. unindexed holds those of their
	// UIDs the text index has no text for (store.Store.UnindexedUIDs);
	// for the others the index's answers are exact. anyIndexed says
	// whether asking the index is worth it at all.
	msgs         []message
	unindexed    map[uint32]bool
	anyIndexed   bool
	indexedKnown bool

	// State of the message being evaluated.
	m       *message
	msg     *mime.Message
	fields  []mime.HeaderField
	hdrRead bool
	headTxt string // lower case
	bodyTxt string // lower case
	txtRead bool
}

func (s *searcher) reset(m *message) {
	s.m, s.msg, s.fields, s.hdrRead = m, nil, nil, false
	s.headTxt, s.bodyTxt, s.txtRead = "", "", false
}

func (s *searcher) eval(n *searchNode) (bool, error) {
	k, m := n.key, s.m
	switch k.Op {
	case "AND":
		for _, c := range n.kids {
			if ok, err := s.eval(c); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "OR":
		for _, c := range n.kids {
			if ok, err := s.eval(c); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "NOT":
		ok, err := s.eval(n.kids[0])
		return !ok && err == nil, err
	case "ALL", "OLD":
		// RFC 9051 section 6.4.4: OLD is NOT RECENT; mailport never
		// reports \Recent (IMAP4rev2 dropped it), so every message is old.
		return true, nil
	case "NEW", "RECENT":
		// NEW is RECENT UNSEEN; no message is recent.
		return false, nil
	case "ANSWERED":
		return hasFlag(m.Flags, store.FlagAnswered), nil
	case "DELETED":
		return hasFlag(m.Flags, store.FlagDeleted), nil
	case "DRAFT":
		return hasFlag(m.Flags, store.FlagDraft), nil
	case "FLAGGED":
		return hasFlag(m.Flags, store.FlagFlagged), nil
	case "SEEN":
		return hasFlag(m.Flags, store.FlagSeen), nil
	case "UNANSWERED":
		return !hasFlag(m.Flags, store.FlagAnswered), nil
	case "UNDELETED":
		return !hasFlag(m.Flags, store.FlagDeleted), nil
	case "UNDRAFT":
		return !hasFlag(m.Flags, store.FlagDraft), nil
	case "UNFLAGGED":
		return !hasFlag(m.Flags, store.FlagFlagged), nil
	case "UNSEEN":
		return !hasFlag(m.Flags, store.FlagSeen), nil
	case "KEYWORD":
		return hasFlag(m.Flags, k.Value), nil
	case "UNKEYWORD":
		return !hasFlag(m.Flags, k.Value), nil
	case "SEQSET":
		if k.Set.Saved {
			// RFC 5182 section 2.1: "$" is the saved set of messages.
			return s.saved[m.UID], nil
		}
		return k.Set.Contains(m.Seq, s.env.MaxSeq), nil
	case "UID":
		if k.Set.Saved {
			return s.saved[m.UID], nil
		}
		return k.Set.Contains(m.UID, s.env.MaxUID), nil
	case "LARGER":
		return m.Size >= 0 && uint64(m.Size) > k.Number, nil
	case "SMALLER":
		return m.Size >= 0 && uint64(m.Size) < k.Number, nil
	case "MODSEQ":
		// RFC 7162 section 3.1.5: a mod-sequence equal to or greater
		// than the one given.
		return m.ModSeq >= k.Number, nil
	case "BEFORE", "ON", "SINCE":
		// RFC 9051 section 6.4.4: the internal date "disregarding time and
		// timezone", i.e. the calendar day in the internal date's own zone.
		return compareDay(k.Op, civilDay(m.InternalDate), civilDay(k.Date.UTC())), nil
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		sent, err := s.sentDate()
		if err != nil {
			return false, err
		}
		return compareDay(strings.TrimPrefix(k.Op, "SENT"), civilDay(sent), civilDay(k.Date.UTC())), nil
	case "OLDER", "YOUNGER":
		// RFC 5032 section 3: OLDER n holds for messages whose internal
		// date is at least n seconds before now, YOUNGER n for the rest.
		limit := s.env.Now.Add(-time.Duration(min(k.Number, uint64(1<<33))) * time.Second)
		older := !m.InternalDate.After(limit)
		return older == (k.Op == "OLDER"), nil
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER":
		return s.header(n)
	case "BODY", "TEXT":
		return s.text(n)
	}
	return false, fmt.Errorf("search: unsupported key %s", k.Op)
}

// hasFlag compares flags case-insensitively (RFC 9051 section 2.3.2:
// flag names are not case-sensitive).
func hasFlag(flags []string, flag string) bool {
	for _, f := range flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// civilDay is the calendar day of t in t's own location.
func civilDay(t time.Time) int {
	y, mo, d := t.Date()
	return y*10000 + int(mo)*100 + d
}

func compareDay(op string, day, key int) bool {
	switch op {
	case "BEFORE":
		return day < key
	case "ON":
		return day == key
	}
	return day >= key // SINCE: "within or later than"
}

func (s *searcher) parsed() (*mime.Message, error) {
	if s.msg == nil {
		p, err := s.ld.parsed(s.m)
		if err != nil {
			return nil, err
		}
		s.msg = p
	}
	return s.msg, nil
}

// sentDate is the Date: header of the message (RFC 9051 section 6.4.4,
// SENT*), or its internal date when the header is missing or unreadable,
// as SORT does (RFC 5256 section 2.2).
func (s *searcher) sentDate() (time.Time, error) {
	p, err := s.parsed()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := parseSentDate(p.Envelope.Date); ok {
		return t, nil
	}
	return s.m.InternalDate, nil
}

// probeIndex learns once which messages the index has text for.
func (s *searcher) probeIndex() error {
	if s.indexedKnown {
		return nil
	}
	uids, err := s.ld.st.UnindexedUIDs(s.ld.ctx, s.ld.mailboxID)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	s.unindexed = uidSet(uids)
	for i := range s.msgs {
		if !s.unindexed[s.msgs[i].UID] {
			s.anyIndexed = true
			break
		}
	}
	s.indexedKnown = true
	return nil
}

// indexed reports whether the index's answers for uid are exact.
func (s *searcher) indexed(uid uint32) bool {
	return !s.unindexed[uid]
}

func uidSet(uids []uint32) map[uint32]bool {
	set := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		set[u] = true
	}
	return set
}

// lookup asks the index once for the node's needle.
func (s *searcher) lookup(n *searchNode, field store.TextField, needle string) error {
	if n.looked {
		return nil
	}
	if err := s.probeIndex(); err != nil {
		return err
	}
	if s.anyIndexed {
		uids, err := s.ld.st.SearchText(s.ld.ctx, s.ld.mailboxID, field, needle)
		if err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		n.hits = uidSet(uids)
		if field == store.TextHeader {
			// The hits are the candidates whose header is read next:
			// their structures load in batches.
			s.ld.want(uids)
		}
	}
	n.looked = true
	return nil
}

// header evaluates BCC, CC, FROM, SUBJECT, TO and HEADER: a
// case-insensitive substring of the decoded (RFC 2047) value of a field of
// that name; HEADER with an empty string matches every message with the
// field (RFC 9051 section 6.4.4). The store answers from its header text
// (store.Store.SearchHeaderField) for the messages whose text tells;
// the others, and names the store does not take, are checked in the
// message's header.
func (s *searcher) header(n *searchNode) (bool, error) {
	name := n.key.Op
	if name == "HEADER" {
		name = n.key.Field
	}
	if err := s.lookupField(n, name); err != nil {
		return false, err
	}
	if s.indexed(s.m.UID) {
		switch {
		case n.fieldKnown && !n.unknown[s.m.UID]:
			return n.hits[s.m.UID], nil
		case !n.fieldKnown && !n.hits[s.m.UID]:
			return false, nil
		}
	}
	fields, err := s.headerFields()
	if err != nil {
		return false, err
	}
	for _, f := range fields {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		if n.needle == "" || strings.Contains(strings.ToLower(mime.FieldText(f)), n.needle) {
			return true, nil
		}
	}
	return false, nil
}

// lookupField asks the store once for the messages matching a header key.
// For a name that is not a field name the store takes, the index's header
// text only narrows the candidates (lookup), and every candidate is
// checked in its header.
func (s *searcher) lookupField(n *searchNode, name string) error {
	if !store.ValidFieldName(name) {
		probe := n.needle
		if probe == "" {
			probe = strings.ToLower(name) + ":"
		}
		return s.lookup(n, store.TextHeader, probe)
	}
	if n.looked {
		return nil
	}
	if err := s.probeIndex(); err != nil {
		return err
	}
	if s.anyIndexed {
		hits, unknown, err := s.ld.st.SearchHeaderField(s.ld.ctx, s.ld.mailboxID, name, n.key.Value)
		if err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		n.hits, n.unknown = uidSet(hits), uidSet(unknown)
		n.fieldKnown = true
	}
	n.looked = true
	return nil
}

func (s *searcher) headerFields() ([]mime.HeaderField, error) {
	if s.hdrRead {
		return s.fields, nil
	}
	hdr, err := s.ld.header(s.m)
	if err != nil {
		return nil, err
	}
	f, err := s.ld.open(s.m)
	if err != nil {
		return nil, fmt.Errorf("open message uid %d: %w", s.m.UID, err)
	}
	defer f.Close()
	raw, err := mime.ReadHeader(f, hdr)
	if err != nil {
		return nil, fmt.Errorf("read header of uid %d: %w", s.m.UID, err)
	}
	s.fields, s.hdrRead = mime.SplitHeader(raw), true
	return s.fields, nil
}

// text evaluates BODY (the decoded text parts) and TEXT (those and the
// header): RFC 9051 section 6.4.4, case-insensitive substrings. A message
// the index has text for is answered by the index alone.
func (s *searcher) text(n *searchNode) (bool, error) {
	if n.needle == "" {
		return true, nil
	}
	field := store.TextBody
	if n.key.Op == "TEXT" {
		field = store.TextAll
	}
	if err := s.lookup(n, field, n.key.Value); err != nil {
		return false, err
	}
	if s.indexed(s.m.UID) {
		return n.hits[s.m.UID], nil
	}
	if err := s.extract(); err != nil {
		return false, err
	}
	if strings.Contains(s.bodyTxt, n.needle) {
		return true, nil
	}
	return field == store.TextAll && strings.Contains(s.headTxt, n.needle), nil
}

// extract reads the message's text the way it would have been indexed.
func (s *searcher) extract() error {
	if s.txtRead {
		return nil
	}
	p, err := s.parsed()
	if err != nil {
		return err
	}
	f, err := s.ld.open(s.m)
	if err != nil {
		return fmt.Errorf("open message uid %d: %w", s.m.UID, err)
	}
	defer f.Close()
	head, body, err := mime.ExtractText(f, p)
	if err != nil {
		return fmt.Errorf("text of uid %d: %w", s.m.UID, err)
	}
	s.headTxt, s.bodyTxt, s.txtRead = strings.ToLower(head), strings.ToLower(body), true
	return nil
}
