package imapd

import (
	"errors"
	"fmt"
	"slices"

	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// selected is the session's view of its selected mailbox (DESIGN.md
// section 3, "IMAP session model"): the messages in sequence order as this
// client knows them, with flags and MODSEQ as last reported, and the
// HIGHESTMODSEQ the view is synced to. Sequence numbers exist only here,
// never in SQL: sequence number n is msgs[n-1].
//
// After each command (and while IDLE, woken by the change bus) the session
// asks the store for the changes since modseq and reports them; expunges
// that may not be reported yet (RFC 9051 section 7.5.1) stay in msgs and in
// pending until a command allows them.
type selected struct {
	mailbox  store.Mailbox
	readOnly bool
	msgs     []store.Message // UID order = sequence order
	// shared says msgs is the listing cache's slice, which other
	// sessions read too: own copies it before the view first changes,
	// so a SELECT costs no copy of the mailbox's listing.
	shared bool
	modseq uint64 // the store's HIGHESTMODSEQ the view reflects
	// pending holds UIDs expunged in the store but still numbered here.
	pending map[uint32]struct{}
	// saved is the SEARCHRES "$" (RFC 5182), as UIDs.
	saved []uint32
}

// own makes msgs the session's own copy before it is changed.
func (sel *selected) own() {
	if sel.shared {
		sel.msgs = slices.Clone(sel.msgs)
		sel.shared = false
	}
}

// index returns the position of uid in msgs.
func (sel *selected) index(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(sel.msgs, uid, func(m store.Message, uid uint32) int {
		switch {
		case m.UID < uid:
			return -1
		case m.UID > uid:
			return 1
		}
		return 0
	})
}

func (sel *selected) maxUID() uint32 {
	if len(sel.msgs) == 0 {
		return 0
	}
	return sel.msgs[len(sel.msgs)-1].UID
}

// message returns the message at index i with its sequence number.
func (sel *selected) message(i int) *message {
	return &message{Seq: uint32(i + 1), Message: sel.msgs[i]}
}

// resolve turns a sequence set (sequence numbers, or UIDs when uid) into
// indexes of msgs in ascending order. RFC 9051 section 9: "*" is the last
// message; a sequence number beyond the last message is an error, UIDs
// that do not exist are simply left out. A "$" set must already have been
// replaced by the session (resolveSaved).
func (sel *selected) resolve(set wire.SeqSet, uid bool) ([]int, error) {
	if uid {
		maxUID := sel.maxUID()
		var out []int
		ranges := set.Normalize(maxUID)
		for _, r := range ranges {
			lo, _ := sel.index(r.Start)
			for i := lo; i < len(sel.msgs) && sel.msgs[i].UID <= r.Stop; i++ {
				out = append(out, i)
			}
		}
		return out, nil
	}
	n := uint32(len(sel.msgs))
	if n == 0 {
		// Nothing to address; answered with an empty result rather
		// than an error so "1:*" on an empty mailbox is harmless.
		return nil, nil
	}
	for _, r := range set.Ranges {
		if (r.Start != wire.Star && r.Start > n) || (r.Stop != wire.Star && r.Stop > n) {
			return nil, bad("message sequence number out of range (mailbox has %d messages)", n)
		}
	}
	var out []int
	for seq := range set.All(n) {
		out = append(out, int(seq-1))
	}
	return out, nil
}

// resolveSet resolves a set of a command, substituting the saved search
// result for "$" (RFC 5182 section 2.1).
func (s *session) resolveSet(set wire.SeqSet, uid bool) ([]int, error) {
	sel := s.sel
	if set.Saved {
		var out []int
		for _, u := range sel.saved {
			if i, ok := sel.index(u); ok {
				out = append(out, i)
			}
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	return sel.resolve(set, uid)
}

// syncSelected reports what changed in the selected mailbox since the
// view's MODSEQ: flag changes as unsolicited FETCH, expunges as EXPUNGE
// (or VANISHED after ENABLE QRESYNC, RFC 7162 section 3.2.10) when
// allowExpunge, and new messages as EXISTS. RFC 9051 section 7.4.1: EXPUNGE
// renumbers, so expunges are reported first (highest sequence number
// first, so each number is valid when sent), then FETCH with the new
// numbers, then EXISTS.
func (s *session) syncSelected(allowExpunge bool) error {
	sel := s.sel
	c, err := s.srv.cfg.Store.ChangesSince(s.ctx, sel.mailbox.ID, sel.modseq)
	if errors.Is(err, store.ErrNotFound) {
		// The mailbox was deleted under us; RFC 9051 section 7.1.5 lets
		// the server end the connection.
		s.bye("selected mailbox was deleted")
		return errCloseConn
	}
	if err != nil {
		return fmt.Errorf("changes of mailbox %d: %w", sel.mailbox.ID, err)
	}
	for _, uid := range c.Expunged {
		if _, ok := sel.index(uid); ok {
			if sel.pending == nil {
				sel.pending = make(map[uint32]struct{})
			}
			sel.pending[uid] = struct{}{}
		}
	}
	if allowExpunge {
		s.reportExpunges()
	}

	maxUID := sel.maxUID()
	oldCount := len(sel.msgs)
	for _, m := range c.Changed {
		if m.UID > maxUID {
			sel.own()
			sel.msgs = append(sel.msgs, m)
			maxUID = m.UID
			continue
		}
		i, ok := sel.index(m.UID)
		if !ok || i >= oldCount {
			continue
		}
		if _, gone := sel.pending[m.UID]; gone {
			continue
		}
		if sel.msgs[i].ModSeq == m.ModSeq {
			continue // reported already (this session's own STORE)
		}
		sel.own()
		cur := &sel.msgs[i]
		same := slices.Equal(cur.Flags, m.Flags)
		cur.Flags, cur.ModSeq = m.Flags, m.ModSeq
		if same && !s.condstore {
			continue
		}
		s.writeFlagsFetch(uint32(i+1), cur, true, true)
	}
	if len(sel.msgs) != oldCount {
		s.w.StartUntagged()
		s.w.Number(uint32(len(sel.msgs)))
		s.w.Atom("EXISTS")
		s.w.EndLine()
	}
	if c.HighestModSeq > sel.modseq {
		sel.modseq = c.HighestModSeq
	}
	return nil
}

// reportExpunges removes the pending expunged messages from the view and
// tells the client: "* n EXPUNGE" per message from the highest sequence
// number down, or one "* VANISHED uids" with QRESYNC (RFC 7162 section
// 3.2.10).
func (s *session) reportExpunges() {
	sel := s.sel
	if len(sel.pending) == 0 {
		return
	}
	if s.qresync {
		uids := make([]uint32, 0, len(sel.pending))
		for uid := range sel.pending {
			uids = append(uids, uid)
		}
		s.w.StartUntagged()
		s.w.Atom("VANISHED")
		s.w.SeqSet(wire.SeqSetFromNumbers(uids))
		s.w.EndLine()
	} else {
		for i := len(sel.msgs) - 1; i >= 0; i-- {
			if _, ok := sel.pending[sel.msgs[i].UID]; ok {
				s.w.StartUntagged()
				s.w.Number(uint32(i + 1))
				s.w.Atom("EXPUNGE")
				s.w.EndLine()
			}
		}
	}
	sel.own()
	sel.msgs = slices.DeleteFunc(sel.msgs, func(m store.Message) bool {
		_, ok := sel.pending[m.UID]
		return ok
	})
	sel.pending = nil
}

// writeFlagsFetch writes "* seq FETCH (FLAGS (...) UID n MODSEQ (m))":
// the answer to STORE and the unsolicited report of a flag change. RFC
// 7162 section 3.1.4.1 / 3.2.10: with CONDSTORE enabled every FETCH
// carries MODSEQ, and after QRESYNC unsolicited FETCH carry the UID.
func (s *session) writeFlagsFetch(seq uint32, m *store.Message, flags, withUID bool) {
	s.w.StartUntagged()
	s.w.Number(seq)
	s.w.Atom("FETCH")
	s.w.Open()
	if flags {
		s.w.Atom("FLAGS")
		s.w.Flags(m.Flags)
	}
	if withUID || s.qresync {
		s.w.Atom("UID")
		s.w.Number(m.UID)
	}
	if s.condstore {
		s.w.Atom("MODSEQ")
		s.w.Open()
		s.w.Number64(m.ModSeq)
		s.w.Close()
	}
	s.w.Close()
	s.w.EndLine()
}

// applyOwnChanges puts the messages changed by this session's own STORE
// into the view, so the next sync does not report them a second time.
func (sel *selected) applyOwnChanges(changed []store.Message) {
	for _, m := range changed {
		if i, ok := sel.index(m.UID); ok {
			sel.own()
			sel.msgs[i].Flags = m.Flags
			sel.msgs[i].ModSeq = m.ModSeq
		}
	}
}

// enableCondStore turns CONDSTORE on for the session, as any "CONDSTORE
// enabling command" does (RFC 7162 section 3.1).
func (s *session) enableCondStore() {
	s.condstore = true
}
