package imapd

import (
	"fmt"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
)

// cmdDelete: RFC 9051 section 6.3.5. INBOX cannot be deleted; a mailbox
// with children is deleted alone and its name lives on as a \Noselect
// parent (the children are not removed). The store returns the blobs of
// the deleted messages, removed here.
func (s *session) cmdDelete(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.MailboxArgs)
	if args.Mailbox == "INBOX" {
		return "", no("CANNOT", "INBOX cannot be deleted")
	}
	mb, err := s.getMailbox(args.Mailbox)
	if err != nil {
		return "", err
	}
	blobs, err := s.srv.cfg.Store.DeleteMailbox(s.ctx, mb.ID)
	if err != nil {
		return "", fmt.Errorf("delete %q: %w", args.Mailbox, err)
	}
	s.deleteBlobs(blobs)
	if s.sel != nil && s.sel.mailbox.ID == mb.ID {
		// Deleting the selected mailbox leaves nothing to show.
		s.sel = nil
		s.state = stateAuthenticated
		s.w.Status("", "OK", "CLOSED", "mailbox deleted")
	}
	s.publish(mb.ID, notify.MailboxesChanged)
	return "", nil
}
