package imapd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
)

// maxReferences bounds the message ids taken from one References field,
// so a hostile header cannot make linking quadratic in its length.
const maxReferences = 256

// threadMsg is what threading needs of one message.
type threadMsg struct {
	num     uint32 // sequence number or UID, as the client asked
	seq     uint32
	sent    time.Time
	subject string // base subject (RFC 5256 section 2.1)
	refwd   bool   // the subject was a reply or forward
}

// threadNode is a container of RFC 5256 section 3 (REFERENCES): a
// message, or a dummy (msg nil) standing for a message referred to but
// not present.
type threadNode struct {
	msg      *threadMsg
	parent   *threadNode
	children []*threadNode
}

// writeThread answers THREAD (RFC 5256 section 3) for msgs, the messages
// that matched the search criteria in sequence order: it writes the whole
// "* THREAD ..." line, numbering messages by UID when useUID (UID THREAD)
// and by sequence number otherwise. algorithm is ORDEREDSUBJECT or
// REFERENCES.
func writeThread(w *wire.Writer, ld *loader, msgs []message, algorithm string, useUID bool) error {
	var roots []*threadNode
	var err error
	switch strings.ToUpper(algorithm) {
	case "ORDEREDSUBJECT":
		roots, err = threadOrderedSubject(ld, msgs, useUID)
	case "REFERENCES":
		roots, err = threadReferences(ld, msgs, useUID)
	default:
		return fmt.Errorf("thread: unsupported algorithm %s", algorithm)
	}
	if err != nil {
		return err
	}
	w.StartUntagged()
	w.Atom("THREAD")
	if s := formatThreads(roots); s != "" {
		// The lists are written as one token: thread-list puts no space
		// between adjacent lists (RFC 5256 section 4, thread-nested).
		w.Raw(s)
	}
	w.EndLine()
	return w.Err()
}

// loadThreadMsg gathers a message's sent date and base subject from the
// cached parse.
func loadThreadMsg(ld *loader, m *message, useUID bool) (*threadMsg, *mime.Message, error) {
	p, err := ld.parsed(m)
	if err != nil {
		return nil, nil, err
	}
	tm := &threadMsg{num: m.Seq, seq: m.Seq, sent: sentDate(&p.Envelope, m)}
	if useUID {
		tm.num = m.UID
	}
	tm.subject, tm.refwd = baseSubject(p.Envelope.Subject)
	return tm, p, nil
}

// compareSent orders by sent date, then sequence number (RFC 5256
// section 2.2 and section 3).
func compareSent(a, b *threadMsg) int {
	if c := a.sent.Compare(b.sent); c != 0 {
		return c
	}
	return int(a.seq) - int(b.seq)
}

// threadOrderedSubject is ORDEREDSUBJECT (RFC 5256 section 3): messages
// sorted by base subject and sent date; each run of one subject is a
// thread whose first message is the parent of all the others; threads are
// ordered by the sent date of their first message.
func threadOrderedSubject(ld *loader, msgs []message, useUID bool) ([]*threadNode, error) {
	tms := make([]*threadMsg, 0, len(msgs))
	for i := range msgs {
		tm, _, err := loadThreadMsg(ld, &msgs[i], useUID)
		if err != nil {
			return nil, err
		}
		tms = append(tms, tm)
	}
	slices.SortStableFunc(tms, func(a, b *threadMsg) int {
		if c := strings.Compare(a.subject, b.subject); c != 0 {
			return c
		}
		return compareSent(a, b)
	})
	var roots []*threadNode
	for i := 0; i < len(tms); {
		root := &threadNode{msg: tms[i]}
		j := i + 1
		for ; j < len(tms) && tms[j].subject == tms[i].subject; j++ {
			root.children = append(root.children, &threadNode{msg: tms[j], parent: root})
		}
		roots = append(roots, root)
		i = j
	}
	slices.SortStableFunc(roots, func(a, b *threadNode) int { return compareSent(a.msg, b.msg) })
	return roots, nil
}

