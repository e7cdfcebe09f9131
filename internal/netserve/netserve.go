// Package netserve is the connection plumbing the protocol servers
// (imapd, pop3d, smtpd) share: accepting with a per-IP connection limit,
// the set of live connections, and a graceful Shutdown that ends idle
// connections at once and waits for busy ones until a context ends.
//
// What a client is told stays with the protocol: a connection turned
// away is handed to the caller's Refuser ("421 ...", "* BYE ...",
// "-ERR ..."), and a protocol that wants to say goodbye to an idle client
// at shutdown asks for its read to be interrupted rather than the
// connection closed (Config.InterruptIdle).
package netserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

var (
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("netserve: server closed")
	// ErrTooManyConns is the reason given to a Refuser for a connection
	// over Config.MaxConnsPerIP.
	ErrTooManyConns = errors.New("too many connections from your address")
	// ErrShuttingDown is the reason given to a Refuser for a connection
	// accepted after Shutdown began, and what Conn.Idle and Conn.Busy
	// return from then on.
	ErrShuttingDown = errors.New("server shutting down")
)

// Config configures a Server.
type Config struct {
	// MaxConnsPerIP bounds the live connections from one client address;
	// zero or less is no limit.
	MaxConnsPerIP int
	// RemoteAddr tells a connection's client address (RemoteIP when nil).
	// It is called once per accepted connection.
	RemoteAddr func(net.Conn) netip.Addr
	// InterruptIdle makes Shutdown end an idle connection by expiring its
	// read deadline, so that the protocol's pending read returns and it
	// can say goodbye; otherwise Shutdown closes idle connections.
	InterruptIdle bool
	// Logger gets the accept retries; nothing is logged when nil.
	Logger *slog.Logger
}

// A Refuser turns away a connection that was accepted but not taken on:
// reason is ErrTooManyConns or ErrShuttingDown. It runs in a goroutine of
// its own, must close c, and should bound what it writes with a deadline.
type Refuser func(c net.Conn, remote netip.Addr, reason error)

// Server tracks the listeners and connections of one protocol service.
type Server struct {
	cfg Config
	log *slog.Logger

	closingCh chan struct{} // closed when Shutdown begins
	drained   chan struct{} // closed once shutting down and no connection is left

	mu        sync.Mutex
	closing   bool
	isDrained bool
	listeners map[closer]struct{}
	conns     map[*Conn]struct{}
	perIP     map[netip.Addr]int
}

// closer is a listener Shutdown closes: a raw one passed to Serve or a
// *Listener from Listen.
type closer interface{ Close() error }

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.RemoteAddr == nil {
		cfg.RemoteAddr = RemoteIP
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:       cfg,
		log:       log,
		closingCh: make(chan struct{}),
		drained:   make(chan struct{}),
		listeners: make(map[closer]struct{}),
		conns:     make(map[*Conn]struct{}),
		perIP:     make(map[netip.Addr]int),
	}
}

// RemoteIP is c's client IP address, unmapped from IPv4-in-IPv6; the zero
// Addr when c has no IP peer (net.Pipe).
func RemoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// Conn is a connection taken on by a Server. It counts against its
// address's limit until it is released: when the handler given to Serve or
// ServeConn returns, or, for a connection from a Listener, when it is
// closed.
type Conn struct {
	net.Conn
	// Remote is the client address the limit is counted against.
	Remote netip.Addr

	srv            *Server
	releaseOnClose bool
	idle           bool // guarded by srv.mu
}

// Idle marks c as waiting for its client, which Shutdown may end at once.
// A timeout above zero arms c's read deadline, under the lock Shutdown
// takes to interrupt idle reads, so no interruption is lost. Once
// Shutdown has begun it returns ErrShuttingDown and nothing changes.
func (c *Conn) Idle(timeout time.Duration) error {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrShuttingDown
	}
	c.idle = true
	if timeout > 0 {
		return c.Conn.SetReadDeadline(time.Now().Add(timeout))
	}
	return nil
}

// Busy marks c as working on a request that Shutdown waits for. Once
// Shutdown has begun it returns ErrShuttingDown, so no new work starts.
func (c *Conn) Busy() error {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrShuttingDown
	}
	c.idle = false
	return nil
}

// Close closes the connection; a connection from a Listener is released.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	if c.releaseOnClose {
		c.srv.release(c)
	}
	return err
}

// SetMaxConnsPerIP changes Config.MaxConnsPerIP for the connections
// accepted from now on; those open stay open even when over it.
func (s *Server) SetMaxConnsPerIP(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.MaxConnsPerIP = n
}

// MaxConnsPerIP is the per-address limit new connections meet, for the
// log line of a Refuser.
func (s *Server) MaxConnsPerIP() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.MaxConnsPerIP
}

