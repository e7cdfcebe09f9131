package smtpd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/srs"
)

// session is one SMTP session (from EHLO to QUIT, RSET, or STARTTLS) on
// the MX port. Its fields are guarded by mu because go-smtp runs Data for
// BDAT in its own goroutine while it keeps reading commands.
type session struct {
	srv *Server
	// lim are the limits of the connection's generation.
	lim  Limits
	tc   *trackedConn
	log  *slog.Logger
	tls  bool
	helo string

	mu       sync.Mutex
	authUser string
	errors   int
	env      *delivery.Envelope // nil until MAIL
	sizeHint int64              // SIZE= of MAIL (RFC 1870), 0 if none
}

var _ smtp.Session = (*session)(nil)

func smtpErr(code int, enh [3]int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: msg}
}

// refuse logs and counts a refusal and renders e for go-smtp. After
// MaxErrors refusals the session is closed with 421 (a client guessing
// addresses or passwords gets a bounded number of tries per connection).
func (s *session) refuse(reason string, e *delivery.Error, attrs ...any) error {
	s.srv.m.MessagesRejected.WithLabelValues(reason).Inc()
	args := append([]any{"reason", reason, "code", e.Code, "err", e}, attrs...)
	s.log.Info("refused", args...)
	s.mu.Lock()
	s.errors++
	tooMany := s.errors >= s.srv.cfg.MaxErrors
	s.mu.Unlock()
	if tooMany {
		s.log.Info("too many errors, closing", "errors", s.srv.cfg.MaxErrors)
		s.tc.closeAfterReply()
		return smtpErr(421, [3]int{4, 7, 0}, "too many errors, closing connection")
	}
	return smtpErr(e.Code, e.Enhanced, e.Message)
}

// Reset discards the current transaction (RSET, new EHLO, end of DATA).
func (s *session) Reset() {
	s.mu.Lock()
	s.env, s.sizeHint = nil, 0
	s.mu.Unlock()
}

