package dns

import "time"

// SetClock makes c read the time from now, so tests move past a TTL
// without sleeping.
func (c *Cache) SetClock(now func() time.Time) { c.now = now }

// Len is the number of answers c keeps, expired ones not yet dropped
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
