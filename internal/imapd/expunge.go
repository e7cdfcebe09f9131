package imapd

import (
	"fmt"
	"slices"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// cmdExpunge: EXPUNGE (RFC 9051 section 6.4.3) and UID EXPUNGE (RFC 4315
// section 2.1). The messages are removed in the store; the sync that
// follows every command reports them, as EXPUNGE or VANISHED, since this
// command may report expunges (RFC 9051 section 7.5.1).
func (s *session) cmdExpunge(cmd *wire.Command) (string, error) {
	sel := s.sel
	if sel.readOnly {
		return "", no("READ-ONLY", "mailbox is read-only")
	}
	var set *wire.SeqSet
	if cmd.UID {
		args := cmd.Args.(*wire.ExpungeArgs)
		set = &args.UIDs
		if set.Saved {
			// "$" holds UIDs already (RFC 5182).
			saved := wire.SeqSetFromNumbers(sel.saved)
			set = &saved
		}
	}
	uids, err := s.deletedUIDs(sel.mailbox.ID, set)
	if err != nil || len(uids) == 0 {
		return "", err
	}
	return "", s.expungeUIDs(sel.mailbox.ID, uids)
}

// deletedUIDs lists the messages of a mailbox that have \Deleted now (the
// store's state, not the view's, so flags set by other sessions count),
// restricted to the UID set when one is given.
func (s *session) deletedUIDs(mailboxID int64, set *wire.SeqSet) ([]uint32, error) {
	msgs, err := s.srv.cfg.Store.ListMessages(s.ctx, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("list for expunge: %w", err)
	}
	var maxUID uint32
	if len(msgs) > 0 {
		maxUID = msgs[len(msgs)-1].UID
	}
	var uids []uint32
	for _, m := range msgs {
		if slices.Contains(m.Flags, store.FlagDeleted) && (set == nil || set.Contains(m.UID, maxUID)) {
			uids = append(uids, m.UID)
		}
	}
	return uids, nil
}

// expungeUIDs removes messages, deletes the blobs nothing refers to any
// more and wakes the other sessions.
func (s *session) expungeUIDs(mailboxID int64, uids []uint32) error {
	blobs, err := s.srv.cfg.Store.Expunge(s.ctx, mailboxID, uids)
	if err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	s.deleteBlobs(blobs)
	s.publish(mailboxID, notify.MessagesExpunged)
	return nil
}
