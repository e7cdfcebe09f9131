package mtasts

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailport/internal/dns"
	"mailport/internal/queue"
	"mailport/internal/testutil"
)

// A policy fetched before a restart still applies after it when the
// attacker blocks the HTTPS fetch (RFC 8461 section 10.2): the restarted
// cache reads it from disk, uses it without a fetch while the record's id
// stays, keeps it when a new id's fetch fails, refreshes it when a new
// id's fetch works (section 5.1), and drops it at max_age.
func TestCacheSurvivesRestart(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	clock := testutil.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), FileName)
	open := func() *Cache {
		c := NewCache(CacheConfig{Resolver: zone, Client: h.client(), Now: clock.Now, Path: path})
		t.Cleanup(c.Close)
		return c
	}
	ctx := context.Background()
	const d = "example.test"
	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=one")
	h.set(d, 200, "text/plain", policyText("enforce", "mx1.example.test", 86400))
	if p, err := open().Get(ctx, d); err != nil || p == nil || p.Mode != ModeEnforce {
		t.Fatalf("first fetch: %+v, %v", p, err)
	}

	// Restart; the policy host now fails as an attacker would make it.
	h.set(d, 500, "text/plain", "blocked")
	clock.Advance(time.Hour)
	c := open()
	if c.Len() != 1 {
		t.Fatalf("restarted cache holds %d domains, want 1", c.Len())
	}
	var src queue.PolicySource = c
	p, err := src.Policy(ctx, d)
	if err != nil || p == nil || p.Mode != queue.ModeEnforce || !p.Matches("mx1.example.test") || p.Matches("evil.test") {
		t.Fatalf("after restart, same id: %+v, %v", p, err)
	}
	if n := h.count(d); n != 1 {
		t.Fatalf("%d fetches, want 1: an unchanged id needs none", n)
	}
	zone.SetTXT("_mta-sts."+d, "v=STSv1; id=two")
	if p, err := c.Get(ctx, d); err != nil || p == nil || p.Mode != ModeEnforce || p.MX[0] != "mx1.example.test" {
		t.Fatalf("after restart, new id, fetch blocked: %+v, %v", p, err)
	}
	if n := h.count(d); n != 2 {
		t.Fatalf("%d fetches, want 2: a new id is fetched", n)
	}

	// A new id whose fetch works replaces the policy, on disk too.
	h.set(d, 200, "text/plain", policyText("testing", "mx2.example.test", 7200))
	clock.Advance(DefaultRetryFailed)
	if p, err := c.Get(ctx, d); err != nil || p == nil || p.Mode != ModeTesting {
		t.Fatalf("refresh: %+v, %v", p, err)
	}
	h.set(d, 500, "text/plain", "blocked")
	if p, err := open().Get(ctx, d); err != nil || p == nil || p.Mode != ModeTesting || p.MX[0] != "mx2.example.test" {
		t.Fatalf("after a second restart: %+v, %v", p, err)
	}

	// Past max_age the saved policy is not loaded.
	clock.Advance(2 * time.Hour)
	if n := open().Len(); n != 0 {
		t.Fatalf("expired policy loaded: %d domains", n)
	}
}

// A damaged cache file leaves an empty cache, and the next fetch
// replaces the file.
func TestCacheDamagedFile(t *testing.T) {
	h := startPolicyHost(t)
	zone := &dns.Mock{}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewCache(CacheConfig{Resolver: zone, Client: h.client(), Path: path})
	defer c.Close()
	if c.Len() != 0 {
		t.Fatalf("damaged file gave %d domains", c.Len())
	}
	zone.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	h.set("example.test", 200, "text/plain", goodPolicy)
	if p, err := c.Get(context.Background(), "example.test"); err != nil || p == nil {
		t.Fatalf("Get: %+v, %v", p, err)
	}
	c2 := NewCache(CacheConfig{Resolver: zone, Client: h.client(), Path: path})
	defer c2.Close()
	if c2.Len() != 1 {
		t.Fatalf("file not rewritten: %d domains after reload", c2.Len())
	}
}
