package imapd

import (
	"errors"
	"fmt"
	"strings"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// cmdRename: RFC 9051 section 6.3.6. Children move with the mailbox
// (the store renames "a/x" with "a"). Renaming INBOX is special: its
// messages move to a new mailbox of the new name and INBOX stays, empty.
func (s *session) cmdRename(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.RenameArgs)
	to := strings.TrimSuffix(args.To, "/")
	if err := checkMailboxName(to); err != nil {
		return "", err
	}
	if to == "INBOX" {
		return "", no("ALREADYEXISTS", "INBOX always exists")
	}
	st := s.srv.cfg.Store
	from, err := s.getMailbox(args.From)
	if err != nil {
		return "", err
	}
	if err := s.createParents(to); err != nil {
		return "", err
	}
	if from.Name == "INBOX" {
		return "", s.renameInbox(from, to)
	}
	err = st.RenameMailbox(s.ctx, s.account.ID, from.Name, to)
	switch {
	case errors.Is(err, store.ErrExists):
		return "", no("ALREADYEXISTS", "a mailbox with the new name exists")
	case errors.Is(err, store.ErrNotFound):
		return "", no("NONEXISTENT", "no such mailbox")
	case err != nil:
		return "", fmt.Errorf("rename %q to %q: %w", from.Name, to, err)
	}
	if s.sel != nil && s.sel.mailbox.ID == from.ID {
		s.sel.mailbox.Name = to
	}
	s.publish(from.ID, notify.MailboxesChanged)
	return "", nil
}

// renameInbox moves every message of INBOX into a new mailbox (RFC 9051
// section 6.3.6: "renaming INBOX ... moves all messages in INBOX to a new
// mailbox with the given name, leaving INBOX empty").
func (s *session) renameInbox(inbox store.Mailbox, to string) error {
	st := s.srv.cfg.Store
	dst, err := st.CreateMailbox(s.ctx, s.account.ID, store.MailboxSpec{Name: to})
	if errors.Is(err, store.ErrExists) {
		return no("ALREADYEXISTS", "a mailbox with the new name exists")
	}
	if err != nil {
		return fmt.Errorf("create %q: %w", to, err)
	}
	msgs, err := st.ListMessages(s.ctx, inbox.ID)
	if err != nil {
		return fmt.Errorf("list INBOX: %w", err)
	}
	if len(msgs) > 0 {
		uids := make([]uint32, len(msgs))
		for i, m := range msgs {
			uids[i] = m.UID
		}
		if _, err := st.MoveMessages(s.ctx, inbox.ID, uids, dst.ID); err != nil {
			return fmt.Errorf("move INBOX messages to %q: %w", to, err)
		}
		s.publish(inbox.ID, notify.MessagesExpunged)
		s.publish(dst.ID, notify.MessageAdded)
	}
	s.publish(dst.ID, notify.MailboxesChanged)
	return nil
}

// createParents creates the missing parents of name (RFC 9051 section
// 6.3.6 lets RENAME create them, as CREATE does).
func (s *session) createParents(name string) error {
	levels := strings.Split(name, "/")
	for i := 1; i < len(levels); i++ {
		parent := strings.Join(levels[:i], "/")
		if _, err := s.srv.cfg.Store.CreateMailbox(s.ctx, s.account.ID, store.MailboxSpec{Name: parent}); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("create parent %q: %w", parent, err)
		}
	}
	return nil
}
