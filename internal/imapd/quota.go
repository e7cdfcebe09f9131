package imapd

import (
	"fmt"

	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// Quota (RFC 9208): one quota root "" per account, with the STORAGE
// resource from the store's accounting. Limits are set by administrators
// (API, CLI), never over IMAP.

// cmdGetQuotaRoot: RFC 9208 section 4.3.
func (s *session) cmdGetQuotaRoot(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.MailboxArgs)
	if _, err := s.getMailbox(args.Mailbox); err != nil {
		return "", err
	}
	s.w.StartUntagged()
	s.w.Atom("QUOTAROOT")
	s.w.Mailbox(args.Mailbox)
	s.w.Quoted("")
	s.w.EndLine()
	return "", s.writeQuota()
}

// cmdGetQuota: RFC 9208 section 4.2.
func (s *session) cmdGetQuota(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.QuotaArgs)
	if args.Root != "" {
		return "", no("NONEXISTENT", "no such quota root")
	}
	return "", s.writeQuota()
}

// cmdSetQuota: RFC 9208 section 4.4 allows refusing it.
func (s *session) cmdSetQuota(cmd *wire.Command) (string, error) {
	return "", no("NOPERM", "quota is set by the administrator")
}

// writeQuota writes `* QUOTA "" (STORAGE used limit)` in units of 1024
// octets (RFC 9208 section 5.1); an account without a limit has an empty
// resource list.
func (s *session) writeQuota() error {
	acct, err := s.srv.cfg.Store.GetAccount(s.ctx, s.account.ID)
	if err != nil {
		return fmt.Errorf("quota of account %d: %w", s.account.ID, err)
	}
	s.w.StartUntagged()
	s.w.Atom("QUOTA")
	s.w.Quoted("")
	s.w.Open()
	if acct.QuotaBytes > 0 {
		s.w.Atom("STORAGE")
		s.w.Number64(uint64(max(acct.UsedBytes, 0)+1023) / 1024)
		s.w.Number64(uint64(acct.QuotaBytes) / 1024)
	}
	s.w.Close()
	s.w.EndLine()
	return nil
}

// overQuota reports whether adding size bytes would exceed the account's
// quota.
func overQuota(acct store.Account, size int64) bool {
	return acct.QuotaBytes > 0 && acct.UsedBytes+size > acct.QuotaBytes
}
