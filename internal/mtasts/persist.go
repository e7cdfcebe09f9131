package mtasts

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"mailport/internal/atomicfile"
)

// The policy cache is kept on disk as well as in memory. RFC 8461 section
// 10.2: policy discovery is what an active attacker can block (drop the
// TXT answer, fail the HTTPS fetch); only a policy the sender already
// holds defeats that. A cache that started empty after every restart
// would reopen the window each time mailport restarts, so the cache is
// written to one small JSON file in the data directory after every
// fetched policy, and read back when the cache is made. A file rather
// than the queue's SQLite: the policies are a few kilobytes replaced
// whole, and this package stays free of the queue's storage.

// FileName is the cache file's usual name inside the data directory.
const FileName = "mta-sts-policies.json"

// savedFile is the file's content.
type savedFile struct {
	Version  int           `json:"version"`
	Policies []savedPolicy `json:"policies"`
}

// savedPolicy is one domain's cached policy: the policy file as fetched
// (Policy.Text), the TXT record id it was fetched for, and when it
// expires (fetch time + max_age).
type savedPolicy struct {
	Domain  string    `json:"domain"`
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
	Policy  string    `json:"policy"`
}

const savedVersion = 1

// load fills the cache from cfg.Path: policies that have not expired,
// at most MaxEntries. A missing file is an empty cache; an unreadable
// one is reported and the cache starts empty (it is rewritten after the
// next fetch), since mail must still go out.
func (c *Cache) load() error {
	data, err := os.ReadFile(c.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mtasts: read policy cache: %w", err)
	}
	var f savedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("mtasts: policy cache %s: %w", c.cfg.Path, err)
	}
	if f.Version != savedVersion {
		return fmt.Errorf("mtasts: policy cache %s: unknown version %d", c.cfg.Path, f.Version)
	}
	now := c.cfg.Now()
	for _, s := range f.Policies {
		domain := strings.ToLower(strings.TrimSuffix(s.Domain, "."))
		if domain == "" || !now.Before(s.Expires) || len(c.entries) >= c.cfg.MaxEntries {
			continue
		}
		p, err := ParsePolicy(s.Policy)
		if err != nil {
			c.cfg.Logger.Warn("MTA-STS cached policy does not parse", "domain", domain, "err", err)
			continue
		}
		// An expiry beyond what the policy's max_age allows from now
		// means the clock went back or the file was edited: trust the
		// policy for its max_age at most.
		expires := s.Expires
		if limit := now.Add(p.MaxAge); expires.After(limit) {
			expires = limit
		}
		c.entries[domain] = &entry{policy: p, id: s.ID, expires: expires}
	}
	return nil
}

// save writes the policies held now to cfg.Path. saveMu orders the
// writes, so a slower one never replaces a newer snapshot.
func (c *Cache) save() {
	if c.cfg.Path == "" {
		return
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	now := c.cfg.Now()
	f := savedFile{Version: savedVersion, Policies: []savedPolicy{}}
	for d, e := range c.entries {
		if e.policy != nil && now.Before(e.expires) {
			f.Policies = append(f.Policies, savedPolicy{Domain: d, ID: e.id, Expires: e.expires, Policy: e.policy.Text()})
		}
	}
	c.mu.Unlock()
	data, err := json.Marshal(f)
	if err == nil {
		err = atomicfile.WriteFile(c.cfg.Path, data, 0o600)
	}
	if err != nil {
		c.cfg.Logger.Error("MTA-STS policy cache not saved", "path", c.cfg.Path, "err", err)
	}
}