// track takes c on, or says why not.
func (s *Server) track(c net.Conn, remote netip.Addr, idle, releaseOnClose bool) (*Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, ErrShuttingDown
	}
	if s.cfg.MaxConnsPerIP > 0 && s.perIP[remote] >= s.cfg.MaxConnsPerIP {
		return nil, ErrTooManyConns
	}
	s.perIP[remote]++
	tc := &Conn{Conn: c, Remote: remote, srv: s, idle: idle, releaseOnClose: releaseOnClose}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// release gives c's slot back; releasing twice is harmless.
func (s *Server) release(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[c.Remote]--; s.perIP[c.Remote] <= 0 {
		delete(s.perIP, c.Remote)
	}
	s.checkDrainedLocked()
}

func (s *Server) checkDrainedLocked() {
	if s.closing && len(s.conns) == 0 && !s.isDrained {
		s.isDrained = true
		close(s.drained)
	}
}

// Serve accepts connections on ln until Shutdown, handing each one taken
// on to handle in a goroutine of its own and each one turned away to
// refuse. Temporary accept errors (out of file descriptors and the like)
// are retried with a back-off rather than giving up the listener. Serve
// always returns a non-nil error: ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener, handle func(*Conn), refuse Refuser) error {
	if !s.addListener(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.removeListener(ln)

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed, retrying", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		s.ServeConn(c, handle, refuse)
	}
}

func isTemporary(err error) bool {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// ServeConn takes on one accepted connection as Serve does: handle runs in
// a goroutine and c is closed and released when it returns; or refuse
// gets c. A connection handed to handle starts busy: the handler marks it
// Idle when it waits for its client.
func (s *Server) ServeConn(c net.Conn, handle func(*Conn), refuse Refuser) {
	remote := s.cfg.RemoteAddr(c)
	tc, err := s.track(c, remote, false, false)
	if err != nil {
		go refuse(c, remote, err)
		return
	}
	go func() {
		defer s.release(tc)
		defer tc.Conn.Close()
		handle(tc)
	}()
}

// Listener is a net.Listener whose Accept applies a Server's limit, for
// servers that run their own accept loop (go-smtp).
type Listener struct {
	net.Listener
	srv    *Server
	refuse Refuser

	closeOnce sync.Once
	closeErr  error
}

// Listen wraps ln: Accept returns *Conn connections, which start idle and
// are released when closed, and hands those turned away to refuse.
// Shutdown closes the listener.
func (s *Server) Listen(ln net.Listener, refuse Refuser) *Listener {
	l := &Listener{Listener: ln, srv: s, refuse: refuse}
	if !s.addListener(l) {
		l.Close()
	}
	return l
}

// Accept waits for the next connection taken on.
func (l *Listener) Accept() (net.Conn, error) {
	return l.AcceptConn()
}

// AcceptConn is Accept with the concrete type.
func (l *Listener) AcceptConn() (*Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		remote := l.srv.cfg.RemoteAddr(c)
		tc, err := l.srv.track(c, remote, true, true)
		if err == nil {
			return tc, nil
		}
		go l.refuse(c, remote, err)
	}
}

// Close closes the listener once; later calls return the first result, so
// that Shutdown and the server owning the accept loop may both close it.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.Listener.Close()
		l.srv.removeListener(l)
	})
	return l.closeErr
}

func (s *Server) addListener(l closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) removeListener(l closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Closing is closed when Shutdown begins, for sessions that wait on
// something other than a read (IMAP IDLE).
func (s *Server) Closing() <-chan struct{} {
	return s.closingCh
}

// Count tells how many connections are live and how many of them busy.
func (s *Server) Count() (open, busy int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !c.idle {
			busy++
		}
	}
	return len(s.conns), busy
}

// Shutdown closes the listeners, ends idle connections (closed, or their
// read interrupted with Config.InterruptIdle) and waits until every
// connection is released; busy ones end when their handler or owner is
// done. When ctx ends first, the remaining connections are closed and
// ctx's error is returned without waiting for them; Wait does that.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.closingCh)
	}
	listeners := make([]closer, 0, len(s.listeners))
	for l := range s.listeners {
		listeners = append(listeners, l)
	}
	for c := range s.conns {
		if !c.idle {
			continue
		}
		if s.cfg.InterruptIdle {
			c.Conn.SetReadDeadline(time.Now())
		} else {
			// The raw connection: its owner still closes (and with a
			// Listener releases) it.
			c.Conn.Close()
		}
	}
	s.checkDrainedLocked()
	s.mu.Unlock()
	// Outside the lock: a Listener's Close takes it to unregister.
	for _, l := range listeners {
		l.Close()
	}

	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Conn.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// Wait blocks until Shutdown has begun and every connection is released.
func (s *Server) Wait() {
	<-s.drained
}
