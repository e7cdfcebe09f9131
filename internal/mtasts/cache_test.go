package mtasts

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"mailport/internal/dns"
	"mailport/internal/queue"
	"mailport/internal/testutil"
)

func policyText(mode, mx string, maxAge int) string {
	p := &Policy{Mode: Mode(mode), MX: []string{mx}, MaxAge: time.Duration(maxAge) * time.Second}
	return p.Text()
}

// The cache follows RFC 8461 sections 3.3 and 5.1 step by step: no record
// no policy; a fetched policy is reused while its id stays; a new id
// fetches again; a failed fetch keeps the cached policy (and is not
// repeated at once); a removed record or a failed lookup keeps the cached
// policy until max_age runs out.
func TestCacheLifecycle(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	clock := testutil.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	c := NewCache(CacheConfig{Resolver: zone, Client: h.client(), Now: clock.Now})
	ctx := context.Background()
	const d = "example.test"
	get := func(step string) *Policy {
		t.Helper()
		p, err := c.Get(ctx, d)
		if err != nil {
			t.Fatalf("%s: Get: %v", step, err)
		}
		return p
	}
	wantMX := func(step string, p *Policy, mx string) {
		t.Helper()
		if p == nil || len(p.MX) != 1 || p.MX[0] != mx {
			t.Fatalf("%s: policy %+v, want mx %s", step, p, mx)
		}
	}
	wantFetches := func(step string, n int) {
		t.Helper()
		if got := h.count(d); got != n {
			t.Fatalf("%s: %d fetches, want %d", step, got, n)
		}
	}

	h.set(d, 200, "text/plain", policyText("enforce", "mx1.example.test", 3600))
	if p := get("no record"); p != nil {
		t.Fatalf("no record: policy %+v", p)
	}
	wantFetches("no record", 0)

	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=one")
	wantMX("first fetch", get("first fetch"), "mx1.example.test")
	wantFetches("first fetch", 1)
	clock.Advance(30 * time.Minute)
	wantMX("same id", get("same id"), "mx1.example.test")
	wantFetches("same id", 1)

	h.set(d, 200, "text/plain", policyText("testing", "mx2.example.test", 3600))
	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=two")
	p := get("new id")
	wantMX("new id", p, "mx2.example.test")
	if p.Mode != ModeTesting {
		t.Fatalf("new id: mode %s", p.Mode)
	}
	wantFetches("new id", 2)

	h.set(d, 500, "text/plain", "oops")
	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=three")
	wantMX("failed fetch keeps the cached policy", get("failed fetch"), "mx2.example.test")
	wantFetches("failed fetch", 3)
	wantMX("failed fetch not repeated at once", get("failed again"), "mx2.example.test")
	wantFetches("failed fetch not repeated at once", 3)
	clock.Advance(DefaultRetryFailed)
	wantMX("failed fetch retried later", get("retry"), "mx2.example.test")
	wantFetches("failed fetch retried later", 4)

	zone.SetTXT("_mta-sts." + d) // record removed
	wantMX("record removed", get("record removed"), "mx2.example.test")
	zone.SetFail("_mta-sts."+d, errors.New("server failure"))
	wantMX("lookup failure", get("lookup failure"), "mx2.example.test")
	zone.SetFail("_mta-sts."+d, nil)

	clock.Advance(time.Hour) // past max_age of the id=two policy
	if p := get("expired, no record"); p != nil {
		t.Fatalf("expired policy still used: %+v", p)
	}

	// With a record again, an expired policy is fetched anew even when
	// the id did not change.
	h.set(d, 200, "text/plain", policyText("enforce", "mx3.example.test", 60))
	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=three")
	wantMX("refetch", get("refetch"), "mx3.example.test")
	clock.Advance(2 * time.Minute)
	h.set(d, 200, "text/plain", policyText("enforce", "mx4.example.test", 60))
	wantMX("refetch after max_age, same id", get("refetch same id"), "mx4.example.test")

	// A fetch failure with nothing cached means no policy (RFC 8461
	// section 3.3), not a delay.
	zone.SetTXT("_mta-sts.a.test", "v=STSv1; id=x")
	h.set("a.test", 404, "text/plain", "")
	if p, err := c.Get(ctx, "a.test"); p != nil || err != nil {
		t.Fatalf("failed fetch without cache: %+v, %v", p, err)
	}
}

// Policy gives the queue's form of the policy, and the queue's matching
// agrees with the package's.
func TestCacheQueueSource(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	zone.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	h.set("example.test", 200, "text/plain", goodPolicy)
	var src queue.PolicySource = NewCache(CacheConfig{Resolver: zone, Client: h.client()})
	p, err := src.Policy(context.Background(), "Example.TEST.")
	if err != nil || p == nil {
		t.Fatalf("Policy: %+v, %v", p, err)
	}
	if p.Mode != queue.ModeEnforce || !p.Matches("mx.example.test") || !p.Matches("a.mx.example.test") || p.Matches("other.test") {
		t.Fatalf("queue policy %+v", p)
	}
	if p, err := src.Policy(context.Background(), "other.test"); p != nil || err != nil {
		t.Fatalf("domain without policy: %+v, %v", p, err)
	}
	// A closed cache fetches nothing: a new domain has no policy.
	zone.SetTXT("_mta-sts.a.test", "v=STSv1; id=1")
	h.set("a.test", 200, "text/plain", goodPolicy)
	src.(*Cache).Close()
	if p, err := src.Policy(context.Background(), "a.test"); p != nil || err != nil || h.count("a.test") != 0 {
		t.Fatalf("after Close: %+v, %v, %d fetches", p, err, h.count("a.test"))
	}
	// A cancelled context is the only error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Policy(ctx, "example.test"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Concurrent deliveries to one domain all get the policy from one fetch:
// a caller either joins the fetch in progress or finds its result cached.
func TestCacheConcurrent(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	zone.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	release := make(chan struct{})
	h.setFunc("example.test", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(goodPolicy))
	})
	c := NewCache(CacheConfig{Resolver: zone, Client: h.client()})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Get(context.Background(), "example.test")
			if err == nil && (p == nil || p.Mode != ModeEnforce) {
				err = errors.New("no enforce policy")
			}
			errs <- err
		}()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := h.count("example.test"); n != 1 {
		t.Fatalf("%d fetches", n)
	}
}

// The cache holds at most MaxEntries domains.
func TestCacheBounded(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		zone.SetTXT("_mta-sts."+d, "v=STSv1; id=1")
		h.set(d, 200, "text/plain", policyText("enforce", "mx."+d, 3600))
	}
	c := NewCache(CacheConfig{Resolver: zone, Client: h.client(), MaxEntries: 2})
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		if p, err := c.Get(context.Background(), d); err != nil || p == nil || p.MX[0] != "mx."+d {
			t.Fatalf("%s: %+v, %v", d, p, err)
		}
	}
	if n := c.Len(); n != 2 {
		t.Fatalf("cache holds %d domains, want 2", n)
	}
}
