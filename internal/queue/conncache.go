package queue

import (
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Limits of the connection cache. Like Postfix's connection cache
// (smtp_connection_cache_time_limit, smtp_connection_reuse_time_limit),
// an idle connection is kept only briefly: long enough for the next queued
// message to the same host, short enough not to hold the remote server's
// resources.
const (
	maxIdleConns = 32              // idle connections kept in all
	connIdleTime = 2 * time.Second // an idle connection is closed after this
	connMaxAge   = 5 * time.Minute // no transaction starts on an older one
	connMaxUses  = 100             // transactions on one connection
	connQuitWait = 5 * time.Second // bound on QUIT when closing
)

// connKey names what a connection was opened for: a cached one is only
// used for the same host, address, port, TLS mode and login.
type connKey struct {
	host string
	ip   string
	port int
	mode tlsPolicy
	// login is the smarthost user the session authenticated as ("" for
	// none), so a changed login opens a new session.
	login string
}

// smtpConn is an open SMTP session after EHLO (and STARTTLS, AUTH).
type smtpConn struct {
	c      *smtp.Client
	raw    net.Conn // the TCP connection, closed to interrupt
	tls    bool
	opened time.Time
	uses   int
}

// quit ends the session politely, bounded in time, and closes it.
func (s *smtpConn) quit() {
	s.raw.SetDeadline(time.Now().Add(connQuitWait))
	if err := s.c.Quit(); err != nil {
		s.c.Close()
	}
	s.raw.Close()
}

// connCache keeps connections idle between two messages to the same
// destination, so a burst of queued messages for one host (a busy
// recipient domain, the smarthost) pays for connect, greeting, EHLO and
// TLS once rather than per message.
type connCache struct {
	// idleTime is connIdleTime; tests lengthen it.
	idleTime time.Duration

	mu     sync.Mutex
	idle   map[connKey][]*idleConn
	n      int
	closed bool
}

type idleConn struct {
	sc    *smtpConn
	timer *time.Timer
}

func newConnCache() *connCache {
	return &connCache{idleTime: connIdleTime, idle: map[connKey][]*idleConn{}}
}

// get takes an idle connection for key, or nil.
func (cc *connCache) get(key connKey) *smtpConn {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	list := cc.idle[key]
	if len(list) == 0 {
		return nil
	}
	ic := list[len(list)-1]
	cc.remove(key, ic)
	ic.timer.Stop()
	return ic.sc
}

// remove drops ic from the idle list of key (under mu); it reports whether
// ic was there.
func (cc *connCache) remove(key connKey, ic *idleConn) bool {
	list := cc.idle[key]
	for i, x := range list {
		if x == ic {
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(cc.idle, key)
			} else {
				cc.idle[key] = list
			}
			cc.n--
			return true
		}
	}
	return false
}

// put keeps sc for the next message to key, or closes it when the cache
// is full or closed, or sc is worn out.
func (cc *connCache) put(key connKey, sc *smtpConn, now time.Time) {
	cc.mu.Lock()
	if cc.closed || cc.n >= maxIdleConns || sc.uses >= connMaxUses || now.Sub(sc.opened) >= connMaxAge {
		cc.mu.Unlock()
		sc.quit()
		return
	}
	ic := &idleConn{sc: sc}
	ic.timer = time.AfterFunc(cc.idleTime, func() {
		cc.mu.Lock()
		ok := cc.remove(key, ic)
		cc.mu.Unlock()
		if ok {
			sc.quit()
		}
	})
	cc.idle[key] = append(cc.idle[key], ic)
	cc.n++
	cc.mu.Unlock()
}

// close ends every idle connection and keeps no more.
func (cc *connCache) close() {
	cc.mu.Lock()
	cc.closed = true
	var all []*smtpConn
	for key, list := range cc.idle {
		for _, ic := range list {
			ic.timer.Stop()
			all = append(all, ic.sc)
		}
		delete(cc.idle, key)
	}
	cc.n = 0
	cc.mu.Unlock()
	for _, sc := range all {
		sc.quit()
	}
}
