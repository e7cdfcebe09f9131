// Package imapd is mailport's IMAP server: IMAP4rev1 (RFC 3501) and
// IMAP4rev2 (RFC 9051) with the extensions real clients use, on the
// storage of the mail core. Package wire parses commands and encodes
// responses; this package holds the session, its view of the selected
// mailbox (selected.go) and one file per command.
package imapd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/delivery"
	"mailport/internal/metrics"
	"mailport/internal/netserve"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxLiteralSize  = 50 << 20
	DefaultMaxConnsPerIP   = 50
	DefaultMaxConnsPerUser = 20
	// RFC 9051 section 5.4: an inactivity autologout timer must be at
	// least 30 minutes.
	DefaultIdleTimeout = 30 * time.Minute
)

// handshakeTimeout bounds a TLS handshake (implicit TLS or STARTTLS).
const handshakeTimeout = 30 * time.Second

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("imapd: server closed")

// Config configures a Server.
type Config struct {
	// Hostname is named in the greeting.
	Hostname string
	// TLS enables STARTTLS on plain listeners and is required by ServeTLS.
	TLS *tls.Config
	// Auth checks logins; when nil an Authenticator over Store with its
	// own back-off Limiter is used.
	Auth  *auth.Authenticator
	Store store.Store
	Blobs *blob.Store
	// Bus wakes IDLE sessions and is told of the changes sessions make.
	// When nil the server uses a private bus.
	Bus *notify.Bus
	// Committer stores APPENDed messages (group commit). When nil the
	// server starts its own, closed by Shutdown.
	Committer *delivery.Committer
	// Parser parses an APPENDed message once (delivery.MIMEParser when nil).
	Parser  delivery.Parser
	Logger  *slog.Logger
	Metrics *metrics.Metrics // optional
	// MaxLiteralSize is the largest APPEND message (APPENDLIMIT, RFC 7889).
	MaxLiteralSize int64
	// MaxConnsPerIP and MaxConnsPerUser bound concurrent connections.
	// They and IdleTimeout change with SetConnLimits.
	MaxConnsPerIP   int
	MaxConnsPerUser int
	// IdleTimeout is the autologout timer, re-armed when a command
	// (IDLE included) starts.
	IdleTimeout time.Duration
}

// Server is an IMAP server. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	cidPrefix string
	cidSeq    atomic.Uint64
	// maxLiteral is the APPEND limit (Config.MaxLiteralSize), changed
	// by SetMaxLiteralSize; a session reads it once when it starts.
	maxLiteral atomic.Int64
	// idleTimeout is Config.IdleTimeout as SetConnLimits last set it; a
	// session reads it once when it starts.
	idleTimeout atomic.Int64
	ownCommit   bool

	// conns accepts within MaxConnsPerIP and tracks the connections for
	// Shutdown.
	conns *netserve.Server

	mu sync.Mutex
	// remoteAddr tells the client address of a connection; tests replace
	// it to pose as a remote client while connecting over loopback.
	remoteAddr func(net.Conn) netip.Addr
	perUser    map[int64]int
	maxPerUser int // Config.MaxConnsPerUser as SetConnLimits last set it

	// listings caches mailbox listings for SELECT (listing.go).
	listings listingCache
}

// New returns a server for cfg, filling in defaults.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Auth == nil {
		cfg.Auth = &auth.Authenticator{Store: cfg.Store, Limiter: auth.NewLimiter(), Logger: cfg.Logger}
	}
	if cfg.Bus == nil {
		cfg.Bus = notify.NewBus()
	}
	if cfg.Parser == nil {
		cfg.Parser = delivery.MIMEParser
	}
	if cfg.MaxLiteralSize <= 0 {
		cfg.MaxLiteralSize = DefaultMaxLiteralSize
	}
	s := &Server{
		log:        cfg.Logger.With("proto", "imap"),
		remoteAddr: netserve.RemoteIP,
		perUser:    make(map[int64]int),
	}
	s.conns = netserve.New(netserve.Config{
		RemoteAddr: func(c net.Conn) netip.Addr {
			s.mu.Lock()
			remoteAddr := s.remoteAddr
			s.mu.Unlock()
			return remoteAddr(c)
		},
		// Waiting sessions' reads are interrupted so they say BYE.
		InterruptIdle: true,
		Logger:        s.log,
	})
	if cfg.Committer == nil {
		cfg.Committer = delivery.NewCommitter(cfg.Store, cfg.Blobs, cfg.Bus, cfg.Logger)
		s.ownCommit = true
	}
	s.cfg = cfg
	s.maxLiteral.Store(cfg.MaxLiteralSize)
	s.SetConnLimits(cfg.MaxConnsPerIP, cfg.MaxConnsPerUser, cfg.IdleTimeout)
	var b [3]byte
	_, _ = rand.Read(b[:])
	s.cidPrefix = hex.EncodeToString(b[:])
	return s
}

// Serve accepts plain IMAP connections on ln (STARTTLS is offered when
// Config.TLS is set) until Shutdown. It always returns a non-nil error;
// ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, false)
}

// ServeTLS accepts implicit-TLS connections (IMAPS on port 993, RFC 8314
// section 3.3) on ln, using Config.TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("imapd: ServeTLS needs Config.TLS")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	err := s.conns.Serve(ln, s.sessionHandler(implicitTLS), s.refuser(implicitTLS))
	if errors.Is(err, netserve.ErrServerClosed) {
		return ErrServerClosed
	}
	return fmt.Errorf("imapd: %w", err)
}

