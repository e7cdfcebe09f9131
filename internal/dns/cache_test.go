package dns_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
	"mailport/internal/testutil"
)

// newCache starts a DNS server for zone answering with ttl, and a Cache
// of the real resolver asking it.
func newCache(t *testing.T, zone *dns.Mock, ttl uint32, size int) (*dns.Cache, *dnstest.Server, *testutil.Clock) {
	t.Helper()
	srv := startServer(t, zone)
	srv.SetTTL(ttl)
	c := dns.NewCache(dns.NewResolver([]string{srv.Addr}), size)
	clock := testutil.NewClock(time.Unix(1_700_000_000, 0))
	c.SetClock(clock.Now)
	return c, srv, clock
}

// queried runs lookup and reports how many queries reached the server.
func queried(t *testing.T, srv *dnstest.Server, lookup func() error) int64 {
	t.Helper()
	before := srv.Queries()
	if err := lookup(); err != nil {
		t.Fatal(err)
	}
	return srv.Queries() - before
}

func TestCacheHitsWithinTTL(t *testing.T) {
	// Longer than 512 bytes: answered over TCP after a truncated UDP
	// answer, whose TTL counts all the same.
	long := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 600)
	zone := &dns.Mock{}
	zone.AddMX("example.test", "mx1.example.test", 10)
	zone.AddIP("mx1.example.test", "127.0.0.2", "::1")
	zone.AddTXT("example.test", "v=spf1 -all")
	zone.AddTXT("s1._domainkey.example.test", long)
	zone.AddPTR("127.0.0.2", "mx1.example.test")
	c, srv, clock := newCache(t, zone, 300, 100)
	ctx := t.Context()

	lookups := map[string]func() error{
		"MX": func() error {
			mxs, err := c.LookupMX(ctx, "example.test")
			if err == nil && (len(mxs) != 1 || mxs[0].Host != "mx1.example.test.") {
				err = fmt.Errorf("MX %v", mxs)
			}
			return err
		},
		"IP": func() error {
			ips, err := c.LookupIP(ctx, "mx1.example.test")
			if err == nil && len(ips) != 2 {
				err = fmt.Errorf("IP %v", ips)
			}
			return err
		},
		"TXT": func() error {
			txts, err := c.LookupTXT(ctx, "example.test")
			if err == nil && !slices.Equal(txts, []string{"v=spf1 -all"}) {
				err = fmt.Errorf("TXT %q", txts)
			}
			return err
		},
		"long TXT over TCP": func() error {
			txts, err := c.LookupTXT(ctx, "s1._domainkey.example.test")
			if err == nil && !slices.Equal(txts, []string{long}) {
				err = fmt.Errorf("long TXT: %d records", len(txts))
			}
			return err
		},
		"PTR": func() error {
			names, err := c.LookupAddr(ctx, "127.0.0.2")
			if err == nil && !slices.Equal(names, []string{"mx1.example.test."}) {
				err = fmt.Errorf("PTR %q", names)
			}
			return err
		},
	}
	for name, lookup := range lookups {
		t.Run(name, func(t *testing.T) {
			if n := queried(t, srv, lookup); n == 0 {
				t.Fatal("the first lookup asked no server")
			}
			clock.Advance(299 * time.Second)
			if n := queried(t, srv, lookup); n != 0 {
				t.Errorf("a lookup within the TTL made %d queries, want 0", n)
			}
			clock.Advance(time.Second)
			if n := queried(t, srv, lookup); n == 0 {
				t.Error("a lookup after the TTL asked no server")
			}
		})
	}

	t.Run("names compared without case or root dot", func(t *testing.T) {
		if err := lookups["TXT"](); err != nil {
			t.Fatal(err)
		}
		if n := queried(t, srv, func() error { _, err := c.LookupTXT(ctx, "EXAMPLE.test."); return err }); n != 0 {
			t.Errorf("made %d queries, want 0", n)
		}
	})
	t.Run("callers own their slices", func(t *testing.T) {
		mxs, err := c.LookupMX(ctx, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		mxs[0].Host = "changed."
		mxs[0] = nil
		again, err := c.LookupMX(ctx, "example.test")
		if err != nil || again[0] == nil || again[0].Host != "mx1.example.test." {
			t.Fatalf("the cached answer changed with the caller's copy: %v, %v", again, err)
		}
	})
}

