package smtpd

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"mailport/internal/delivery"
	"mailport/internal/directory"
)

// maxListedSenders bounds the allowed addresses named in a refusal.
const maxListedSenders = 20

// allowedSenders lists the addresses login may send as (issue 4): its own
// address, its sender addresses (mailport sender add), and the same local
// parts at every domain alias of those addresses' domains. All in
// canonical form (directory.NormalizeAddress), as the directory keeps them.
func allowedSenders(ctx context.Context, dir *directory.Service, login string) ([]string, error) {
	set := map[string]bool{strings.ToLower(login): true}
	extra, err := dir.ListSenders(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("sender addresses of %s: %w", login, err)
	}
	for _, s := range extra {
		set[strings.ToLower(s.Address)] = true
	}
	aliases, err := dir.ListDomainAliases(ctx)
	if err != nil {
		return nil, fmt.Errorf("domain aliases: %w", err)
	}
	byDomain := map[string][]string{}
	for _, a := range aliases {
		byDomain[strings.ToLower(a.Domain)] = append(byDomain[strings.ToLower(a.Domain)], strings.ToLower(a.Alias))
	}
	out := make([]string, 0, len(set))
	for addr := range set {
		out = append(out, addr)
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			continue
		}
		for _, alias := range byDomain[addr[at+1:]] {
			out = append(out, addr[:at+1]+alias)
		}
	}
	sort.Strings(out)
	return out, nil
}

// senderAllowed reports whether addr is among allowed (canonical
// addresses), ignoring case and whether its domain is written in U-labels
// (an SMTPUTF8 envelope or an RFC 6532 From field) or A-labels.
func senderAllowed(allowed []string, addr string) bool {
	canon, err := directory.NormalizeAddress(addr)
	if err != nil {
		return false
	}
	return slices.Contains(allowed, canon)
}

// senderRefusal is the 553 5.7.1 answer (RFC 5321 section 4.2.3: 553
// "mailbox name not allowed"; RFC 3463 5.7.1: not authorized) naming the
// addresses the user may use.
func senderRefusal(what, addr string, allowed []string) *delivery.Error {
	list := allowed
	more := ""
	if len(list) > maxListedSenders {
		list, more = list[:maxListedSenders], fmt.Sprintf(" and %d more", len(allowed)-maxListedSenders)
	}
	return &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1},
		Message: fmt.Sprintf("%s <%s> is not yours; you may send as: %s%s", what, addr, strings.Join(list, ", "), more)}
}

// fromStage checks, at the end of DATA, that the From field of a
// submitted message names only addresses its user may send as: the
// envelope sender was checked at MAIL, but readers see From.
type fromStage struct {
	dir *directory.Service
}

func (fromStage) Name() string { return "sender" }

func (s fromStage) Process(ctx context.Context, d *delivery.Delivery) error {
	login := d.Envelope.AuthUser
	if login == "" {
		return nil
	}
	hdr, err := d.HeaderSection(ctx)
	if err != nil {
		return err
	}
	allowed, err := allowedSenders(ctx, s.dir, login)
	if err != nil {
		return delivery.ErrorLocal(err)
	}
	froms, err := delivery.FromAddresses(hdr)
	if err != nil {
		// RFC 5322 section 3.6: From is required; a message without a
		// readable one cannot be checked and is refused.
		return &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1},
			Message: fmt.Sprintf("the message needs a From field with your address; you may send as: %s", strings.Join(allowed, ", ")), Err: err}
	}
	for _, f := range froms {
		if !senderAllowed(allowed, f) {
			return senderRefusal("From address", f, allowed)
		}
	}
	return nil
}

// rateLimiter counts the messages each account submitted in the last hour
// (a sliding window of timestamps). It lives in memory: a restart starts
// every count from zero, which only ever lets a user send more, never
// less, than the limit allows.
type rateLimiter struct {
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	sent map[string][]time.Time
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{window: time.Hour, now: time.Now, sent: map[string][]time.Time{}}
}

// prune drops timestamps out of the window; mu must be held.
func (r *rateLimiter) prune(login string, now time.Time) []time.Time {
	ts := r.sent[login]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= r.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(r.sent, login)
		return nil
	}
	r.sent[login] = ts
	return ts
}

// allow reports whether login may start another message under max per
// hour (0: no limit). max is passed in, not kept, because the limit can
// change while the counts go on (Server.SetLimits).
func (r *rateLimiter) allow(login string, max int) bool {
	if r == nil || max <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prune(login, r.now())) < max
}

// record counts one accepted message of login under max per hour.
func (r *rateLimiter) record(login string, max int) {
	if r == nil || max <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	ts := r.prune(login, now)
	if len(ts) >= max {
		// Concurrent sessions passed allow together; the window holds
		// at most max entries so memory stays bounded.
		ts = ts[1:]
	}
	r.sent[login] = append(ts, now)
}
