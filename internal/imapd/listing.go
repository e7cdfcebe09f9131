package imapd

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"mailport/internal/store"
)

// maxCachedMessages bounds the messages the listing cache holds over all
// mailboxes (a listed message is about 200 bytes: some 50 MB at most);
// least recently selected mailboxes are dropped first, and a mailbox
// larger than the whole cache is listed from the store every time.
const maxCachedMessages = 250_000

// listingCache keeps the listing of recently selected mailboxes (what
// store.Store.ListMessages returns) so that a SELECT costs one
// ChangesSince query for what changed since the last SELECT of that
// mailbox, by any session, instead of reading every row again. The
// zero value is ready to use.
//
// A listing's slice is never changed in place once handed out: every
// SELECT gets the cache's current slice to share, and an update builds a
// new one. The session's view (selected.msgs) keeps the per-session
// sequence numbering of DESIGN.md section 3 and copies the slice before
// its own syncs first change it (selected.own). Nothing changes the Flags
// slices or BlobID strings in place either (a flag change replaces the
// slice).
type listingCache struct {
	mu      sync.Mutex
	entries map[int64]*listing // by mailbox id
	total   int                // messages counted over entries
	tick    uint64
}

// listing is the cached listing of one mailbox.
type listing struct {
	mu          sync.Mutex
	loaded      bool
	uidValidity uint32
	msgs        []store.Message // UID order
	// modseq is a HIGHESTMODSEQ the listing reflects at least: the
	// next update asks for the changes after it.
	modseq uint64

	used    uint64 // listingCache.tick of the last use (LRU)
	counted int    // len(msgs) as counted in listingCache.total
}

// messages returns the listing of mb, current as of a moment after the
// call started (so at least as new as mb.HighestModSeq, which the caller
// read before). The slice is shared: the caller must copy it before
// changing it.
func (c *listingCache) messages(ctx context.Context, st store.Store, mb store.Mailbox) ([]store.Message, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[int64]*listing)
	}
	e := c.entries[mb.ID]
	if e == nil {
		e = &listing{}
		c.entries[mb.ID] = e
	}
	c.tick++
	e.used = c.tick
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.update(ctx, st, mb); err != nil {
		c.drop(mb.ID, e)
		return nil, err
	}
	out := e.msgs
	c.account(mb.ID, e)
	return out, nil
}

// update brings the listing up to date: a full listing the first time
// (or after the mailbox was recreated under the same id with a new
// UIDVALIDITY), the changes since e.modseq otherwise.
func (e *listing) update(ctx context.Context, st store.Store, mb store.Mailbox) error {
	if !e.loaded || e.uidValidity != mb.UIDValidity {
		msgs, err := st.ListMessages(ctx, mb.ID)
		if err != nil {
			return fmt.Errorf("list mailbox %d: %w", mb.ID, err)
		}
		// mb was read before the listing, so the listing reflects at
		// least mb's HIGHESTMODSEQ; changes between the two come again
		// with the next update and are applied idempotently.
		e.loaded, e.uidValidity, e.msgs, e.modseq = true, mb.UIDValidity, msgs, mb.HighestModSeq
		return nil
	}
	ch, err := st.ChangesSince(ctx, mb.ID, e.modseq)
	if err != nil {
		return fmt.Errorf("changes of mailbox %d: %w", mb.ID, err)
	}
	e.apply(ch)
	return nil
}

// apply puts changes into the listing, in a new slice (the old one may
// be shared by sessions). UIDs are never reused within a UIDVALIDITY, so
// an expunged UID can only be removed and a changed message replaces or
// adds the one with its UID; applying changes twice leaves the same
// listing.
func (e *listing) apply(ch store.Changes) {
	if len(ch.Expunged) > 0 || len(ch.Changed) > 0 {
		e.msgs = slices.Clone(e.msgs)
	}
	if len(ch.Expunged) > 0 {
		gone := make(map[uint32]struct{}, len(ch.Expunged))
		for _, u := range ch.Expunged {
			gone[u] = struct{}{}
		}
		e.msgs = slices.DeleteFunc(e.msgs, func(m store.Message) bool {
			_, ok := gone[m.UID]
			return ok
		})
	}
	for _, m := range ch.Changed {
		if n := len(e.msgs); n == 0 || e.msgs[n-1].UID < m.UID {
			e.msgs = append(e.msgs, m)
			continue
		}
		i, found := slices.BinarySearchFunc(e.msgs, m.UID, func(x store.Message, uid uint32) int {
			return cmpUID(x.UID, uid)
		})
		if found {
			e.msgs[i] = m
		} else {
			e.msgs = slices.Insert(e.msgs, i, m)
		}
	}
	if ch.HighestModSeq > e.modseq {
		e.modseq = ch.HighestModSeq
	}
}

func cmpUID(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// account records the size of e and drops least recently used listings
// while the cache holds more than maxCachedMessages; a listing larger
// than that is not kept at all.
func (c *listingCache) account(id int64, e *listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] != e {
		return // dropped meanwhile
	}
	c.total += len(e.msgs) - e.counted
	e.counted = len(e.msgs)
	if e.counted > maxCachedMessages {
		c.total -= e.counted
		delete(c.entries, id)
		return
	}
	for c.total > maxCachedMessages {
		var oldID int64
		var old *listing
		for k, x := range c.entries {
			if x != e && (old == nil || x.used < old.used) {
				oldID, old = k, x
			}
		}
		if old == nil {
			return
		}
		c.total -= old.counted
		delete(c.entries, oldID)
	}
}

// drop forgets the listing of a mailbox (it failed to update, e.g. the
// mailbox is gone).
func (c *listingCache) drop(id int64, e *listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] == e {
		c.total -= e.counted
		delete(c.entries, id)
	}
}