func TestCacheCapsTTL(t *testing.T) {
	zone := &dns.Mock{}
	zone.AddTXT("example.test", "v=spf1 -all")
	c, srv, clock := newCache(t, zone, 7*24*3600, 100)
	lookup := func() error { _, err := c.LookupTXT(t.Context(), "example.test"); return err }
	queried(t, srv, lookup)
	clock.Advance(time.Hour - time.Second)
	if n := queried(t, srv, lookup); n != 0 {
		t.Errorf("within the hour: %d queries, want 0", n)
	}
	clock.Advance(time.Second)
	if n := queried(t, srv, lookup); n == 0 {
		t.Error("a week's TTL was kept past the hour")
	}
}

func TestCacheNegative(t *testing.T) {
	zone := &dns.Mock{}
	zone.AddIP("mx.example.test", "127.0.0.2") // a name without TXT: NODATA
	c, srv, clock := newCache(t, zone, 60, 100)
	ctx := t.Context()

	for _, name := range []string{"_dmarc.example.test", "mx.example.test"} {
		t.Run(name, func(t *testing.T) {
			lookup := func() error {
				if _, err := c.LookupTXT(ctx, name); !errors.Is(err, dns.ErrNotFound) {
					return fmt.Errorf("got %v, want ErrNotFound", err)
				}
				return nil
			}
			if n := queried(t, srv, lookup); n == 0 {
				t.Fatal("the first lookup asked no server")
			}
			// RFC 2308: the answer holds for the SOA's negative TTL, even
			// when the record appears meanwhile.
			zone.AddTXT(name, "v=DMARC1; p=reject")
			clock.Advance(59 * time.Second)
			if n := queried(t, srv, lookup); n != 0 {
				t.Errorf("within the negative TTL: %d queries, want 0", n)
			}
			clock.Advance(time.Second)
			txts, err := c.LookupTXT(ctx, name)
			if err != nil || !slices.Equal(txts, []string{"v=DMARC1; p=reject"}) {
				t.Errorf("after the negative TTL: %q, %v; want the new record", txts, err)
			}
		})
	}

	t.Run("capped at 15 minutes", func(t *testing.T) {
		srv.SetTTL(24 * 3600)
		lookup := func() error {
			if _, err := c.LookupMX(ctx, "nowhere.test"); !errors.Is(err, dns.ErrNotFound) {
				return fmt.Errorf("got %v, want ErrNotFound", err)
			}
			return nil
		}
		queried(t, srv, lookup)
		clock.Advance(15*time.Minute - time.Second)
		if n := queried(t, srv, lookup); n != 0 {
			t.Errorf("within 15 minutes: %d queries, want 0", n)
		}
		clock.Advance(time.Second)
		if n := queried(t, srv, lookup); n == 0 {
			t.Error("a day's negative TTL was kept past 15 minutes")
		}
	})
}

func TestCacheKeepsNoErrorsNorTTLZero(t *testing.T) {
	zone := &dns.Mock{}
	zone.SetFail("servfail.test", errors.New("broken"))
	zone.AddTXT("example.test", "v=spf1 -all")
	c, srv, _ := newCache(t, zone, 60, 100)
	ctx := t.Context()

	for range 2 {
		before := srv.Queries()
		if _, err := c.LookupTXT(ctx, "servfail.test"); err == nil || errors.Is(err, dns.ErrNotFound) {
			t.Fatalf("SERVFAIL: got %v, want a temporary error", err)
		}
		if srv.Queries() == before {
			t.Fatal("a SERVFAIL answer was kept")
		}
	}

	// RFC 1035 section 3.2.1: TTL 0 is for the transaction in progress.
	srv.SetTTL(0)
	lookup := func() error { _, err := c.LookupTXT(ctx, "example.test"); return err }
	for range 2 {
		if n := queried(t, srv, lookup); n == 0 {
			t.Fatal("an answer with TTL 0 was kept")
		}
	}
}

