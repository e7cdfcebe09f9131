package imapd

import (
	"fmt"

	"mailport/internal/imapd/wire"
)

// cmdSubscribe: SUBSCRIBE and UNSUBSCRIBE (RFC 9051 sections 6.3.7 and
// 6.3.8). Subscriptions live on the mailbox in the store, so only
// existing mailboxes can be subscribed.
func (s *session) cmdSubscribe(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.MailboxArgs)
	mb, err := s.getMailbox(args.Mailbox)
	if err != nil {
		return "", err
	}
	on := cmd.Name == "SUBSCRIBE"
	if err := s.srv.cfg.Store.SetSubscribed(s.ctx, mb.ID, on); err != nil {
		return "", fmt.Errorf("%s %q: %w", cmd.Name, mb.Name, err)
	}
	return "", nil
}
