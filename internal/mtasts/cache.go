package mtasts

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"mailport/internal/dns"
	"mailport/internal/queue"
)

// Defaults of CacheConfig.
const (
	DefaultMaxEntries = 10000
	// DefaultRetryFailed is how long a failed fetch is not repeated for
	// the same record id, so a domain whose policy host is down costs one
	// fetch per interval rather than one per delivery attempt.
	DefaultRetryFailed = 5 * time.Minute
)

// CacheConfig configures a Cache. Resolver is required.
type CacheConfig struct {
	Resolver dns.Resolver
	// Client fetches policies; nil means NewHTTPClient(Resolver, nil).
	// It must not follow redirects (RFC 8461 section 3.3).
	Client *http.Client
	// MaxEntries bounds the domains held; default DefaultMaxEntries.
	MaxEntries int
	// RetryFailed: see DefaultRetryFailed.
	RetryFailed time.Duration
	// Path, when set, is the file the policies are kept in across
	// restarts (usually DIR/FileName; see persist.go).
	Path string
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Cache holds the policies of recipient domains (RFC 8461 section 5.1):
// a policy is used until max_age runs out; while cached, the domain's TXT
// record is still looked up on every use, and a changed id fetches the
// policy again. When the record cannot be found or the fetch fails, a
// cached policy that has not expired keeps applying; without one the
// domain is treated as having no policy (RFC 8461 section 3.3). The cache
// lives in memory and, with CacheConfig.Path, in a file it starts from
// when mailport starts, so a restart does not forget the policies an
// attacker must not be able to strip (RFC 8461 section 10.2).
type Cache struct {
	cfg CacheConfig
	// ctx bounds the fetches, which outlive the calls that start them;
	// Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	entries map[string]*entry
	flights map[string]*flight
	// saveMu orders the writes of the cache file (save).
	saveMu sync.Mutex
}

type entry struct {
	policy  *Policy // nil until a fetch succeeded
	id      string
	expires time.Time
	// failedID is the record id whose fetch last failed, retryAt when a
	// fetch for it may run again.
	failedID string
	retryAt  time.Time
}

// flight is a fetch in progress; concurrent deliveries to one domain
// wait for it instead of fetching the same policy again.
type flight struct {
	done   chan struct{}
	policy *Policy
	err    error
}

// NewCache returns a cache holding the unexpired policies saved in
// cfg.Path, or an empty one. A cache file that cannot be read is logged
// and replaced after the next fetch: it must not stop mail.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.Client == nil {
		cfg.Client = NewHTTPClient(cfg.Resolver, nil)
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.RetryFailed <= 0 {
		cfg.RetryFailed = DefaultRetryFailed
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{cfg: cfg, ctx: ctx, cancel: cancel, entries: map[string]*entry{}, flights: map[string]*flight{}}
	if cfg.Path != "" {
		if err := c.load(); err != nil {
			cfg.Logger.Error("MTA-STS policy cache not loaded; starting empty", "err", err)
		}
	}
	return c
}

// Close stops fetches in progress (their callers get no policy, or the
// cached one); a closed cache fetches nothing more.
func (c *Cache) Close() { c.cancel() }

// Get returns the policy that applies to mail for domain, or nil when the
// domain has none. The error is only ever the context's: every failure of
// discovery falls back as RFC 8461 section 3.3 says.
func (c *Cache) Get(ctx context.Context, domain string) (*Policy, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	rec, lerr := LookupRecord(ctx, c.cfg.Resolver, domain)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	now := c.cfg.Now()
	e := c.entries[domain]
	var cached *Policy
	if e != nil && e.policy != nil && now.Before(e.expires) {
		cached = e.policy
	}
	switch {
	case lerr != nil:
		c.mu.Unlock()
		// No record (or an unreadable one, or a failed lookup): a
		// policy cached earlier still applies until it expires, which
		// is what protects against an attacker who removes the record
		// (RFC 8461 section 10.2).
		if !errors.Is(lerr, ErrNoRecord) {
			c.cfg.Logger.Info("MTA-STS record lookup failed", "domain", domain, "err", lerr, "cached", cached != nil)
		}
		return cached, nil
	case cached != nil && e.id == rec.ID:
		c.mu.Unlock()
		return cached, nil
	case e != nil && e.failedID == rec.ID && now.Before(e.retryAt):
		c.mu.Unlock()
		return cached, nil
	}
	f, running := c.flights[domain]
	if !running {
		f = &flight{done: make(chan struct{})}
		c.flights[domain] = f
	}
	c.mu.Unlock()

	if !running {
		// The fetch runs under the cache's context and its own
		// deadline rather than the first caller's context, since its
		// result serves every waiter.
		go c.fetch(domain, rec.ID, f)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return cached, nil
	}
	return f.policy, nil
}

// fetch fetches the policy of domain for record id and stores the outcome.
func (c *Cache) fetch(domain, id string, f *flight) {
	ctx, cancel := context.WithTimeout(c.ctx, FetchTimeout)
	defer cancel()
	p, err := FetchPolicy(ctx, c.cfg.Client, domain)
	c.record(domain, id, p, err)
	if err == nil {
		// RFC 8461 section 10.2: the new policy must outlive a
		// restart; it is on disk before the waiters use it.
		c.save()
	}
	c.mu.Lock()
	f.policy, f.err = p, err
	delete(c.flights, domain)
	close(f.done)
	c.mu.Unlock()
}

// record stores the outcome of a fetch.
func (c *Cache) record(domain, id string, p *Policy, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	e := c.entries[domain]
	if e == nil {
		c.makeRoom(now)
		e = &entry{}
		c.entries[domain] = e
	}
	if err != nil {
		c.cfg.Logger.Warn("MTA-STS policy fetch failed", "domain", domain, "id", id, "err", err,
			"cached", e.policy != nil && now.Before(e.expires))
		e.failedID, e.retryAt = id, now.Add(c.cfg.RetryFailed)
	} else {
		c.cfg.Logger.Info("MTA-STS policy fetched", "domain", domain, "id", id, "mode", p.Mode, "mx", strings.Join(p.MX, " "), "max_age", p.MaxAge)
		*e = entry{policy: p, id: id, expires: now.Add(p.MaxAge)}
	}
}

// makeRoom drops entries until one more fits: first the expired and the
// failure-only ones, then the one that expires first. Called with c.mu.
func (c *Cache) makeRoom(now time.Time) {
	if len(c.entries) < c.cfg.MaxEntries {
		return
	}
	for d, e := range c.entries {
		if (e.policy == nil || !now.Before(e.expires)) && !now.Before(e.retryAt) {
			delete(c.entries, d)
		}
	}
	for len(c.entries) >= c.cfg.MaxEntries {
		var oldest string
		for d, e := range c.entries {
			if oldest == "" || e.expires.Before(c.entries[oldest].expires) {
				oldest = d
			}
		}
		delete(c.entries, oldest)
	}
}

// Len returns the number of domains held (for tests and metrics).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Policy implements queue.PolicySource: the cached policy in the queue's
// form, nil when the domain has none.
func (c *Cache) Policy(ctx context.Context, domain string) (*queue.Policy, error) {
	p, err := c.Get(ctx, domain)
	if err != nil || p == nil {
		return nil, err
	}
	return &queue.Policy{Mode: queue.PolicyMode(p.Mode), MX: append([]string(nil), p.MX...)}, nil
}

var _ queue.PolicySource = (*Cache)(nil)