func TestCacheSizeBound(t *testing.T) {
	zone := &dns.Mock{}
	for i := range 5 {
		zone.AddTXT(fmt.Sprintf("n%d.test", i), "v=spf1 -all")
	}
	c, srv, _ := newCache(t, zone, 300, 3)
	lookup := func(i int) func() error {
		return func() error { _, err := c.LookupTXT(t.Context(), fmt.Sprintf("n%d.test", i)); return err }
	}
	for i := range 5 {
		queried(t, srv, lookup(i))
		if c.Len() > 3 {
			t.Fatalf("%d answers kept, want at most 3", c.Len())
		}
	}
	// n2..n4 are kept; n0 and n1, the least recently used, went.
	if n := queried(t, srv, lookup(4)); n != 0 {
		t.Errorf("the newest answer was dropped")
	}
	if n := queried(t, srv, lookup(0)); n == 0 {
		t.Errorf("the oldest answer was kept beyond the bound")
	}
}

// blockingResolver answers TXT lookups once released, counting them.
type blockingResolver struct {
	dns.Mock
	release chan struct{}
	calls   atomic.Int32
}

func (b *blockingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	b.calls.Add(1)
	<-b.release
	return []string{"v=spf1 -all"}, nil
}

func TestCacheSharesConcurrentLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &blockingResolver{release: make(chan struct{})}
		c := dns.NewCache(next, 100)

		const callers = 20
		var wg sync.WaitGroup
		results := make([][]string, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() { results[i], errs[i] = c.LookupTXT(context.Background(), "Example.test") })
		}
		// One caller whose context ends stops waiting; the others do not.
		ctx, cancel := context.WithCancel(context.Background())
		var cancelledErr error
		wg.Go(func() { _, cancelledErr = c.LookupTXT(ctx, "example.test.") })
		synctest.Wait()
		if n := next.calls.Load(); n != 1 {
			t.Fatalf("%d concurrent lookups of one name made %d queries, want 1", callers+1, n)
		}
		cancel()
		synctest.Wait()
		if !errors.Is(cancelledErr, context.Canceled) {
			t.Errorf("cancelled caller: got %v, want context.Canceled", cancelledErr)
		}
		close(next.release)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || !slices.Equal(results[i], []string{"v=spf1 -all"}) {
				t.Fatalf("caller %d: %q, %v", i, results[i], errs[i])
			}
		}
		// The answer came without a TTL (no DNS message), so it is not
		// kept: the next lookup asks again.
		if _, err := c.LookupTXT(context.Background(), "example.test"); err != nil {
			t.Fatal(err)
		}
		if n := next.calls.Load(); n != 2 {
			t.Errorf("an answer without a TTL was kept (%d queries, want 2)", n)
		}
	})
}

// TestCacheThroughSystemResolver: without [dns] servers the Go resolver
// answers localhost from /etc/hosts, which has no TTL; the Cache passes
// the answer on without keeping it.
func TestCacheThroughSystemResolver(t *testing.T) {
	c := dns.NewCache(dns.NewResolver(nil), 10)
	ips, err := c.LookupIP(t.Context(), "localhost")
	if err != nil {
		t.Skipf("this machine does not resolve localhost: %v", err)
	}
	if !slices.ContainsFunc(ips, net.IP.IsLoopback) {
		t.Fatalf("localhost resolved to %v", ips)
	}
	if c.Len() != 0 {
		t.Errorf("an /etc/hosts answer was kept")
	}
}
