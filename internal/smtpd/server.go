// Package smtpd is mailport's inbound SMTP server on emersion/go-smtp: the
// MX listener (port 25: mail for our domains only, no AUTH) and the
// submission listeners (587 with STARTTLS, 465 with implicit TLS: AUTH
// required). Accepted messages go through delivery.Deliverer; a 250 after
// DATA means the message is durably stored.
//
// What go-smtp does and what this package adds (checked against go-smtp
// v0.25.1):
//   - End of data: go-smtp's DATA reader ends only at CRLF "." CRLF; a bare
//     LF never ends a line for it, so "\n.\n", "\n.\r\n" and "\r.\r" do not
//     end the data. It passes CR and LF through unchanged; lineEndingReader
//     refuses any CR or LF outside a CRLF pair (RFC 5321 section 2.3.8) and
//     go-smtp then discards the rest of the data up to the real terminator,
//     so nothing after a fake terminator is read as commands.
//   - STARTTLS: go-smtp builds a new buffered reader on the TLS connection
//     after the handshake, so commands pipelined before it are dropped.
//   - Source routes (RFC 5321 section 3.3, Appendix C): go-smtp drops
//     "@a,@b:" and hands over the final mailbox, which RFC 5321 allows; the
//     final mailbox is resolved like any other, so a route cannot make us
//     relay. Quoted local parts reach directory.ParseAddress with their
//     quotes removed ("a@b"@local becomes a@b@local) and are refused there.
//   - Limits go-smtp lacks or applies differently: connections per IP
//     (netserve, through trackingListener), an idle read timeout that does not cut off a slow
//     but moving DATA (trackedConn), errors per session, recipients per
//     message counted here so refusals show in the metrics.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/auth"
	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/metrics"
	"mailport/internal/netserve"
	"mailport/internal/srs"
)

// Outbound is the seam for the outbound queue. While it is nil,
// submission refuses remote recipients with 451 4.4.0 and the MX refuses
// aliases that only point outside with 451 4.3.0. When set, New puts
// delivery.OutboundStage(Outbound) in the Deliverer (before "store"):
// remote recipients are collected in delivery.Envelope.Remote, external
// alias and forward targets in Forwarded, and Enqueue runs once the
// message is spooled, before the local copies are stored and before the
// client gets 250; it must make the message durable before it returns.
type Outbound = delivery.Outbound

// Config configures a Server. Zero limits take the defaults.
type Config struct {
	// Hostname is the name in the greeting and in Received fields.
	Hostname string
	// TLS enables STARTTLS (and is required by ServeTLS).
	TLS       *tls.Config
	Directory *directory.Service
	Deliverer *delivery.Deliverer
	// Auth checks submission logins; required when Submission is set.
	Auth    *auth.Authenticator
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Outbound queues mail for remote recipients; nil refuses them.
	Outbound Outbound
	// SRS, when set, recognizes the SRS0 addresses of our forwarded mail
	// at RCPT: a valid one (a bounce coming back) is routed to the
	// original sender, an invalid or expired one refused with 550 5.1.1.
	SRS *srs.Rewriter
	// MaxMessagesPerHour bounds the messages one submission user sends
	// per hour (450 4.7.1 beyond); 0 is no limit. Counted in memory.
	MaxMessagesPerHour int
	// MaxSubmissionRecipients bounds the recipients of one submitted
	// message (450 4.7.1 beyond); 0 leaves only MaxRecipients.
	MaxSubmissionRecipients int

	MaxMessageBytes int64 // default 50 MiB
	MaxRecipients   int   // default 100
	// MaxLineLength bounds command and text lines including CRLF
	// (RFC 5321 section 4.5.3.1.6 requires at least 1000); default 2000.
	MaxLineLength int
	MaxConnsPerIP int // default 20
	// MaxErrors is how many refused commands a session may collect
	// before it is closed with 421; default 20.
	MaxErrors    int
	ReadTimeout  time.Duration // idle time allowed between reads; default 5 min
	WriteTimeout time.Duration // default 1 min
	// Submission makes this a message submission server (RFC 6409):
	// AUTH required before MAIL.
	Submission bool
}

// Limits are the limits a Server may change while it runs (SetLimits):
// a connection keeps those it was accepted with, so one session never
// sees two sets. Zero values take Config's defaults.
type Limits struct {
	MaxMessageBytes         int64
	MaxRecipients           int
	MaxLineLength           int
	MaxConnsPerIP           int
	ReadTimeout             time.Duration
	WriteTimeout            time.Duration
	MaxMessagesPerHour      int
	MaxSubmissionRecipients int
}

// withDefaults fills the zero limits.
func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 50 << 20
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = 100
	}
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = 2000
	}
	if l.MaxConnsPerIP <= 0 {
		l.MaxConnsPerIP = 20
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 5 * time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = time.Minute
	}
	return l
}

