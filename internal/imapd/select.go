package imapd

import (
	"fmt"
	"slices"
	"strings"

	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// systemFlags are the flags of RFC 9051 section 2.3.2 every mailbox
// supports.
var systemFlags = []string{store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagSeen, store.FlagDraft}

// cmdSelect: SELECT and EXAMINE (RFC 9051 sections 6.3.2 and 6.3.3) with
// the CONDSTORE and QRESYNC parameters (RFC 7162 sections 3.1.8, 3.2.5).
func (s *session) cmdSelect(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.SelectArgs)
	if args.QResync != nil && !s.qresync {
		// RFC 7162 section 3.2.5: QRESYNC only after ENABLE QRESYNC.
		return "", bad("QRESYNC parameter without ENABLE QRESYNC")
	}
	if s.sel != nil {
		// RFC 9051 section 6.3.2 / RFC 7162 section 3.2.11: the old
		// mailbox is closed (without expunge) and CLOSED says where
		// its responses end.
		s.sel = nil
		s.state = stateAuthenticated
		s.w.Status("", "OK", "CLOSED", "previous mailbox closed")
	}
	if args.CondStore {
		s.enableCondStore()
	}
	st := s.srv.cfg.Store
	// The mailbox row is read before the messages: its MODSEQ is then at
	// most the listing's, so the first sync may see changes the listing
	// already has (skipped by MODSEQ) but can miss none. The listing
	// comes from the server's cache, brought up to date by the changes
	// since its last use (listing.go).
	mb, err := s.getMailbox(args.Mailbox)
	if err != nil {
		return "", err
	}
	msgs, err := s.srv.listings.messages(s.ctx, st, mb)
	if err != nil {
		return "", fmt.Errorf("select %q: %w", mb.Name, err)
	}
	sel := &selected{mailbox: mb, readOnly: cmd.Name == "EXAMINE", msgs: msgs, shared: true, modseq: mb.HighestModSeq}
	uidNext := mb.UIDNext
	if n := sel.maxUID(); n >= uidNext {
		uidNext = n + 1
	}

	w := s.w
	w.StartUntagged()
	w.Atom("FLAGS")
	w.Flags(mailboxFlags(msgs))
	w.EndLine()
	w.StartUntagged()
	w.Number(uint32(len(msgs)))
	w.Atom("EXISTS")
	w.EndLine()
	if !s.rev2 {
		// RFC 3501 section 6.3.1: RECENT is required for IMAP4rev1;
		// mailport keeps no \Recent state, so none is recent.
		w.Raw("* 0 RECENT")
		w.EndLine()
		for i, m := range msgs {
			if !slices.Contains(m.Flags, store.FlagSeen) {
				w.Status("", "OK", fmt.Sprintf("UNSEEN %d", i+1), "first unseen")
				break
			}
		}
	}
	w.Status("", "OK", fmt.Sprintf("UIDVALIDITY %d", mb.UIDValidity), "UIDs valid")
	w.Status("", "OK", fmt.Sprintf("UIDNEXT %d", uidNext), "predicted next UID")
	if sel.readOnly {
		w.Status("", "OK", "PERMANENTFLAGS ()", "read-only mailbox")
	} else {
		w.Status("", "OK", `PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)`, "flags permitted")
	}
	// RFC 7162 section 3.1.2.1: HIGHESTMODSEQ on every successful SELECT.
	w.Status("", "OK", fmt.Sprintf("HIGHESTMODSEQ %d", mb.HighestModSeq), "highest modseq")
	if s.rev2 {
		// RFC 9051 section 6.3.2: a LIST response with the mailbox name.
		w.StartUntagged()
		w.Atom("LIST")
		w.Open()
		if mb.SpecialUse != "" {
			w.Atom(mb.SpecialUse)
		}
		w.Close()
		w.Quoted("/")
		w.Mailbox(mb.Name)
		w.EndLine()
	}
	s.sel = sel
	s.state = stateSelected
	if q := args.QResync; q != nil && q.UIDValidity == mb.UIDValidity {
		if err := s.qresyncSelect(q); err != nil {
			return "", err
		}
	}
	if sel.readOnly {
		return "READ-ONLY", nil
	}
	return "READ-WRITE", nil
}

// qresyncSelect reports what changed since the client's MODSEQ (RFC 7162
// section 3.2.5): VANISHED (EARLIER) for UIDs expunged since then (of
// those the client says it knows), then FETCH (UID FLAGS MODSEQ) for
// messages changed since then. UIDs expunged after the listing was taken
// are still in the view and are reported by the next sync instead.
func (s *session) qresyncSelect(q *wire.QResyncArgs) error {
	sel := s.sel
	c, err := s.srv.cfg.Store.ChangesSince(s.ctx, sel.mailbox.ID, q.ModSeq)
	if err != nil {
		return fmt.Errorf("qresync changes: %w", err)
	}
	var vanished []uint32
	for _, uid := range c.Expunged {
		if _, inView := sel.index(uid); inView {
			continue
		}
		if q.KnownUIDs != nil && !q.KnownUIDs.Contains(uid, sel.maxUID()) {
			continue
		}
		vanished = append(vanished, uid)
	}
	if len(vanished) > 0 {
		s.w.StartUntagged()
		s.w.Atom("VANISHED")
		s.w.Raw("(EARLIER)")
		s.w.SeqSet(wire.SeqSetFromNumbers(vanished))
		s.w.EndLine()
	}
	for i := range sel.msgs {
		m := &sel.msgs[i]
		if m.ModSeq > q.ModSeq {
			s.writeFlagsFetch(uint32(i+1), m, true, true)
		}
	}
	return nil
}

// mailboxFlags lists the flags defined in a mailbox for the FLAGS
// response: the system flags and the keywords in use.
func mailboxFlags(msgs []store.Message) []string {
	flags := slices.Clone(systemFlags)
	seen := make(map[string]bool)
	for _, m := range msgs {
		for _, f := range m.Flags {
			if strings.HasPrefix(f, `\`) || seen[f] {
				continue
			}
			if len(seen) >= 100 {
				break // a FLAGS line is not the place for thousands of keywords
			}
			seen[f] = true
			flags = append(flags, f)
		}
	}
	slices.Sort(flags[len(systemFlags):])
	return flags
}

// cmdCheck: RFC 3501 section 6.4.1; the store is always durable, and the
// sync after the command reports changes.
func (s *session) cmdCheck(cmd *wire.Command) (string, error) {
	return "", nil
}

// cmdClose: RFC 9051 section 6.4.1: silently expunge \Deleted messages
// of a read-write mailbox, then leave the selected state.
func (s *session) cmdClose(cmd *wire.Command) (string, error) {
	sel := s.sel
	s.sel = nil
	s.state = stateAuthenticated
	if sel.readOnly {
		return "", nil
	}
	uids, err := s.deletedUIDs(sel.mailbox.ID, nil)
	if err != nil || len(uids) == 0 {
		return "", err
	}
	return "", s.expungeUIDs(sel.mailbox.ID, uids)
}

// cmdUnselect: RFC 3691 (and RFC 9051 section 6.4.2): leave the selected
// state without expunging.
func (s *session) cmdUnselect(cmd *wire.Command) (string, error) {
	s.sel = nil
	s.state = stateAuthenticated
	return "", nil
}
