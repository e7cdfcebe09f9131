package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/queue/dsn"
)

// maxDomainsAtOnce bounds the destinations of one entry delivered in
// parallel.
const maxDomainsAtOnce = 4

// Run delivers due entries until ctx is done or Close is called, with at
// most Config.Concurrency entries at once. It re-reads the queue file every
// PollInterval, so changes made by another process (`mailport queue
// retry`) are picked up. Entries that were being delivered when the
// process died are simply due again when Run starts.
func (q *Queue) Run(ctx context.Context) error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return ErrClosed
	}
	q.runWG.Add(1)
	q.closeMu.Unlock()
	defer q.runWG.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	var workers sync.WaitGroup
	defer workers.Wait()

	for {
		if ctx.Err() != nil {
			return nil
		}
		busy, err := q.dispatch(ctx, &workers)
		if err != nil && ctx.Err() == nil {
			q.log.Error("reading due entries", "error", err)
		}
		wait := q.cfg.PollInterval
		if !busy {
			next, err := q.db.nextDue(ctx, q.inflightSet())
			if err == nil && !next.IsZero() {
				if d := next.Sub(q.cfg.Now()); d < wait {
					wait = max(d, 0)
				}
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-q.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (q *Queue) inflightSet() map[string]bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := make(map[string]bool, len(q.inflight))
	for id := range q.inflight {
		s[id] = true
	}
	return s
}

// dispatch starts a worker for each due entry while there are free slots;
// busy reports that every slot is taken (a finishing worker wakes Run).
func (q *Queue) dispatch(ctx context.Context, workers *sync.WaitGroup) (busy bool, err error) {
	skip := q.inflightSet()
	free := q.cfg.Concurrency - len(skip)
	if free <= 0 {
		return true, nil
	}
	due, err := q.db.due(ctx, q.cfg.Now(), free, skip)
	if err != nil {
		return false, err
	}
	for _, e := range due {
		q.mu.Lock()
		q.inflight[e.ID] = true
		q.mu.Unlock()
		workers.Add(1)
		go func(e *Entry) {
			defer workers.Done()
			defer func() {
				q.mu.Lock()
				delete(q.inflight, e.ID)
				q.mu.Unlock()
				q.Wake()
			}()
			q.process(ctx, e)
		}(e)
	}
	return len(due) == free, nil
}

// process makes one delivery round for an entry: every pending recipient
// is tried once, grouped by destination so one connection carries all
// recipients of a domain; then the results are recorded, failures
// reported, and the entry removed when nothing is left to do.
func (q *Queue) process(ctx context.Context, e *Entry) {
	log := q.log.With("id", e.ID)
	attempt := q.attemptStarts()
	type group struct {
		domain string
		idx    []int
		local  bool
	}
	groups := map[string]*group{}
	var order []string
	for i, r := range e.Recipients {
		if r.State != Pending {
			continue
		}
		key, g := domainOf(r.Address), &group{domain: domainOf(r.Address)}
		if q.cfg.IsLocal != nil && q.cfg.LocalDeliver != nil && q.cfg.IsLocal(r.Address) {
			key, g.local = "local "+r.Address, true
		} else if e.Route != nil {
			key = "route"
		} else if q.Routing().Smarthost != nil {
			key = "smarthost"
		}
		if groups[key] == nil {
			groups[key] = g
			order = append(order, key)
		}
		groups[key].idx = append(groups[key].idx, i)
	}

	if len(order) > 0 {
		results := make([]*result, len(e.Recipients))
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxDomainsAtOnce)
		for _, key := range order {
			g := groups[key]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				var rs []*result
				if g.local {
					rs = []*result{q.deliverLocal(ctx, e, e.Recipients[g.idx[0]].Address)}
				} else {
					addrs := make([]string, len(g.idx))
					for j, i := range g.idx {
						addrs[j] = e.Recipients[i].Address
					}
					rs = q.deliverRemote(ctx, e, g.domain, addrs)
				}
				for j, i := range g.idx {
					results[i] = rs[j]
				}
			}()
		}
		wg.Wait()
		removed, err := q.record(ctx, e, results)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				log.Info("entry removed while being delivered")
			} else {
				log.Error("recording delivery results", "error", err)
			}
			return
		}
		if removed {
			q.removed(e)
			q.attempted(e, attempt)
			return
		}
	}
	// A cancelled round (shutdown) was recorded as not counting; what is
	// left happens on the next start.
	if ctx.Err() != nil {
		return
	}
	if err := q.finish(context.WithoutCancel(ctx), e); err != nil {
		if errors.Is(err, ErrNotFound) {
			log.Info("entry removed while being delivered")
			return
		}
		log.Error("finishing entry", "error", err)
	}
	q.attempted(e, attempt)
}