// Server is one SMTP service (MX or submission) over any number of
// listeners.
type Server struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics.Metrics
	proto string // metrics label: "smtp" or "submission"

	// conns accepts within MaxConnsPerIP and tracks the connections for
	// Shutdown; go-smtp runs each connection.
	conns *netserve.Server

	ctx    context.Context // for deliveries; cancelled when Shutdown gives up
	cancel context.CancelFunc

	rate *rateLimiter // submission only

	// go-smtp reads its limits from its Server's fields throughout a
	// connection, so they cannot change under it: each set of Limits
	// gets its own go-smtp server (a generation), new connections are
	// handed to the newest, and older ones keep serving theirs.
	genMu   sync.Mutex
	gen     *generation
	oldGens []*generation
}

// generation is one go-smtp server with the limits it was built with,
// fed the accepted connections through handoff.
type generation struct {
	lim     Limits
	smtp    *smtp.Server
	handoff *handoffListener
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	lim := Limits{
		MaxMessageBytes: cfg.MaxMessageBytes, MaxRecipients: cfg.MaxRecipients, MaxLineLength: cfg.MaxLineLength,
		MaxConnsPerIP: cfg.MaxConnsPerIP, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		MaxMessagesPerHour: cfg.MaxMessagesPerHour, MaxSubmissionRecipients: cfg.MaxSubmissionRecipients,
	}.withDefaults()
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = 20
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		m:     cfg.Metrics,
		proto: "smtp",
		conns: netserve.New(netserve.Config{MaxConnsPerIP: lim.MaxConnsPerIP}),
	}
	if cfg.Submission {
		s.proto = "submission"
		s.rate = newRateLimiter()
	}
	// The stages this server relies on; a Deliverer shared by the MX and
	// submission servers gets each once (they act only on the envelopes
	// they concern: the From check on authenticated ones, the queue on
	// those with outside recipients).
	if dl := cfg.Deliverer; dl != nil {
		if cfg.Submission && cfg.Directory != nil {
			// Before signing, when there is a signer: a refused
			// message need not be signed first.
			before := "spool"
			for _, n := range dl.StageNames() {
				if n == "dkim" {
					before = "dkim"
				}
			}
			ensureStage(cfg.Logger, dl, before, fromStage{dir: cfg.Directory})
		}
		if cfg.Outbound != nil {
			ensureStage(cfg.Logger, dl, "store", delivery.OutboundStage(cfg.Outbound))
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.gen = s.newGeneration(lim)
	return s
}

// newGeneration starts a go-smtp server with lim.
func (s *Server) newGeneration(lim Limits) *generation {
	g := &generation{lim: lim, handoff: newHandoffListener()}
	ss := smtp.NewServer(backend{s, g})
	ss.Domain = s.cfg.Hostname
	ss.TLSConfig = s.cfg.TLS
	ss.MaxMessageBytes = lim.MaxMessageBytes
	// Counted by the session instead, so refusals are logged and counted.
	ss.MaxRecipients = 0
	ss.MaxLineLength = lim.MaxLineLength
	ss.ReadTimeout = lim.ReadTimeout
	ss.WriteTimeout = lim.WriteTimeout
	ss.EnableSMTPUTF8 = true
	// RFC 3461: clients may ask which notices they want (NOTIFY), what
	// comes back (RET) and how to match them (ENVID, ORCPT); see dsn.go.
	ss.EnableDSN = true
	// go-smtp only offers AUTH over TLS unless this is set; the session
	// applies auth.PlaintextAllowed (TLS or loopback) itself.
	ss.AllowInsecureAuth = true
	ss.ErrorLog = errorLog{s.log}
	g.smtp = ss
	go ss.Serve(g.handoff)
	return g
}

// Limits returns the limits new connections get.
func (s *Server) Limits() Limits {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	return s.gen.lim
}

// SetLimits makes connections accepted from now on use lim (zero values
// take the defaults); connections already open keep theirs.
func (s *Server) SetLimits(lim Limits) {
	lim = lim.withDefaults()
	s.genMu.Lock()
	defer s.genMu.Unlock()
	if lim == s.gen.lim || s.isShutting() {
		return
	}
	s.conns.SetMaxConnsPerIP(lim.MaxConnsPerIP)
	old := s.gen
	s.gen = s.newGeneration(lim)
	// The old generation takes no new connections; its Serve returns
	// and its connections run on until they end (Shutdown waits).
	old.handoff.Close()
	s.oldGens = append(s.oldGens, old)
}

// ensureStage inserts st before the stage named before unless a stage of
// its name is there already.
func ensureStage(log *slog.Logger, dl *delivery.Deliverer, before string, st delivery.Stage) {
	for _, n := range dl.StageNames() {
		if n == st.Name() {
			return
		}
	}
	if err := dl.InsertBefore(before, st); err != nil {
		// The built-in stages always exist, so this does not happen.
		log.Error("cannot add delivery stage", "stage", st.Name(), "err", err)
	}
}

// errorLog routes go-smtp's internal error lines (handler errors, panics)
// to slog; they name the remote address in their text.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-smtp")
}
func (l errorLog) Println(v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...)), "component", "go-smtp")
}

