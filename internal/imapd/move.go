package imapd

import (
	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
)

// cmdMove: MOVE and UID MOVE (RFC 6851). Copy and expunge happen in one
// store transaction; RFC 6851 section 4.3: the COPYUID goes in an
// untagged OK before the EXPUNGE (or VANISHED) responses, which the sync
// after the command writes.
func (s *session) cmdMove(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.CopyArgs)
	sel := s.sel
	if sel.readOnly {
		return "", no("READ-ONLY", "mailbox is read-only")
	}
	dst, uids, err := s.copyTarget(args, cmd.UID)
	if err != nil || len(uids) == 0 {
		return "", err
	}
	if dst.ID == sel.mailbox.ID {
		return "", no("CANNOT", "source and destination are the same mailbox")
	}
	pairs, err := s.srv.cfg.Store.MoveMessages(s.ctx, sel.mailbox.ID, uids, dst.ID)
	if err != nil {
		return "", copyError(err)
	}
	if code := copyUID(dst, pairs); code != "" {
		s.w.Status("", "OK", code, "moved")
	}
	s.publish(sel.mailbox.ID, notify.MessagesExpunged)
	s.publish(dst.ID, notify.MessageAdded)
	return "", nil
}
