package imapd

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"mailport/internal/imapd/wire"
)

// viewMessages returns every message of the selected mailbox with its
// sequence number, the input of SEARCH, SORT and THREAD.
func (s *session) viewMessages() []message {
	msgs := make([]message, len(s.sel.msgs))
	for i := range s.sel.msgs {
		msgs[i] = message{Seq: uint32(i + 1), Message: s.sel.msgs[i]}
	}
	return msgs
}

// searchSelected runs criteria over the selected mailbox (searchMessages
// in search.go does the matching).
func (s *session) searchSelected(key *wire.SearchKey, charset string) ([]message, *loader, error) {
	switch charset {
	case "", "UTF-8", "US-ASCII":
	default:
		// RFC 9051 section 6.4.4: BADCHARSET lists what is supported.
		return nil, nil, no("BADCHARSET (UTF-8 US-ASCII)", "unsupported charset %s", charset)
	}
	if usesModSeq(key) {
		s.enableCondStore()
	}
	sel := s.sel
	ld := newLoader(s.ctx, s.srv.cfg.Store, s.srv.cfg.Blobs, sel.mailbox.ID)
	env := searchEnv{MaxSeq: uint32(len(sel.msgs)), MaxUID: sel.maxUID(), Saved: sel.saved, Now: time.Now()}
	found, err := searchMessages(ld, s.viewMessages(), key, env)
	if err != nil {
		if _, ok := err.(*statusError); ok {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	return found, ld, nil
}

// usesModSeq reports whether a MODSEQ criterion occurs (RFC 7162 section
// 3.1.5: the response then carries the highest MODSEQ found).
func usesModSeq(k *wire.SearchKey) bool {
	if k == nil {
		return false
	}
	if k.Op == "MODSEQ" {
		return true
	}
	return slices.ContainsFunc(k.Children, usesModSeq)
}

// cmdSearch: SEARCH and UID SEARCH (RFC 9051 section 6.4.4), answered
// with "* SEARCH" for IMAP4rev1 clients that did not ask for RETURN, and
// with ESEARCH (RFC 4731) otherwise, which IMAP4rev2 requires. SAVE keeps
// the result as "$" (RFC 5182).
func (s *session) cmdSearch(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.SearchArgs)
	found, _, err := s.searchSelected(args.Criteria, args.Charset)
	if err != nil {
		return "", err
	}
	var modseq uint64
	if usesModSeq(args.Criteria) {
		for _, m := range found {
			modseq = max(modseq, m.ModSeq)
		}
	}
	num := func(m message) uint32 {
		if cmd.UID {
			return m.UID
		}
		return m.Seq
	}
	ret := args.Return
	if ret == nil && !s.rev2 {
		s.w.StartUntagged()
		s.w.Atom("SEARCH")
		for _, m := range found {
			s.w.Number(num(m))
		}
		if modseq > 0 {
			s.w.Raw("(MODSEQ " + strconv.FormatUint(modseq, 10) + ")")
		}
		s.w.EndLine()
		return "", nil
	}
	if ret == nil {
		ret = &wire.SearchReturn{All: true}
	}
	if ret.Save {
		// RFC 5182 section 2.4: with MIN or MAX only, those are saved.
		var saved []uint32
		if (ret.Min || ret.Max) && !ret.All && !ret.Count {
			if len(found) > 0 {
				if ret.Min {
					saved = append(saved, found[0].UID)
				}
				if ret.Max {
					saved = append(saved, found[len(found)-1].UID)
				}
			}
		} else {
			for _, m := range found {
				saved = append(saved, m.UID)
			}
		}
		s.sel.saved = saved
		if !ret.Min && !ret.Max && !ret.All && !ret.Count {
			// RFC 5182 section 2.4: SAVE alone gives no ESEARCH.
			return "", nil
		}
	}
	w := s.w
	w.StartUntagged()
	w.Atom("ESEARCH")
	w.Open()
	w.Atom("TAG")
	w.String(cmd.Tag)
	w.Close()
	if cmd.UID {
		w.Atom("UID")
	}
	if len(found) > 0 {
		if ret.Min {
			w.Atom("MIN")
			w.Number(num(found[0]))
		}
		if ret.Max {
			w.Atom("MAX")
			w.Number(num(found[len(found)-1]))
		}
		if ret.All {
			nums := make([]uint32, len(found))
			for i, m := range found {
				nums[i] = num(m)
			}
			w.Atom("ALL")
			w.SeqSet(wire.SeqSetFromNumbers(nums))
		}
	}
	if ret.Count {
		w.Atom("COUNT")
		w.Number(uint32(len(found)))
	}
	if modseq > 0 {
		w.Atom("MODSEQ")
		w.Number64(modseq)
	}
	w.EndLine()
	return "", nil
}