// threadReferences is the REFERENCES algorithm of RFC 5256 section 3.
func threadReferences(ld *loader, msgs []message, useUID bool) ([]*threadNode, error) {
	// (1) Link messages by Message-ID, References and In-Reply-To.
	byID := make(map[string]*threadNode)
	var order []*threadNode // containers in creation order, for step (2)
	get := func(id string) *threadNode {
		c := byID[id]
		if c == nil {
			c = &threadNode{}
			byID[id] = c
			order = append(order, c)
		}
		return c
	}
	for i := range msgs {
		if err := ld.ctx.Err(); err != nil {
			return nil, fmt.Errorf("thread: %w", err)
		}
		m := &msgs[i]
		tm, p, err := loadThreadMsg(ld, m, useUID)
		if err != nil {
			return nil, err
		}
		refs, err := threadRefs(ld, m, p)
		if err != nil {
			return nil, err
		}
		id := firstMsgID(p.Envelope.MessageID)
		if id == "" || byID[id] != nil && byID[id].msg != nil {
			// RFC 5256 section 3 (1): a message without a Message-ID, or
			// with one already seen, gets a unique id of its own.
			id = "\x00" + strconv.FormatUint(uint64(m.Seq), 10)
		}
		c := get(id)
		c.msg = tm

		// (1)(A) Link the references to each other, in order, without
		// changing existing links or creating loops.
		var prev *threadNode
		for _, ref := range refs {
			rc := get(ref)
			if prev != nil && rc.parent == nil && !wouldLoop(prev, rc) {
				link(prev, rc)
			}
			prev = rc
		}
		// (1)(B) The last reference is the message's parent; an existing
		// parent (from a truncated References elsewhere) is replaced.
		if c.parent != nil {
			unlink(c)
		}
		if prev != nil && !wouldLoop(prev, c) {
			link(prev, c)
		}
	}

	// (2) The root set: containers without a parent. (3) The id table is
	// no longer needed.
	root := &threadNode{}
	for _, c := range order {
		if c.parent == nil {
			root.children = append(root.children, c)
			c.parent = root
		}
	}

	// (4) Prune dummies.
	prune(root, true)

	// (5) Sort the root set by sent date; a dummy sorts by its first
	// child once its children are sorted.
	for _, c := range root.children {
		if c.msg == nil {
			slices.SortStableFunc(c.children, compareNodes)
		}
	}
	slices.SortStableFunc(root.children, compareNodes)

	// (6) Gather threads whose base subjects are the same.
	gatherSubjects(root)

	// (7) Sort every set of siblings by sent date, the deepest first.
	sortTree(root)
	return root.children, nil
}

// threadRefs returns the references of RFC 5256 section 3 (1)(A): the
// message ids of References, or when there are none the first of
// In-Reply-To.
func threadRefs(ld *loader, m *message, p *mime.Message) ([]string, error) {
	f, err := ld.open(m)
	if err != nil {
		return nil, fmt.Errorf("open message uid %d: %w", m.UID, err)
	}
	defer f.Close()
	raw, err := mime.ReadHeader(f, &p.Root)
	if err != nil {
		return nil, fmt.Errorf("read header of uid %d: %w", m.UID, err)
	}
	var refs []string
	for _, fld := range mime.SplitHeader(raw) {
		if strings.EqualFold(fld.Name, "References") {
			refs = msgIDs(fld.Value(), maxReferences)
			break
		}
	}
	if len(refs) == 0 {
		if id := firstMsgID(p.Envelope.InReplyTo); id != "" {
			refs = []string{id}
		}
	}
	return refs, nil
}

// msgIDs returns the "<...>" message ids of s (RFC 5322 section 3.6.4),
// at most limit of them; what lies between them (comments, junk) is
// skipped.
func msgIDs(s string, limit int) []string {
	var ids []string
	for len(ids) < limit {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		id := s[i : i+j+1]
		s = s[i+j+1:]
		if len(id) > 2 && !strings.ContainsAny(id, " \t") {
			ids = append(ids, id)
		}
	}
	return ids
}

