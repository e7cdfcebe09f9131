// Package pop3d is mailport's POP3 server: RFC 1939 with the RFC 2449
// extension mechanism (CAPA, response codes, PIPELINING), STLS (RFC 2595),
// AUTH PLAIN (RFC 5034) and implicit TLS (RFC 8314). The maildrop is the
// account's INBOX.
package pop3d

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
	"mailport/internal/netserve"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// Defaults for Config fields left zero.
const (
	// RFC 1939 section 3: an autologout timer of at least 10 minutes.
	DefaultIdleTimeout = 10 * time.Minute
	// RFC 2449 section 4: command lines are at most 255 octets with CRLF.
	DefaultMaxLineLength = 255
	DefaultMaxConnsPerIP = 20
)

// handshakeTimeout bounds a TLS handshake (implicit TLS or STLS).
const handshakeTimeout = 30 * time.Second

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("pop3d: server closed")

// Config configures a Server.
type Config struct {
	// Hostname is named in the greeting.
	Hostname string
	// TLS enables STLS on plain listeners and is required by ServeTLS.
	TLS *tls.Config
	// Auth checks logins. When nil, an Authenticator over Store with its
	// own back-off Limiter is used.
	Auth   *auth.Authenticator
	Store  store.Store
	Blobs  *blob.Store
	Bus    *notify.Bus // optional: told about expunges at QUIT
	Logger *slog.Logger
	// MaxConnsPerIP bounds concurrent connections from one address.
	// It and IdleTimeout change with SetConnLimits.
	MaxConnsPerIP int
	// IdleTimeout is the autologout timer (RFC 1939 section 3).
	IdleTimeout time.Duration
	// MaxLineLength bounds a command line including its CRLF.
	MaxLineLength int
}

// Server is a POP3 server. Create it with NewServer.
type Server struct {
	cfg       Config
	log       *slog.Logger
	cidPrefix string
	cidSeq    atomic.Uint64
	// idleTimeout is Config.IdleTimeout as SetConnLimits last set it; a
	// session reads it once when it starts.
	idleTimeout atomic.Int64

	// remoteAddr tells the client address of a connection; tests replace
	// it to pose as a remote client while connecting over loopback.
	remoteAddr func(net.Conn) netip.Addr

	baseCtx context.Context
	cancel  context.CancelFunc

	// conns accepts within MaxConnsPerIP and tracks the connections for
	// Shutdown.
	conns *netserve.Server

	mu     sync.Mutex
	locked map[int64]bool // account IDs whose maildrop is in use
}

// NewServer returns a server for cfg, filling in defaults.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Auth == nil {
		cfg.Auth = &auth.Authenticator{Store: cfg.Store, Limiter: auth.NewLimiter(), Logger: cfg.Logger}
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("proto", "pop3"),
		cidPrefix:  hex.EncodeToString(b[:]),
		remoteAddr: netserve.RemoteIP,
		baseCtx:    ctx,
		cancel:     cancel,
		locked:     make(map[int64]bool),
	}
	s.conns = netserve.New(netserve.Config{
		RemoteAddr: func(c net.Conn) netip.Addr { return s.remoteAddr(c) },
		// Idle sessions' reads are interrupted so they say goodbye.
		InterruptIdle: true,
		Logger:        s.log,
	})
	s.SetConnLimits(cfg.MaxConnsPerIP, cfg.IdleTimeout)
	return s
}

// SetConnLimits changes the per-address connection limit and the
// autologout timer (zero or less: the defaults). The limit applies to
// connections accepted from now on, the timer to sessions started from
// now on; open sessions keep the timer they started with.
func (s *Server) SetConnLimits(maxPerIP int, idleTimeout time.Duration) {
	if maxPerIP <= 0 {
		maxPerIP = DefaultMaxConnsPerIP
	}
	if idleTimeout <= 0 {
		idleTimeout = DefaultIdleTimeout
	}
	s.conns.SetMaxConnsPerIP(maxPerIP)
	s.idleTimeout.Store(int64(idleTimeout))
}

// Serve accepts plain POP3 connections on ln (STLS is offered when
// Config.TLS is set) until Shutdown. It always returns a non-nil error;
// ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, false)
}

// ServeTLS accepts implicit-TLS connections (POP3S, RFC 8314 section 3.3)
// on ln, wrapping it with Config.TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("pop3d: ServeTLS needs Config.TLS")
	}
	return s.serve(tls.NewListener(ln, s.cfg.TLS), true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	err := s.conns.Serve(ln, s.sessionHandler(implicitTLS), s.refuse)
	if errors.Is(err, netserve.ErrServerClosed) {
		return ErrServerClosed
	}
	return fmt.Errorf("pop3d: %w", err)
}

// startSession runs a session on conn, accepted elsewhere, or turns it
// away when shutting down or over the per-address limit.
func (s *Server) startSession(conn net.Conn, implicitTLS bool) {
	s.conns.ServeConn(conn, s.sessionHandler(implicitTLS), s.refuse)
}

func (s *Server) isClosing() bool {
	select {
	case <-s.conns.Closing():
		return true
	default:
		return false
	}
}

// connLog is the logger of one connection, named by a connection id.
func (s *Server) connLog(remote netip.Addr) *slog.Logger {
	cid := s.cidPrefix + "-" + strconv.FormatUint(s.cidSeq.Add(1), 10)
	return s.log.With("cid", cid, "remote", remote.String())
}

func (s *Server) sessionHandler(implicitTLS bool) func(*netserve.Conn) {
	return func(nc *netserve.Conn) {
		newSession(s, nc, implicitTLS, s.connLog(nc.Remote)).run()
	}
}

// refuse turns a connection away: silently while shutting down, with
// -ERR when its address has too many connections.
func (s *Server) refuse(conn net.Conn, remote netip.Addr, reason error) {
	if errors.Is(reason, netserve.ErrShuttingDown) {
		conn.Close()
		return
	}
	s.connLog(remote).Info("pop3: too many connections from address", "limit", s.conns.MaxConnsPerIP())
	// The reply is best effort; with implicit TLS it also needs a
	// handshake, bounded by the deadline.
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	fmt.Fprintf(conn, "-ERR [SYS/TEMP] too many connections from your address\r\n")
	conn.Close()
}

// setIdle marks a session as waiting for a command (idle) or working on
// one. Entering idle sets the autologout deadline; it fails once the server
// is shutting down so that no new command is started. Shutdown interrupts
// idle sessions' reads, under the same lock (netserve), so none is missed.
func (s *Server) setIdle(ss *session, idle bool) error {
	var err error
	if idle {
		err = ss.nc.Idle(ss.idleTimeout)
	} else {
		err = ss.nc.Busy()
	}
	if errors.Is(err, netserve.ErrShuttingDown) {
		return errShuttingDown
	}
	return err
}

// lockMaildrop takes the in-process exclusive lock on an account's
// maildrop (RFC 1939 section 8 asks for one); false if already held.
func (s *Server) lockMaildrop(accountID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked[accountID] {
		return false
	}
	s.locked[accountID] = true
	return true
}

func (s *Server) unlockMaildrop(accountID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.locked, accountID)
}

// Shutdown stops the listeners, ends idle sessions at once and waits for
// sessions busy with a command to finish it. When ctx ends first, the
// remaining connections are closed and ctx's error returned. No session
// ended by Shutdown applies its deletions: only QUIT enters the UPDATE
// state (RFC 1939 section 6).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.conns.Shutdown(ctx)
	s.cancel()
	return err
}
