package auth

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"
)

// Back-off policy for failed authentications from one client.
const (
	// freeFailures is how many failures cost nothing: people mistype.
	freeFailures = 2
	// firstDelay is the delay after the first failure beyond the free
	// ones; each further failure doubles it, up to maxDelay.
	firstDelay = time.Second
	maxDelay   = 30 * time.Second
	// failureTTL is how long a client's failures are remembered after its
	// last one.
	failureTTL = 15 * time.Minute
	// defaultMaxEntries bounds the memory the limiter uses; an attacker
	// with many addresses evicts the oldest entries, never grows the map.
	defaultMaxEntries = 100_000
)

// Limiter slows down clients that fail to authenticate: after a few
// failures every further attempt from the same client waits longer
// (1s, 2s, 4s, ... up to 30s). A success or 15 minutes without failures
// forgets the client. It is safe for concurrent use; one Limiter is shared
// by all protocol servers so that switching from IMAP to POP3 gains an
// attacker nothing.
//
// Clients are keyed by IPv4 address, or by the /64 prefix of an IPv6
// address: a single IPv6 host usually controls a whole /64, so keying by
// full address would let it pick a fresh key for every attempt. Loopback
// is not exempt: a local proxy or webmail that relays many users should
// itself be the one throttled when it relays bad passwords.
type Limiter struct {
	mu         sync.Mutex
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	maxEntries int
	entries    map[netip.Addr]*list.Element
	// lru holds *limiterEntry ordered by last failure, oldest first, so
	// both expiry and eviction look only at the front.
	lru *list.List
}

type limiterEntry struct {
	key         netip.Addr
	failures    int
	lastFailure time.Time
}

// NewLimiter returns a Limiter using the real clock.
func NewLimiter() *Limiter {
	return newLimiter(time.Now, sleepContext, defaultMaxEntries)
}

// newLimiter lets tests inject a clock, a sleep and a smaller bound.
func newLimiter(now func() time.Time, sleep func(context.Context, time.Duration) error, maxEntries int) *Limiter {
	return &Limiter{
		now:        now,
		sleep:      sleep,
		maxEntries: maxEntries,
		entries:    make(map[netip.Addr]*list.Element),
		lru:        list.New(),
	}
}

// limiterKey maps an address to the client it stands for (see Limiter).
func limiterKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// expireLocked drops entries whose last failure is older than failureTTL.
// The list is ordered by last failure, so it stops at the first live one.
func (l *Limiter) expireLocked(now time.Time) {
	for e := l.lru.Front(); e != nil; e = l.lru.Front() {
		ent := e.Value.(*limiterEntry)
		if now.Sub(ent.lastFailure) < failureTTL {
			return
		}
		l.lru.Remove(e)
		delete(l.entries, ent.key)
	}
}

// Delay is how long to wait before answering a failed attempt from ip, or
// before accepting its next attempt: 0 for the first freeFailures
// failures, then doubling from firstDelay up to maxDelay.
func (l *Limiter) Delay(ip netip.Addr) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireLocked(l.now())
	e, ok := l.entries[limiterKey(ip)]
	if !ok {
		return 0
	}
	return delayFor(e.Value.(*limiterEntry).failures)
}

// delayFor is the back-off after n failures.
func delayFor(n int) time.Duration {
	if n <= freeFailures {
		return 0
	}
	d := firstDelay
	for i := freeFailures + 1; i < n; i++ {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return d
}

// Failure records a failed attempt from ip.
func (l *Limiter) Failure(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expireLocked(now)
	key := limiterKey(ip)
	if e, ok := l.entries[key]; ok {
		ent := e.Value.(*limiterEntry)
		// Stop counting once the cap is reached so the count cannot
		// overflow however long an attack runs.
		if delayFor(ent.failures) < maxDelay {
			ent.failures++
		}
		ent.lastFailure = now
		l.lru.MoveToBack(e)
		return
	}
	for len(l.entries) >= l.maxEntries {
		oldest := l.lru.Front()
		l.lru.Remove(oldest)
		delete(l.entries, oldest.Value.(*limiterEntry).key)
	}
	l.entries[key] = l.lru.PushBack(&limiterEntry{key: key, failures: 1, lastFailure: now})
}

// Success forgets the failures of ip.
func (l *Limiter) Success(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := limiterKey(ip)
	if e, ok := l.entries[key]; ok {
		l.lru.Remove(e)
		delete(l.entries, key)
	}
}

// Wait sleeps for Delay(ip), returning early with ctx's error if ctx ends
// first.
func (l *Limiter) Wait(ctx context.Context, ip netip.Addr) error {
	d := l.Delay(ip)
	if d <= 0 {
		return ctx.Err()
	}
	return l.sleep(ctx, d)
}

// sleepContext sleeps d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
