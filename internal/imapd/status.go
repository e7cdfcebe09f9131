package imapd

import (
	"fmt"
	"slices"

	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// cmdStatus: RFC 9051 section 6.3.11, with STATUS=SIZE (RFC 8438),
// HIGHESTMODSEQ (RFC 7162 section 3.1.6) and APPENDLIMIT (RFC 7889).
func (s *session) cmdStatus(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.StatusArgs)
	mb, err := s.getMailbox(args.Mailbox)
	if err != nil {
		return "", err
	}
	if slices.Contains(args.Items, "HIGHESTMODSEQ") {
		s.enableCondStore()
	}
	return "", s.writeStatus(mb, args.Items)
}

// writeStatus writes "* STATUS name (item value ...)" from the store's
// counters; DELETED alone needs the message list.
func (s *session) writeStatus(mb store.Mailbox, items []string) error {
	var deleted uint32
	if slices.Contains(items, "DELETED") {
		msgs, err := s.srv.cfg.Store.ListMessages(s.ctx, mb.ID)
		if err != nil {
			return fmt.Errorf("status of %q: %w", mb.Name, err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Flags, store.FlagDeleted) {
				deleted++
			}
		}
	}
	s.w.StartUntagged()
	s.w.Atom("STATUS")
	s.w.Mailbox(mb.Name)
	s.w.Open()
	for _, it := range items {
		s.w.Atom(it)
		switch it {
		case "MESSAGES":
			s.w.Number(mb.Messages)
		case "UIDNEXT":
			s.w.Number(mb.UIDNext)
		case "UIDVALIDITY":
			s.w.Number(mb.UIDValidity)
		case "UNSEEN":
			s.w.Number(mb.Unseen)
		case "DELETED":
			s.w.Number(deleted)
		case "SIZE":
			s.w.Number64(uint64(max(mb.Size, 0)))
		case "RECENT":
			// IMAP4rev2 has no \Recent (RFC 9051 appendix E); rev1
			// clients are told none are recent.
			s.w.Number(0)
		case "HIGHESTMODSEQ":
			s.w.Number64(mb.HighestModSeq)
		case "APPENDLIMIT":
			s.w.Number64(uint64(s.maxLiteral))
		default:
			s.w.Nil()
		}
	}
	s.w.Close()
	s.w.EndLine()
	return nil
}
