package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock plus a sleep that records instead of
// sleeping, so limiter tests never depend on real time.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	slept  []time.Duration
	cancel bool // sleep reports context.Canceled, as if ctx ended
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if c.cancel {
		return context.Canceled
	}
	return ctx.Err()
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func testLimiter(max int) (*Limiter, *fakeClock) {
	c := newFakeClock()
	return newLimiter(c.now, c.sleep, max), c
}

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("192.0.2.2")
)

func TestLimiterGrowth(t *testing.T) {
	l, _ := testLimiter(10)
	want := []time.Duration{0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("Delay before any failure = %v", d)
	}
	for i, w := range want {
		l.Failure(ipA)
		if d := l.Delay(ipA); d != w {
			t.Fatalf("after %d failures Delay = %v; want %v", i+1, d, w)
		}
	}
	// Many more failures stay capped and do not overflow.
	for range 1000 {
		l.Failure(ipA)
	}
	if d := l.Delay(ipA); d != maxDelay {
		t.Fatalf("after many failures Delay = %v; want %v", d, maxDelay)
	}
	if d := l.Delay(ipB); d != 0 {
		t.Fatalf("other client Delay = %v; want 0", d)
	}
}

func TestLimiterSuccessResets(t *testing.T) {
	l, _ := testLimiter(10)
	for range 5 {
		l.Failure(ipA)
	}
	if l.Delay(ipA) == 0 {
		t.Fatal("no delay after 5 failures")
	}
	l.Success(ipA)
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("Delay after Success = %v; want 0", d)
	}
	l.Failure(ipA)
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("Delay after Success and one failure = %v; want 0", d)
	}
}

func TestLimiterExpiry(t *testing.T) {
	l, c := testLimiter(10)
	for range 4 {
		l.Failure(ipA)
	}
	c.advance(failureTTL - time.Second)
	if d := l.Delay(ipA); d != 2*time.Second {
		t.Fatalf("Delay just before expiry = %v; want 2s", d)
	}
	// A new failure restarts the 15 minutes.
	l.Failure(ipA)
	c.advance(failureTTL - time.Second)
	if d := l.Delay(ipA); d != 4*time.Second {
		t.Fatalf("Delay after refreshed failure = %v; want 4s", d)
	}
	c.advance(time.Second)
	if d := l.Delay(ipA); d != 0 {
		t.Fatalf("Delay after expiry = %v; want 0", d)
	}
	if n := len(l.entries); n != 0 {
		t.Fatalf("%d entries kept after expiry", n)
	}
}

func TestLimiterCapEvictsOldest(t *testing.T) {
	l, c := testLimiter(3)
	addrs := []netip.Addr{
		netip.MustParseAddr("198.51.100.1"),
		netip.MustParseAddr("198.51.100.2"),
		netip.MustParseAddr("198.51.100.3"),
		netip.MustParseAddr("198.51.100.4"),
	}
	for _, a := range addrs[:3] {
		for range 3 {
			l.Failure(a)
		}
		c.advance(time.Second)
	}
	// Refresh the first so the second becomes the oldest.
	l.Failure(addrs[0])
	l.Failure(addrs[3])
	if n := len(l.entries); n != 3 {
		t.Fatalf("%d entries; want cap 3", n)
	}
	if d := l.Delay(addrs[1]); d != 0 {
		t.Fatalf("oldest entry not evicted: Delay = %v", d)
	}
	for _, a := range []netip.Addr{addrs[0], addrs[2]} {
		if l.Delay(a) == 0 {
			t.Fatalf("entry %v evicted; want kept", a)
		}
	}
}

func TestLimiterKeys(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		same bool
	}{
		{"ipv4 mapped", "192.0.2.7", "::ffff:192.0.2.7", true},
		{"ipv6 same /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"ipv6 other /64", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"ipv6 zone", "fe80::1%eth0", "fe80::1", true},
		{"loopback not exempt", "127.0.0.1", "127.0.0.1", true},
		{"ipv4 neighbours", "192.0.2.7", "192.0.2.8", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _ := testLimiter(10)
			for range 3 {
				l.Failure(netip.MustParseAddr(c.a))
			}
			got := l.Delay(netip.MustParseAddr(c.b)) != 0
			if got != c.same {
				t.Fatalf("failures from %s delay %s: %v; want %v", c.a, c.b, got, c.same)
			}
		})
	}
}

func TestLimiterWait(t *testing.T) {
	l, c := testLimiter(10)
	if err := l.Wait(context.Background(), ipA); err != nil {
		t.Fatalf("Wait without failures: %v", err)
	}
	if s := c.sleeps(); len(s) != 0 {
		t.Fatalf("Wait without failures slept %v", s)
	}
	for range 4 {
		l.Failure(ipA)
	}
	if err := l.Wait(context.Background(), ipA); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if s := c.sleeps(); len(s) != 1 || s[0] != 2*time.Second {
		t.Fatalf("Wait slept %v; want [2s]", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, ipA); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with cancelled ctx = %v; want context.Canceled", err)
	}
}

func TestSleepContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleepContext on cancelled ctx = %v", err)
	}
	if err := sleepContext(context.Background(), time.Nanosecond); err != nil {
		t.Fatalf("sleepContext = %v", err)
	}
}

func TestPlaintextAllowed(t *testing.T) {
	cases := []struct {
		tls    bool
		remote netip.Addr
		want   bool
	}{
		{false, netip.MustParseAddr("127.0.0.1"), true},
		{false, netip.MustParseAddr("127.3.4.5"), true},
		{false, netip.MustParseAddr("::1"), true},
		{false, netip.MustParseAddr("::ffff:127.0.0.1"), true},
		{false, netip.MustParseAddr("192.0.2.1"), false},
		{false, netip.MustParseAddr("2001:db8::1"), false},
		{false, netip.Addr{}, false},
		{true, netip.MustParseAddr("192.0.2.1"), true},
		{true, netip.Addr{}, true},
	}
	for _, c := range cases {
		if got := PlaintextAllowed(c.tls, c.remote); got != c.want {
			t.Errorf("PlaintextAllowed(%v, %v) = %v; want %v", c.tls, c.remote, got, c.want)
		}
	}
}
