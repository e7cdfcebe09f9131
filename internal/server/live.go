package server

import (
	"fmt"
	"time"

	"mailport/internal/config"
	"mailport/internal/queue"
	"mailport/internal/smtpd"
)

// Apply puts the settings of cfg that can change at run time into
// effect and returns the configuration now running: cfg's values for
// those, the started ones for the rest (listeners, TLS, the database,
// shutdown_wait_seconds). Connections already open keep the limits and
// timeouts they started with; new connections, logins, SMTP transactions
// and delivery attempts get the new ones.
func (s *Server) Apply(cfg config.Config) (config.Config, error) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	run := s.live
	run.Limits.MaxMessageBytes = cfg.Limits.MaxMessageBytes
	run.Limits.MaxRecipients = cfg.Limits.MaxRecipients
	run.Limits.MaxLineLength = cfg.Limits.MaxLineLength
	run.Limits.SMTPTimeoutSecs = cfg.Limits.SMTPTimeoutSecs
	run.Limits.MaxConnsPerIP = cfg.Limits.MaxConnsPerIP
	run.Limits.POP3TimeoutSecs = cfg.Limits.POP3TimeoutSecs
	run.Limits.IMAPConnsPerIP = cfg.Limits.IMAPConnsPerIP
	run.Limits.IMAPConnsPerUser = cfg.Limits.IMAPConnsPerUser
	run.Limits.IMAPIdleMinutes = cfg.Limits.IMAPIdleMinutes
	run.Submission = cfg.Submission
	run.Queue = cfg.Queue
	rt, err := queueRouting(run)
	if err != nil {
		return s.live, fmt.Errorf("apply settings: %w", err)
	}
	if err := s.queue.SetRouting(rt); err != nil {
		return s.live, fmt.Errorf("apply settings: %w", err)
	}
	s.smtp.SetLimits(smtpLimits(run, false))
	s.sub.SetLimits(smtpLimits(run, true))
	s.imap.SetMaxLiteralSize(run.Limits.MaxMessageBytes)
	s.setConnLimits(run.Limits)
	s.live = run
	return run, nil
}

// Reload re-reads mailport.toml (an administrator edited it and sent
// SIGHUP, as with Postfix and Dovecot) and applies it like PATCH
// /settings. It returns the changed keys that take effect only after a
// restart; a file that does not load changes nothing.
func (s *Server) Reload() (restartRequired []string, err error) {
	cfg, err := config.Load(s.Config.Dir)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	return s.api.Reload(cfg)
}

// Running is the configuration in effect (Apply's result).
func (s *Server) Running() config.Config {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return s.live
}

// setConnLimits gives the POP3 and IMAP servers the connection limits
// and autologout timers of lim (SMTP's are in smtpLimits). The per-IP
// limit of POP3 is SMTP's.
func (s *Server) setConnLimits(lim config.Limits) {
	s.pop3.SetConnLimits(lim.MaxConnsPerIP, time.Duration(lim.POP3TimeoutSecs)*time.Second)
	// RFC 9051 section 5.4: the autologout timer is at least 30 minutes.
	idle := time.Duration(max(lim.IMAPIdleMinutes, 30)) * time.Minute
	s.imap.SetConnLimits(lim.IMAPConnsPerIP, lim.IMAPConnsPerUser, idle)
}

// smtpLimits are the SMTP server limits of cfg; submission adds the
// per-user ones.
func smtpLimits(cfg config.Config, submission bool) smtpd.Limits {
	lim := cfg.Limits
	l := smtpd.Limits{
		MaxMessageBytes: lim.MaxMessageBytes,
		MaxRecipients:   lim.MaxRecipients,
		MaxLineLength:   lim.MaxLineLength,
		MaxConnsPerIP:   lim.MaxConnsPerIP,
		ReadTimeout:     time.Duration(lim.SMTPTimeoutSecs) * time.Second,
		WriteTimeout:    time.Duration(lim.SMTPTimeoutSecs) * time.Second,
	}
	if submission {
		l.MaxMessagesPerHour = cfg.Submission.MaxMessagesPerHour
		l.MaxSubmissionRecipients = cfg.Submission.MaxRecipients
	}
	return l
}

// queueRouting is the queue's Routing for cfg.
func queueRouting(cfg config.Config) (queue.Routing, error) {
	relay, err := smarthost(cfg.Queue)
	if err != nil {
		return queue.Routing{}, err
	}
	warn, err := cfg.Queue.DelayWarningDuration()
	if err != nil {
		return queue.Routing{}, err
	}
	return queue.Routing{
		SMTPPort:      cfg.Queue.SMTPPort,
		SourceAddress: cfg.Queue.SourceAddress,
		Smarthost:     relay,
		// Room for our trace fields.
		MaxMessageBytes: cfg.Limits.MaxMessageBytes + 64<<10,
		DelayWarning:    warn,
	}, nil
}