// Logout ends the session.
func (s *session) Logout() error {
	s.Reset()
	return nil
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if opts == nil {
		opts = &smtp.MailOptions{}
	}
	if e := checkMailDSN(opts); e != nil {
		return s.refuse("bad_parameter", e, "from", from)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env = &delivery.Envelope{
		MailFrom: from,
		RemoteIP: s.tc.ip,
		Helo:     s.helo,
		// go-smtp does not say whether the client used EHLO or HELO;
		// every mailer today uses EHLO.
		ESMTP:    true,
		TLS:      s.tls,
		AuthUser: s.authUser,
		UTF8:     opts.UTF8,
		// RFC 3461 sections 4.3 and 4.4, kept for the queue.
		Return:     opts.Return,
		EnvelopeID: opts.EnvelopeID,
	}
	s.sizeHint = opts.Size
	s.log.Debug("mail from", "from", from, "size", opts.Size)
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.mu.Lock()
	env, size := s.env, s.sizeHint
	s.mu.Unlock()
	if env == nil {
		return smtpErr(503, [3]int{5, 5, 1}, "MAIL first")
	}
	if opts == nil {
		opts = &smtp.RcptOptions{}
	}
	if e := checkRcptDSN(opts); e != nil {
		return s.refuse("bad_parameter", e, "rcpt", to)
	}
	// NOTIFY and ORCPT go with every address this RCPT leads to (the
	// address itself, or the targets of its alias or forwards), as
	// delivery.Expansion passes them on.
	dsn := recipientDSN(opts)
	if len(env.RcptTo) >= s.lim.MaxRecipients {
		// RFC 5321 section 4.5.3.1.10: 452 for too many recipients;
		// RFC 3463 4.5.3.
		return s.refuse("too_many_recipients", &delivery.Error{Code: 452, Enhanced: [3]int{4, 5, 3},
			Message: fmt.Sprintf("too many recipients (at most %d per message)", s.lim.MaxRecipients)}, "rcpt", to)
	}
	if max := s.lim.MaxSubmissionRecipients; s.srv.cfg.Submission && max > 0 && len(env.RcptTo) >= max {
		// The per-user sending limit (issue 4): 450 4.7.1, the message
		// can be sent again to the rest.
		return s.refuse("sending_limit", &delivery.Error{Code: 450, Enhanced: [3]int{4, 7, 1},
			Message: fmt.Sprintf("sending limit: at most %d recipients per message", max)}, "rcpt", to)
	}
	// A route trick (user%other@local, "a@b"@local) fails here, before
	// any lookup.
	lp, domain, err := directory.ParseAddress(to)
	if err != nil {
		return s.refuse(rcptReason(err), delivery.RecipientError(err), "rcpt", to)
	}
	if srs.IsSRS(lp) && s.srv.cfg.SRS != nil {
		if ours, err := s.isSRSDomain(domain); err != nil {
			return s.refuse("local_error", delivery.ErrorLocal(err), "rcpt", to)
		} else if ours {
			return s.srsRecipient(env, to, dsn)
		}
	}
	res, err := s.srv.cfg.Directory.Resolve(s.srv.ctx, to)
	if s.srv.cfg.Submission && errors.Is(err, directory.ErrRelayDenied) {
		// Neither hosted nor relayed here: an authenticated user's
		// mail for the Internet.
		return s.remoteRecipient(env, to, dsn)
	}
	if err != nil {
		return s.refuse(rcptReason(err), delivery.RecipientError(err), "rcpt", to)
	}
	locals, external, err := s.applyForwards(res)
	if err != nil {
		return s.refuse("local_error", delivery.ErrorLocal(err), "rcpt", to)
	}
	if len(locals) == 0 && s.srv.cfg.Outbound == nil {
		if len(res.Relay) > 0 {
			return s.refuse("outbound_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 0},
				Message: "relaying to the destination of this domain needs the outbound queue, which is not available"}, "rcpt", to)
		}
		// Temporary: the alias is valid, only its targets cannot
		// be reached yet; nothing is lost, the sender retries.
		return s.refuse("external_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 3, 0},
			Message: "forwarding to external addresses needs the outbound queue, which is not available"}, "rcpt", to)
	}
	over := 0
	for _, l := range locals {
		a := l.Account
		// Over quota at RCPT: already full, or the announced size
		// (RFC 1870 SIZE=) would not fit.
		if a.QuotaBytes > 0 && (a.UsedBytes >= a.QuotaBytes || size > 0 && a.UsedBytes+size > a.QuotaBytes) {
			over++
		}
	}
	if len(locals) > 0 && over == len(locals) && len(external) == 0 && len(res.Relay) == 0 {
		return s.refuse("over_quota", delivery.ErrorMailboxFull(nil), "rcpt", to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != env {
		// RSET raced with this lookup (BDAT goroutine aside, go-smtp
		// is sequential, so this is only a safety net).
		return smtpErr(503, [3]int{5, 5, 1}, "transaction was reset")
	}
	if len(external) > 0 && s.srv.cfg.Outbound == nil {
		s.log.Warn("alias targets outside not forwarded: no outbound queue", "rcpt", to, "external", external)
		external = nil
	}
	x := delivery.NewExpansion(to, dsn, len(locals)+len(external)+len(res.Relay))
	env.RcptTo = append(env.RcptTo, to)
	env.AddExpansion(x)
	for _, l := range locals {
		env.AddLocal(l, x.For(l.Account.Address))
	}
	env.Forwarded = appendNew(env.Forwarded, external...)
	for _, a := range external {
		env.SetRecipientDSN(a, x.For(a))
	}
	for _, r := range res.Relay {
		env.Relayed = append(env.Relayed, delivery.RelayedRecipient{Address: r.Address, Host: r.Host, Port: r.Port})
		env.SetRecipientDSN(r.Address, x.For(r.Address))
	}
	s.log.Debug("rcpt to", "rcpt", to, "local", len(locals), "external", len(external), "relayed", len(res.Relay))
	return nil
}

// applyForwards turns a resolution into the local mailboxes that keep a
// copy and the external addresses the message is forwarded to: alias
// targets outside and the forwards of the local mailboxes. A forward
// without KeepCopy replaces its mailbox's copy. Forwards to addresses of
// our own domains are resolved once more (their own forwards are not
// followed, so two mailboxes forwarding to each other cannot loop).
// Without an outbound queue every local copy is kept.
func (s *session) applyForwards(res directory.Resolution) ([]directory.LocalRecipient, []string, error) {
	external := append([]string(nil), res.External...)
	if len(res.Forwards) == 0 || s.srv.cfg.Outbound == nil {
		if len(res.Forwards) > 0 {
			s.log.Info("forwards not sent: no outbound queue", "forwards", len(res.Forwards))
		}
		return res.Local, external, nil
	}
	drop := map[int64]bool{}
	var extra []directory.LocalRecipient
	for _, f := range res.Forwards {
		_, td, err := directory.ParseAddress(f.Target)
		if err != nil {
			s.log.Warn("forward with a bad target skipped", "target", f.Target, "err", err)
			continue
		}
		_, local, err := s.srv.cfg.Directory.IsLocalDomain(s.srv.ctx, td)
		if err != nil {
			return nil, nil, err
		}
		if local {
			r2, err := s.srv.cfg.Directory.Resolve(s.srv.ctx, f.Target)
			if err != nil {
				s.log.Warn("forward to a local address that does not resolve skipped", "target", f.Target, "err", err)
				continue
			}
			extra = append(extra, r2.Local...)
			external = appendNew(external, r2.External...)
		} else {
			external = appendNew(external, f.Target)
		}
		if !f.KeepCopy {
			drop[f.AccountID] = true
		}
	}
	var locals []directory.LocalRecipient
	seen := map[int64]bool{}
	for _, l := range append(res.Local, extra...) {
		if (drop[l.Account.ID] && !containsAccount(extra, l.Account.ID)) || seen[l.Account.ID] {
			continue
		}
		seen[l.Account.ID] = true
		locals = append(locals, l)
	}
	return locals, external, nil
}

func containsAccount(ls []directory.LocalRecipient, id int64) bool {
	for _, l := range ls {
		if l.Account.ID == id {
			return true
		}
	}
	return false
}

// appendNew appends the addresses not yet in list (case-insensitively).
func appendNew(list []string, addrs ...string) []string {
	for _, a := range addrs {
		dup := false
		for _, b := range list {
			if strings.EqualFold(a, b) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, a)
		}
	}
	return list
}

