// Package notify is the change bus: the store's writers publish what changed
// in a mailbox, and IMAP/POP3 sessions (and later DAV sync) subscribe per
// account so an idling client learns of a delivery at once. In-process now;
// a PostgreSQL LISTEN/NOTIFY bus can implement the same type later.
package notify

import "sync"

// Kind says what happened.
type Kind int

const (
	MessageAdded Kind = iota
	FlagsChanged
	MessagesExpunged
	MailboxesChanged // created, renamed or deleted folders
)

// Event is one change. Subscribers re-read the store from their last
// MODSEQ; the event only says that (and where) they should look.
type Event struct {
	AccountID int64
	MailboxID int64
	Kind      Kind
	ModSeq    uint64
}

// Bus fans events out to subscribers of an account.
type Bus struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
}

// Subscription receives events for one account on C. The channel is
// buffered; when a slow subscriber's buffer is full further events are
// dropped for it, which is safe because a single pending event already
// tells it to re-read the store.
type Subscription struct {
	C         chan Event
	bus       *Bus
	accountID int64
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: make(map[int64]map[*Subscription]struct{})}
}

// Subscribe starts receiving events for accountID. Call Close when done.
func (b *Bus) Subscribe(accountID int64) *Subscription {
	s := &Subscription{C: make(chan Event, 16), bus: b, accountID: accountID}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.subs[accountID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		b.subs[accountID] = m
	}
	m[s] = struct{}{}
	return s
}

// Close stops the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.subs[s.accountID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.subs, s.accountID)
		}
	}
}

// Publish delivers ev to every subscriber of ev.AccountID without blocking.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[ev.AccountID] {
		select {
		case s.C <- ev:
		default:
		}
	}
}