func firstMsgID(s string) string {
	if ids := msgIDs(s, 1); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// wouldLoop reports whether making c a child of p would create a loop:
// p is c or a descendant of c.
func wouldLoop(p, c *threadNode) bool {
	for n := p; n != nil; n = n.parent {
		if n == c {
			return true
		}
	}
	return false
}

func link(p, c *threadNode) {
	c.parent = p
	p.children = append(p.children, c)
}

func unlink(c *threadNode) {
	p := c.parent
	if i := slices.Index(p.children, c); i >= 0 {
		p.children = slices.Delete(p.children, i, i+1)
	}
	c.parent = nil
}

// prune removes dummies (RFC 5256 section 3 (4)): a dummy without
// children goes; a dummy with children is replaced by them, except at the
// root level when it has more than one.
func prune(n *threadNode, isRoot bool) {
	var kept []*threadNode
	for _, c := range n.children {
		prune(c, false)
		switch {
		case c.msg != nil:
			kept = append(kept, c)
		case len(c.children) == 0:
		case isRoot && len(c.children) > 1:
			kept = append(kept, c)
		default:
			for _, gc := range c.children {
				gc.parent = n
				kept = append(kept, gc)
			}
		}
	}
	n.children = kept
}

// nodeMsg is the message a node sorts and is named by: its own, or for a
// dummy that of its first child.
func nodeMsg(n *threadNode) *threadMsg {
	for n.msg == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	return n.msg
}

func compareNodes(a, b *threadNode) int {
	am, bm := nodeMsg(a), nodeMsg(b)
	switch {
	case am == nil && bm == nil:
		return 0
	case am == nil:
		return 1
	case bm == nil:
		return -1
	}
	return compareSent(am, bm)
}

// gatherSubjects merges the threads of the root set that share a base
// subject (RFC 5256 section 3 (5)).
func gatherSubjects(root *threadNode) {
	// (A), (B) One container per base subject: a dummy is preferred,
	// then a message whose subject is not a reply or forward.
	table := make(map[string]*threadNode)
	for _, c := range root.children {
		m := nodeMsg(c)
		if m == nil || m.subject == "" {
			continue
		}
		old := table[m.subject]
		switch {
		case old == nil:
			table[m.subject] = c
		case old.msg != nil && (c.msg == nil || nodeMsg(old).refwd && !m.refwd):
			table[m.subject] = c
		}
	}
	// (C) Merge each thread into the one in the table.
	var kept []*threadNode
	for _, c := range root.children {
		m := nodeMsg(c)
		if m == nil || m.subject == "" {
			kept = append(kept, c)
			continue
		}
		t := table[m.subject]
		if t == c {
			kept = append(kept, c)
			continue
		}
		switch {
		case t.msg == nil && c.msg == nil:
			// Both dummies: their children become siblings.
			for _, gc := range c.children {
				gc.parent = t
				t.children = append(t.children, gc)
			}
		case t.msg == nil:
			link(t, c)
		case m.refwd && !t.msg.refwd:
			link(t, c)
		default:
			// A new dummy holds both; it takes the table message's place
			// in the root set, so the table message's container becomes
			// the dummy and its content moves into a new child.
			moved := &threadNode{msg: t.msg, children: t.children}
			for _, gc := range moved.children {
				gc.parent = moved
			}
			t.msg, t.children = nil, nil
			link(t, moved)
			link(t, c)
		}
	}
	root.children = kept
}

// sortTree sorts every set of siblings by sent date, children before
// their parents (RFC 5256 section 3 (6)).
func sortTree(n *threadNode) {
	for _, c := range n.children {
		sortTree(c)
	}
	slices.SortStableFunc(n.children, compareNodes)
}

// formatThreads formats the root set as RFC 5256 section 4 thread-lists:
// "(" members ")" per thread, a chain of only children written inline
// ("3 6 4"), two or more children as nested lists ("(4 23)(44 7 96)").
func formatThreads(roots []*threadNode) string {
	var b strings.Builder
	for _, r := range roots {
		b.WriteByte('(')
		formatNode(&b, r)
		b.WriteByte(')')
	}
	return b.String()
}

func formatNode(b *strings.Builder, n *threadNode) {
	wrote := false
	// Follow single-child chains iteratively: a long reply chain is
	// written inline without growing the stack.
	for {
		if n.msg != nil {
			if wrote {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(n.msg.num), 10))
			wrote = true
		}
		if len(n.children) != 1 {
			break
		}
		n = n.children[0]
	}
	if len(n.children) == 0 {
		return
	}
	if wrote {
		b.WriteByte(' ')
	}
	for _, c := range n.children {
		b.WriteByte('(')
		formatNode(b, c)
		b.WriteByte(')')
	}
}