// startSession runs a session on conn, accepted elsewhere, or turns it
// away when shutting down or over the per-address limit.
func (s *Server) startSession(conn net.Conn, implicitTLS bool) {
	s.conns.ServeConn(conn, s.sessionHandler(implicitTLS), s.refuser(implicitTLS))
}

// connLog is the logger of one connection, named by a connection id.
func (s *Server) connLog(remote netip.Addr) *slog.Logger {
	cid := s.cidPrefix + "-" + strconv.FormatUint(s.cidSeq.Add(1), 10)
	return s.log.With("cid", cid, "remote", remote.String())
}

func (s *Server) sessionHandler(implicitTLS bool) func(*netserve.Conn) {
	return func(nc *netserve.Conn) {
		if m := s.cfg.Metrics; m != nil {
			m.Connections.WithLabelValues("imap").Inc()
			m.ActiveConnections.WithLabelValues("imap").Inc()
		}
		ss := newSession(s, nc, implicitTLS, s.connLog(nc.Remote))
		defer s.endSession(ss)
		ss.run()
	}
}

// refuser turns a connection away: silently while shutting down, with
// BYE when its address has too many connections.
func (s *Server) refuser(implicitTLS bool) netserve.Refuser {
	return func(conn net.Conn, remote netip.Addr, reason error) {
		if m := s.cfg.Metrics; m != nil {
			m.Connections.WithLabelValues("imap").Inc()
		}
		if errors.Is(reason, netserve.ErrShuttingDown) {
			conn.Close()
			return
		}
		s.connLog(remote).Info("imap: too many connections from address", "limit", s.conns.MaxConnsPerIP())
		// Best effort; with implicit TLS the handshake is bounded by the
		// deadline too. RFC 9051 section 7.1.5: BYE at greeting.
		conn.SetDeadline(time.Now().Add(handshakeTimeout))
		if implicitTLS {
			conn = tls.Server(conn, s.cfg.TLS)
		}
		fmt.Fprintf(conn, "* BYE [UNAVAILABLE] too many connections from your address\r\n")
		conn.Close()
	}
}

func (s *Server) endSession(ss *session) {
	if m := s.cfg.Metrics; m != nil {
		m.ActiveConnections.WithLabelValues("imap").Dec()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.account.ID != 0 {
		if s.perUser[ss.account.ID]--; s.perUser[ss.account.ID] <= 0 {
			delete(s.perUser, ss.account.ID)
		}
	}
}

// claimUser counts an authenticated connection of account against
// MaxConnsPerUser; false when the account has too many already. limit is
// the one it was held to, for the log.
func (s *Server) claimUser(accountID int64) (ok bool, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[accountID] >= s.maxPerUser {
		return false, s.maxPerUser
	}
	s.perUser[accountID]++
	return true, s.maxPerUser
}

// setWaiting marks a session as waiting for the client between commands
// (or not). Entering the wait arms the autologout deadline; it fails once
// the server is shutting down so that no new command starts. Shutdown
// interrupts waiting sessions' reads under the same lock (netserve), so
// none is missed.
func (s *Server) setWaiting(ss *session, waiting bool) error {
	var err error
	if waiting {
		err = ss.nc.Idle(ss.idleTimeout)
	} else {
		err = ss.nc.Busy()
	}
	if errors.Is(err, netserve.ErrShuttingDown) {
		return errShuttingDown
	}
	return err
}

// SetMaxLiteralSize changes the largest APPEND message (0: the default)
// for sessions started from now on; open sessions keep theirs, which
// they already announced in APPENDLIMIT (RFC 7889).
func (s *Server) SetMaxLiteralSize(n int64) {
	if n <= 0 {
		n = DefaultMaxLiteralSize
	}
	s.maxLiteral.Store(n)
}

// SetConnLimits changes the connection limits per address and per user
// and the autologout timer (zero or less: the defaults). The limits apply
// to connections accepted and logins made from now on, which leaves those
// open over them; the timer applies to sessions started from now on.
func (s *Server) SetConnLimits(maxPerIP, maxPerUser int, idleTimeout time.Duration) {
	if maxPerIP <= 0 {
		maxPerIP = DefaultMaxConnsPerIP
	}
	if maxPerUser <= 0 {
		maxPerUser = DefaultMaxConnsPerUser
	}
	if idleTimeout <= 0 {
		idleTimeout = DefaultIdleTimeout
	}
	s.conns.SetMaxConnsPerIP(maxPerIP)
	s.mu.Lock()
	s.maxPerUser = maxPerUser
	s.mu.Unlock()
	s.idleTimeout.Store(int64(idleTimeout))
}

// Shutdown stops the listeners, says "* BYE" to sessions waiting for a
// command or IDLE, and waits for sessions busy with a command to finish
// it. When ctx ends first the remaining connections are closed and ctx's
// error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.conns.Shutdown(ctx)
	if err != nil {
		// The connections are closed; their sessions end soon and must
		// be done with the Committer before it closes.
		s.conns.Wait()
	}
	if s.ownCommit {
		s.cfg.Committer.Close()
	}
	return err
}