// Serve accepts plain connections (STARTTLS offered when Config.TLS is
// set) until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(trackingListener{s.conns.Listen(ln, s.refuser(false)), s}, nil)
}

// ServeTLS accepts implicit-TLS connections (RFC 8314, port 465).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("smtpd: ServeTLS needs Config.TLS")
	}
	return s.serve(trackingListener{s.conns.Listen(ln, s.refuser(true)), s}, s.cfg.TLS)
}

// serve accepts from ln and hands each connection (wrapped in TLS when
// tlsConfig is set; go-smtp does the handshake) to the newest generation.
func (s *Server) serve(ln net.Listener, tlsConfig *tls.Config) error {
	if s.isShutting() {
		ln.Close()
		return smtp.ErrServerClosed
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isShutting() {
				return nil
			}
			return err
		}
		if tlsConfig != nil {
			c = tls.Server(c, tlsConfig)
		}
		s.genMu.Lock()
		g := s.gen
		s.genMu.Unlock()
		if !g.handoff.give(c) {
			// Replaced or shut down between the lock and here: the
			// client retries.
			c.Close()
		}
	}
}

func (s *Server) isShutting() bool {
	select {
	case <-s.conns.Closing():
		return true
	default:
		return false
	}
}

// Shutdown stops accepting, closes idle connections, lets every message
// transfer in progress finish and get its reply (then closes that
// connection), and returns when all connections are gone. If ctx ends
// first, the remaining connections are closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	// Idle connections (between commands or transactions) are closed:
	// nothing was promised to the client, who will retry.
	if err := s.conns.Shutdown(ctx); err != nil {
		s.cancel()
		return err
	}
	// Our connections are gone; go-smtp waits for its goroutines.
	s.genMu.Lock()
	gens := append([]*generation{s.gen}, s.oldGens...)
	s.genMu.Unlock()
	var errs []error
	for _, g := range gens {
		// Closed here too: go-smtp closes only the listeners its Serve
		// registered, and a new generation's may not have yet.
		g.handoff.Close()
		if err := g.smtp.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// track wraps a connection netserve took on; metrics and the log see it.
func (s *Server) track(nc *netserve.Conn) *trackedConn {
	tc := &trackedConn{Conn: nc, srv: s, cid: newCID(), ip: nc.Remote, readTimeout: s.Limits().ReadTimeout}
	s.m.Connections.WithLabelValues(s.proto).Inc()
	s.m.ActiveConnections.WithLabelValues(s.proto).Inc()
	s.log.Info("connection", "cid", tc.cid, "remote", tc.ip.String())
	return tc
}

// untrack runs once, when c closes.
func (s *Server) untrack(c *trackedConn) {
	s.m.ActiveConnections.WithLabelValues(s.proto).Dec()
	s.log.Info("connection closed", "cid", c.cid, "remote", c.ip.String())
}

// beginTransfer marks c busy for the length of a message transfer; it
// fails once Shutdown has begun.
func (s *Server) beginTransfer(c *trackedConn) bool {
	return c.Conn.Busy() == nil
}

// endTransfer marks c idle again; during shutdown the connection closes
// right after the reply to this message is written.
func (s *Server) endTransfer(c *trackedConn) {
	if c.Conn.Idle(0) != nil {
		c.closeAfterReply()
	}
}

// backend creates a session per EHLO/HELO (and again after STARTTLS)
// with the limits of its generation.
type backend struct {
	s   *Server
	gen *generation
}

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	tc := findTracked(c.Conn())
	if tc == nil {
		return nil, errors.New("smtpd: connection not accepted through smtpd")
	}
	_, isTLS := c.TLSConnectionState()
	sess := &session{
		srv:  b.s,
		lim:  b.gen.lim,
		tc:   tc,
		tls:  isTLS,
		helo: c.Hostname(),
		log:  b.s.log.With("cid", tc.cid, "remote", tc.ip.String()),
	}
	sess.log.Debug("session", "helo", sess.helo, "tls", isTLS)
	if b.s.cfg.Submission {
		return newSubmissionSession(sess, c), nil
	}
	return sess, nil
}

func findTracked(c net.Conn) *trackedConn {
	for range 3 {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
