package access

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"
)

// RateLimit is a token bucket: PerSecond requests on average, Burst at
// once.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// RateLimitError is a refused request; RetryAfter is when one more request
// would be allowed (the HTTP Retry-After header, RFC 9110 section 10.2.3).
type RateLimitError struct {
	Key        string
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many requests; retry after %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrTooManyRequests) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrTooManyRequests }

// RateLimiter keeps one token bucket per key (a client address, a token).
// It holds at most maxKeys buckets; past that the least recently used is
// dropped, which at worst gives that key a fresh burst.
type RateLimiter struct {
	mu      sync.Mutex
	limit   RateLimit
	now     func() time.Time
	max     int
	buckets map[string]*list.Element
	lru     *list.List // *bucket, least recently used first
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter on the real clock.
func NewRateLimiter(l RateLimit, maxKeys int) *RateLimiter {
	return newRateLimiter(l, maxKeys, time.Now)
}

func newRateLimiter(l RateLimit, maxKeys int, now func() time.Time) *RateLimiter {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if l.PerSecond <= 0 {
		l.PerSecond = 1
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	return &RateLimiter{limit: l, now: now, max: maxKeys, buckets: map[string]*list.Element{}, lru: list.New()}
}

// Allow takes one token from key's bucket, or returns a *RateLimitError.
func (r *RateLimiter) Allow(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var b *bucket
	if el, ok := r.buckets[key]; ok {
		b = el.Value.(*bucket)
		r.lru.MoveToBack(el)
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = math.Min(float64(r.limit.Burst), b.tokens+el*r.limit.PerSecond)
		}
		b.last = now
	} else {
		for r.lru.Len() >= r.max {
			old := r.lru.Front()
			delete(r.buckets, old.Value.(*bucket).key)
			r.lru.Remove(old)
		}
		b = &bucket{key: key, tokens: float64(r.limit.Burst), last: now}
		r.buckets[key] = r.lru.PushBack(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / r.limit.PerSecond * float64(time.Second))
	return &RateLimitError{Key: key, RetryAfter: wait}
}
