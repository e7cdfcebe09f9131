package smtpd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
	"mailport/internal/directory"
)

// session is one SMTP session (from EHLO to QUIT, RSET, or STARTTLS) on
// the MX port. Its fields are guarded by mu because go-smtp runs Data for
// BDAT in its own goroutine while it keeps reading commands.
type session struct {
	srv  *Server
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts == nil {
		opts = &smtp.MailOptions{}
	}
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
	}
	s.sizeHint = opts.Size
	s.log.Debug("mail from", "from", from, "size", opts.Size)
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mu.Lock()
	env, size := s.env, s.sizeHint
	s.mu.Unlock()
	if env == nil {
		return smtpErr(503, [3]int{5, 5, 1}, "MAIL first")
	}
	if len(env.RcptTo) >= s.srv.cfg.MaxRecipients {
		// RFC 5321 section 4.5.3.1.10: 452 for too many recipients;
		// RFC 3463 4.5.3.
		return s.refuse("too_many_recipients", &delivery.Error{Code: 452, Enhanced: [3]int{4, 5, 3},
			Message: fmt.Sprintf("too many recipients (at most %d per message)", s.srv.cfg.MaxRecipients)}, "rcpt", to)
	}
	// A route trick (user%other@local, "a@b"@local) fails here, before
	// any lookup.
	if _, domain, err := directory.ParseAddress(to); err != nil {
		return s.refuse(rcptReason(err), delivery.RecipientError(err), "rcpt", to)
	} else if s.srv.cfg.Submission {
		if _, local, err := s.srv.cfg.Directory.IsLocalDomain(s.srv.ctx, domain); err != nil {
			return s.refuse("local_error", delivery.ErrorLocal(err), "rcpt", to)
		} else if !local {
			return s.remoteRecipient(env, to)
		}
	}
	res, err := s.srv.cfg.Directory.Resolve(s.srv.ctx, to)
	if err != nil {
		return s.refuse(rcptReason(err), delivery.RecipientError(err), "rcpt", to)
	}
	if len(res.Local) == 0 {
		if s.srv.cfg.Outbound == nil {
			// Temporary: the alias is valid, only its targets cannot
			// be reached yet; nothing is lost, the sender retries.
			return s.refuse("external_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 3, 0},
				Message: "forwarding to external addresses needs the outbound queue, which is not available yet"}, "rcpt", to)
		}
	}
	over := 0
	for _, l := range res.Local {
		a := l.Account
		// Over quota at RCPT: already full, or the announced size
		// (RFC 1870 SIZE=) would not fit.
		if a.QuotaBytes > 0 && (a.UsedBytes >= a.QuotaBytes || size > 0 && a.UsedBytes+size > a.QuotaBytes) {
			over++
		}
	}
	if len(res.Local) > 0 && over == len(res.Local) {
		return s.refuse("over_quota", delivery.ErrorMailboxFull(nil), "rcpt", to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != env {
		// RSET raced with this lookup (BDAT goroutine aside, go-smtp
		// is sequential, so this is only a safety net).
		return smtpErr(503, [3]int{5, 5, 1}, "transaction was reset")
	}
	env.RcptTo = append(env.RcptTo, to)
	for _, l := range res.Local {
		env.AddLocal(l)
	}
	if len(res.External) > 0 {
		if s.srv.cfg.Outbound != nil {
			env.Remote = append(env.Remote, res.External...)
		} else {
			s.log.Warn("alias targets outside not forwarded: no outbound queue yet", "rcpt", to, "external", res.External)
		}
	}
	for _, f := range res.Forwards {
		s.log.Info("forward recorded but not sent: no outbound queue yet", "rcpt", to, "target", f.Target, "keep_copy", f.KeepCopy)
	}
	s.log.Debug("rcpt to", "rcpt", to, "local", len(res.Local), "external", len(res.External))
	return nil
}

// remoteRecipient handles a submission recipient outside our domains.
func (s *session) remoteRecipient(env *delivery.Envelope, to string) error {
	if s.srv.cfg.Outbound == nil {
		return s.refuse("outbound_unavailable", &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 0},
			Message: "outbound delivery is not available yet"}, "rcpt", to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != env {
		return smtpErr(503, [3]int{5, 5, 1}, "transaction was reset")
	}
	env.RcptTo = append(env.RcptTo, to)
	env.Remote = append(env.Remote, to)
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
	d := dl.NewDelivery(env, &lineEndingReader{r: r, maxLine: s.srv.cfg.MaxLineLength})
	d.Log = d.Log.With("cid", s.tc.cid, "remote", s.tc.ip.String())
	err := dl.Deliver(s.srv.ctx, d)
	if err == nil && len(env.Remote) > 0 {
		if err = s.srv.cfg.Outbound.Enqueue(s.srv.ctx, d); err != nil {
			err = delivery.AsError(fmt.Errorf("outbound queue: %w", err))
		}
	}
	if err != nil {
		e := delivery.AsError(err)
		return s.refuse(dataReason(e), e, "delivery", d.ID)
	}
	s.srv.m.MessagesAccepted.WithLabelValues(s.srv.proto).Inc()
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
