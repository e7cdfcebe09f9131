package imapd

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// fetchBufferSize is the output buffer FETCH responses are collected in
// (wire.Writer.Redirect): a FETCH 1:* of headers, or one larger body, goes
// out in 64 KiB writes instead of the session's 4 KiB ones, and the
// buffer returns to fetchBuffers after the command, so idle connections
// do not hold it.
const fetchBufferSize = 64 << 10

var fetchBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, fetchBufferSize) }}

// cmdFetch: FETCH and UID FETCH (RFC 9051 section 6.4.5) with the
// CHANGEDSINCE and VANISHED modifiers (RFC 7162 sections 3.1.4, 3.2.6).
// The items themselves are written by writeFetch (fetch.go).
func (s *session) cmdFetch(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.FetchArgs)
	sel := s.sel
	if args.HasChangedSince || slices.ContainsFunc(args.Items, func(it wire.FetchItem) bool { return it.Name == "MODSEQ" }) {
		// RFC 7162 section 3.1: both are CONDSTORE enabling.
		s.enableCondStore()
	}
	if args.Vanished && !s.qresync {
		return "", bad("VANISHED requires ENABLE QRESYNC")
	}
	idx, err := s.resolveSet(args.Set, cmd.UID)
	if err != nil {
		return "", err
	}
	if args.HasChangedSince {
		idx = slices.DeleteFunc(idx, func(i int) bool { return sel.msgs[i].ModSeq <= args.ChangedSince })
		if args.Vanished {
			if err := s.writeVanishedEarlier(args.Set, args.ChangedSince); err != nil {
				return "", err
			}
		}
	}
	if len(idx) == 0 {
		return "", nil
	}

	// RFC 9051 section 6.4.5: fetching a body section without .PEEK sets
	// \Seen; the flag is stored before the responses so they show it.
	markSeen := map[uint32]bool{}
	if !sel.readOnly && fetchNeedsSeen(args.Items) {
		var uids []uint32
		for _, i := range idx {
			if !slices.Contains(sel.msgs[i].Flags, store.FlagSeen) {
				uids = append(uids, sel.msgs[i].UID)
			}
		}
		if err := s.setSeen(uids); err != nil {
			return "", err
		}
		for _, u := range uids {
			markSeen[u] = true
		}
	}

	hasFlags := slices.ContainsFunc(args.Items, func(it wire.FetchItem) bool { return it.Name == "FLAGS" })
	ld := newLoader(s.ctx, s.srv.cfg.Store, s.srv.cfg.Blobs, sel.mailbox.ID)
	if len(idx) > 1 {
		// Structures are loaded only for items that need them, but
		// then in batches over the set (loader.plan).
		uids := make([]uint32, len(idx))
		for k, i := range idx {
			uids[k] = sel.msgs[i].UID
		}
		ld.want(uids)
	}
	opt := fetchOptions{UID: cmd.UID, CondStore: s.condstore, Binary: true}
	big := fetchBuffers.Get().(*bufio.Writer)
	restore := s.w.Redirect(big)
	defer func() {
		restore() // an error stays in s.w: the session's flush reports it
		fetchBuffers.Put(big)
	}()
	expunged := false
	for _, i := range idx {
		m := sel.message(i)
		needSeen, err := writeFetch(s.w, ld, m, args.Items, opt)
		if err != nil {
			var cte *unknownCTEError
			if errors.As(err, &cte) {
				// RFC 3516 section 4.3.
				return "", no("UNKNOWN-CTE", "%s", cte.Error())
			}
			if s.w.Err() != nil || errors.Is(err, errFetchBroken) {
				// Part of a response line is out: the stream is broken.
				s.log.Warn("imap: fetch response broken", "uid", m.UID, "err", err)
				return "", errCloseConn
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
				// Expunged by another session after this one's view was
				// made; the expunge itself may not be reported during
				// FETCH (RFC 9051 section 7.5.1). Send what exists and
				// say so (RFC 5530 EXPUNGEISSUED).
				expunged = true
				continue
			}
			s.log.Warn("imap: fetch", "uid", m.UID, "err", err)
			return "", no("SERVERBUG", "fetching message %d failed", m.Seq)
		}
		if needSeen && !markSeen[m.UID] && !sel.readOnly {
			// writeFetch found a \Seen-setting item fetchNeedsSeen did
			// not announce: store it now and report the flags after.
			if err := s.setSeen([]uint32{m.UID}); err != nil {
				return "", err
			}
			markSeen[m.UID] = true
			hasFlags = false
		}
		if markSeen[m.UID] && !hasFlags {
			s.writeFlagsFetch(m.Seq, &sel.msgs[i], true, cmd.UID)
		}
	}
	if err := s.w.Err(); err != nil {
		return "", errCloseConn
	}
	if expunged {
		return "", no("EXPUNGEISSUED", "some of the requested messages no longer exist")
	}
	return "", nil
}

// setSeen adds \Seen to messages and puts the result into the view.
func (s *session) setSeen(uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	changed, _, err := s.srv.cfg.Store.UpdateFlags(s.ctx, s.sel.mailbox.ID, uids, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil {
		return fmt.Errorf("set \\Seen: %w", err)
	}
	s.sel.applyOwnChanges(changed)
	if len(changed) > 0 {
		s.publish(s.sel.mailbox.ID, notify.FlagsChanged)
	}
	return nil
}

// writeVanishedEarlier answers the VANISHED modifier of UID FETCH (RFC
// 7162 section 3.2.6): "* VANISHED (EARLIER) uids" for the UIDs of the
// set expunged since modseq. UIDs still in the view (expunges not yet
// reported) are left to the normal report.
func (s *session) writeVanishedEarlier(set wire.SeqSet, modseq uint64) error {
	sel := s.sel
	c, err := s.srv.cfg.Store.ChangesSince(s.ctx, sel.mailbox.ID, modseq)
	if err != nil {
		return fmt.Errorf("vanished since %d: %w", modseq, err)
	}
	var uids []uint32
	for _, u := range c.Expunged {
		if _, inView := sel.index(u); inView {
			continue
		}
		if set.Contains(u, sel.maxUID()) {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	s.w.StartUntagged()
	s.w.Atom("VANISHED")
	s.w.Raw("(EARLIER)")
	s.w.SeqSet(wire.SeqSetFromNumbers(uids))
	s.w.EndLine()
	return nil
}
