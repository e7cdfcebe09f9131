package dns

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Caps on how long an answer is kept, whatever TTL it came with: a
// record changed at its origin is seen within the hour, and a record
// just published (after NXDOMAIN or NODATA) within 15 minutes; RFC 2308
// section 5 suggests one to three hours for negative answers, less here
// because an admin publishing SPF, DKIM or DMARC is waiting for it.
const (
	maxPositiveTTL = time.Hour
	maxNegativeTTL = 15 * time.Minute
)

// Cache is a Resolver that keeps the answers of another for as long as
// their TTLs allow, so each inbound message does not repeat the same SPF,
// DKIM and DMARC lookups, nor each delivery attempt its MX lookups.
//
//   - Records are kept for their TTL (the least in the answer), at most
//     maxPositiveTTL.
//   - NXDOMAIN and NODATA (ErrNotFound) are kept for the negative TTL of
//     RFC 2308 (the SOA in the answer), at most maxNegativeTTL; a negative
//     answer without an SOA is not kept.
//   - Errors (SERVFAIL, timeouts) are never kept; the next lookup asks
//     again.
//   - An answer whose TTL the Cache could not see (/etc/hosts, a Mock) is
//     not kept.
//   - At most maxEntries answers are kept; the least recently used goes
//     first.
//   - Concurrent lookups of the same name and type share one query.
//
// Callers own the slices they get; the cached ones are never handed out.
type Cache struct {
	next       Resolver
	maxEntries int
	now        func() time.Time
	flight     singleflight.Group

	mu      sync.Mutex
	entries map[string]*list.Element // of *cacheEntry, by key
	lru     *list.List               // most recently used first
}

type cacheEntry struct {
	key     string
	value   any // the lookup's slice; nil with err
	err     error
	expires time.Time
}

var _ Resolver = (*Cache)(nil)

// NewCache returns a Cache in front of next keeping at most maxEntries
// answers (at least one).
func NewCache(next Resolver, maxEntries int) *Cache {
	return &Cache{
		next:       next,
		maxEntries: max(maxEntries, 1),
		now:        time.Now,
		entries:    map[string]*list.Element{},
		lru:        list.New(),
	}
}

func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return cachedLookup(ctx, c, "MX", name, c.next.LookupMX, cloneMX)
}

func (c *Cache) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	return cachedLookup(ctx, c, "A/AAAA", name, c.next.LookupIP, cloneIPs)
}

func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return cachedLookup(ctx, c, "TXT", name, c.next.LookupTXT, slices.Clone[[]string])
}

func (c *Cache) LookupAddr(ctx context.Context, ip string) ([]string, error) {
	return cachedLookup(ctx, c, "PTR", ip, c.next.LookupAddr, slices.Clone[[]string])
}

// cachedLookup answers from the cache, or asks next once for all the
// callers that want the same name and type at the same time.
func cachedLookup[T any](ctx context.Context, c *Cache, kind, name string, ask func(context.Context, string) (T, error), clone func(T) T) (T, error) {
	key := kind + " " + Normalize(name)
	if e := c.get(key); e != nil {
		v, _ := e.value.(T)
		return clone(v), e.err
	}
	// The query runs without the first caller's cancellation, since the
	// others wait for it too; the resolver's own timeouts end it. Each
	// caller stops waiting when its own context ends.
	done := c.flight.DoChan(key, func() (any, error) {
		qctx, rec := withTTLRecorder(context.WithoutCancel(ctx))
		v, err := ask(qctx, name)
		c.put(key, v, err, rec)
		return v, err
	})
	select {
	case res := <-done:
		v, _ := res.Val.(T)
		return clone(v), res.Err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("dns: lookup %s %s: %w", kind, name, ctx.Err())
	}
}

// get returns the live entry for key, or nil.
func (c *Cache) get(key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, key)
		return nil
	}
	c.lru.MoveToFront(el)
	return e
}

// put keeps the outcome of one lookup for as long as rec allows.
func (c *Cache) put(key string, value any, err error, rec *ttlRecorder) {
	secs, ok := rec.result()
	if !ok || secs == 0 {
		// TTL 0: use the answer only for the lookup that asked (RFC 1035
		// section 3.2.1).
		return
	}
	ttl := time.Duration(secs) * time.Second
	switch {
	case err == nil:
		ttl = min(ttl, maxPositiveTTL)
	case errors.Is(err, ErrNotFound):
		ttl = min(ttl, maxNegativeTTL)
		value = nil
	default:
		return
	}
	e := &cacheEntry{key: key, value: value, err: err, expires: c.now().Add(ttl)}

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(e)
	for c.lru.Len() > c.maxEntries {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}

func cloneMX(in []*net.MX) []*net.MX {
	if in == nil {
		return nil
	}
	out := make([]*net.MX, len(in))
	for i, mx := range in {
		cp := *mx
		out[i] = &cp
	}
	return out
}

func cloneIPs(in []net.IP) []net.IP {
	if in == nil {
		return nil
	}
	out := make([]net.IP, len(in))
	for i, ip := range in {
		out[i] = slices.Clone(ip)
	}
	return out
}