// isSRSDomain reports whether SRS addresses at domain are ours: the
// rewriter's domain or any hosted domain.
func (s *session) isSRSDomain(domain string) (bool, error) {
	if strings.EqualFold(domain, s.srv.cfg.SRS.Domain) {
		return true, nil
	}
	_, local, err := s.srv.cfg.Directory.IsLocalDomain(s.srv.ctx, domain)
	return local, err
}

// srsRecipient accepts mail to one of our SRS addresses (a bounce of mail
// we forwarded) for its original sender, or refuses a forged or expired
// one as an unknown user.
func (s *session) srsRecipient(env *delivery.Envelope, to string, dsn delivery.RecipientDSN) error {
	orig, err := s.srv.cfg.SRS.Reverse(to)
	if err != nil {
		return s.refuse("srs_invalid", &delivery.Error{Code: 550, Enhanced: [3]int{5, 1, 1},
			Message: "no such user here (invalid or expired forwarding address)", Err: err}, "rcpt", to)
	}
	if s.srv.cfg.Outbound == nil {
		return s.refuse("outbound_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 0},
			Message: "outbound delivery is not available"}, "rcpt", to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != env {
		return smtpErr(503, [3]int{5, 5, 1}, "transaction was reset")
	}
	env.RcptTo = append(env.RcptTo, to)
	env.Remote = appendNew(env.Remote, orig)
	env.SetRecipientDSN(orig, dsn)
	s.log.Info("bounce to forwarding address routed back", "rcpt", to, "original", orig)
	return nil
}

// remoteRecipient handles a submission recipient outside our domains.
func (s *session) remoteRecipient(env *delivery.Envelope, to string, dsn delivery.RecipientDSN) error {
	if s.srv.cfg.Outbound == nil {
		return s.refuse("outbound_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 0},
			Message: "outbound delivery is not available"}, "rcpt", to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != env {
		return smtpErr(503, [3]int{5, 5, 1}, "transaction was reset")
	}
	env.RcptTo = append(env.RcptTo, to)
	env.Remote = append(env.Remote, to)
	env.SetRecipientDSN(to, dsn)
	return nil
}

func rcptReason(err error) string {
	switch {
	case errors.Is(err, directory.ErrRelayDenied):
		return "relay_denied"
	case errors.Is(err, directory.ErrUnknownRecipient):
		return "unknown_recipient"
	case errors.Is(err, directory.ErrDisabled):
		return "disabled"
	case errors.Is(err, directory.ErrLoop):
		return "alias_loop"
	case errors.Is(err, directory.ErrInvalidAddress), errors.Is(err, directory.ErrInvalidDomain):
		return "invalid_address"
	}
	return "local_error"
}

// Data receives the message (DATA or BDAT) and answers only after the
// copies are durably stored.
func (s *session) Data(r io.Reader) error {
	s.mu.Lock()
	env := s.env
	s.env = nil
	s.mu.Unlock()
	if env == nil || len(env.RcptTo) == 0 {
		return smtpErr(503, [3]int{5, 5, 1}, "no valid recipients")
	}
	if !s.srv.beginTransfer(s.tc) {
		s.tc.closeAfterReply()
		return smtpErr(421, [3]int{4, 3, 2}, "service shutting down, try again later")
	}
	defer s.srv.endTransfer(s.tc)

	dl := s.srv.cfg.Deliverer
	d := dl.NewDelivery(env, &lineEndingReader{r: r, maxLine: s.lim.MaxLineLength})
	d.MaxMessageBytes = s.lim.MaxMessageBytes
	d.Log = d.Log.With("cid", s.tc.cid, "remote", s.tc.ip.String())
	err := dl.Deliver(s.srv.ctx, d)
	if err != nil {
		e := delivery.AsError(err)
		return s.refuse(dataReason(e), e, "delivery", d.ID)
	}
	s.srv.m.MessagesAccepted.WithLabelValues(s.srv.proto).Inc()
	if env.AuthUser != "" {
		s.srv.rate.record(env.AuthUser, s.lim.MaxMessagesPerHour)
	}
	stored := 0
	for _, r := range env.Recipients {
		if r.Err == nil {
			stored++
		}
	}
	s.log.Info("accepted", "delivery", d.ID, "from", env.MailFrom, "rcpts", len(env.RcptTo), "stored", stored, "size", d.Size)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK, stored as " + d.ID}
}

func dataReason(e *delivery.Error) string {
	switch e.Enhanced {
	case [3]int{4, 2, 2}:
		return "over_quota"
	case [3]int{5, 3, 4}:
		return "too_large"
	case [3]int{5, 6, 0}:
		return "bare_lf"
	case [3]int{5, 5, 2}:
		return "line_too_long"
	}
	if e.Temporary() {
		return "local_error"
	}
	return "refused"
}