// record applies one round's results to e and stores them. When the round
// left nothing to do (every recipient delivered, or failed and reported
// already), the entry's row is deleted instead, in the same commit, and
// removed is true: the caller then deletes the message file.
func (q *Queue) record(ctx context.Context, e *Entry, results []*result) (removed bool, err error) {
	now := q.cfg.Now()
	// A round cut short by shutdown does not count as an attempt: the
	// recipients it did not finish are due again at once after restart.
	aborted := ctx.Err() != nil
	expired := now.Sub(e.Created) >= q.cfg.Lifetime
	anyPending := false
	e.Attempts++
	for i, res := range results {
		if res == nil {
			continue
		}
		r := &e.Recipients[i]
		if aborted && res.out == outTemporary {
			anyPending = true
			continue
		}
		r.Attempts++
		r.Updated = now
		r.Status, r.RemoteMTA = res.status, res.remote
		switch res.out {
		case outDelivered:
			r.State, r.LastError = Delivered, ""
			if res.success != "" && wants(*r, smtp.DSNNotifySuccess) {
				r.Success = res.success
			}
			q.cfg.Metrics.recipient("delivered")
			q.log.Info("delivered", "id", e.ID, "rcpt", r.Address, "remote", res.remote, "reply", res.text)
		case outPermanent:
			r.State, r.LastError = Failed, res.text
			q.cfg.Metrics.recipient("failed")
			q.log.Info("delivery failed", "id", e.ID, "rcpt", r.Address, "status", res.status, "error", res.text)
		default:
			r.LastError = res.text
			if expired {
				// RFC 3463 X.4.7: delivery time expired.
				r.State, r.Status = Failed, "5.4.7"
				r.LastError = fmt.Sprintf("delivery time expired after %d attempts; last error: %s", r.Attempts, res.text)
				q.cfg.Metrics.recipient("failed")
				q.log.Info("delivery expired", "id", e.ID, "rcpt", r.Address, "error", res.text)
			} else {
				anyPending = true
				q.cfg.Metrics.recipient("deferred")
				q.log.Info("delivery deferred", "id", e.ID, "rcpt", r.Address, "status", res.status, "error", res.text)
			}
		}
		if r.LastError != "" {
			e.LastError = r.LastError
		}
	}
	switch {
	case aborted:
		e.Attempts--
		e.NextAttempt = now
	case anyPending:
		e.NextAttempt = now.Add(q.cfg.Backoff(e.Attempts))
		if at := q.delayNoticeAt(e); at.After(now) && at.Before(e.NextAttempt) {
			e.NextAttempt = at
		}
	}
	ctx = context.WithoutCancel(ctx)
	if !aborted && settled(e) {
		if _, err := q.db.delete(ctx, e.ID); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, q.db.saveAttempt(ctx, e)
}

// settled reports whether nothing is left to do for e: no recipient pending
// and none owed a notice (failure or success) that is not queued yet.
func settled(e *Entry) bool {
	for _, r := range e.Recipients {
		if r.State == Pending || owesNotice(r) {
			return false
		}
	}
	return true
}

// owesNotice reports whether the sender is still to be told of r's final
// state: a failure, or a success NOTIFY=SUCCESS asked us to report.
func owesNotice(r Recipient) bool {
	return !r.Reported && (r.State == Failed || (r.State == Delivered && r.Success != ""))
}

// removed deletes the message file of an entry whose row is gone.
func (q *Queue) removed(e *Entry) {
	if err := q.cfg.Blobs.Delete(e.BlobID); err != nil {
		q.log.Warn("deleting delivered message file", "id", e.ID, "error", err)
	}
	q.log.Info("done", "id", e.ID)
}

// deliverLocal hands a message to a local recipient (a bounce to a local
// sender) through Config.LocalDeliver.
func (q *Queue) deliverLocal(ctx context.Context, e *Entry, rcpt string) *result {
	err := q.localDeliver(ctx, e, rcpt)
	if err == nil {
		return &result{out: outDelivered, status: "2.0.0", text: "delivered locally", remote: q.cfg.Hostname, success: dsn.Delivered}
	}
	r := &result{out: outTemporary, status: "4.3.0", text: oneLine(err.Error()), remote: q.cfg.Hostname}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && !t.Temporary() {
		r.out, r.status = outPermanent, "5.0.0"
	}
	// Errors that carry their SMTP meaning ("550 5.1.1 ...", as
	// delivery.Error prints) keep their enhanced code.
	if f := strings.Fields(r.text); len(f) >= 2 && len(f[0]) == 3 && dsn.ValidStatus(f[1]) && f[1][0] == f[0][0] {
		r.status = f[1]
	}
	return r
}

// localDeliver gives Config.LocalDeliver the queued message, from its
// offset on.
func (q *Queue) localDeliver(ctx context.Context, e *Entry, rcpt string) error {
	f, err := q.cfg.Blobs.Open(e.BlobID)
	if err != nil {
		return fmt.Errorf("open queued message: %w", err)
	}
	defer f.Close()
	return q.cfg.LocalDeliver(ctx, e.From, rcpt, io.NewSectionReader(f, e.Offset, e.Size))
}
