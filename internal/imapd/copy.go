package imapd

import (
	"errors"
	"fmt"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// cmdCopy: COPY and UID COPY (RFC 9051 section 6.4.7) with the COPYUID
// response code of UIDPLUS (RFC 4315 section 3).
func (s *session) cmdCopy(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.CopyArgs)
	dst, uids, err := s.copyTarget(args, cmd.UID)
	if err != nil || len(uids) == 0 {
		return "", err
	}
	pairs, err := s.srv.cfg.Store.CopyMessages(s.ctx, s.sel.mailbox.ID, uids, dst.ID)
	if err != nil {
		return "", copyError(err)
	}
	s.publish(dst.ID, notify.MessageAdded)
	return copyUID(dst, pairs), nil
}

// copyTarget resolves the destination of COPY or MOVE (NO [TRYCREATE]
// when missing, RFC 9051 section 6.4.7) and the UIDs of the messages.
func (s *session) copyTarget(args *wire.CopyArgs, uid bool) (store.Mailbox, []uint32, error) {
	mb, err := s.srv.cfg.Store.GetMailbox(s.ctx, s.account.ID, args.Mailbox)
	if errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, nil, no("TRYCREATE", "no such mailbox")
	}
	if err != nil {
		return store.Mailbox{}, nil, fmt.Errorf("mailbox %q: %w", args.Mailbox, err)
	}
	idx, err := s.resolveSet(args.Set, uid)
	if err != nil {
		return store.Mailbox{}, nil, err
	}
	uids := make([]uint32, len(idx))
	for i, x := range idx {
		uids[i] = s.sel.msgs[x].UID
	}
	return mb, uids, nil
}

func copyError(err error) error {
	if errors.Is(err, store.ErrOverQuota) {
		return no("OVERQUOTA", "quota exceeded")
	}
	if errors.Is(err, store.ErrNotFound) {
		return no("TRYCREATE", "no such mailbox")
	}
	return fmt.Errorf("copy: %w", err)
}

// copyUID formats "COPYUID uidvalidity source-uids dest-uids" (RFC 4315
// section 3); the two sets list the pairs in the same order.
func copyUID(dst store.Mailbox, pairs []store.UIDPair) string {
	if len(pairs) == 0 {
		return ""
	}
	src := make([]uint32, len(pairs))
	dstUIDs := make([]uint32, len(pairs))
	for i, p := range pairs {
		src[i], dstUIDs[i] = p.Src, p.Dst
	}
	// Pairs come in source UID order and destination UIDs are handed out
	// in the same order, so both compact sets keep the correspondence.
	return fmt.Sprintf("COPYUID %d %s %s", dst.UIDValidity,
		wire.SeqSetFromNumbers(src).String(), wire.SeqSetFromNumbers(dstUIDs).String())
}
