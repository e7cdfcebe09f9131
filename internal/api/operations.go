package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/domainname"
	"mailport/internal/queue"
	"mailport/internal/store"
)

// AuditEntry is one recorded change.
type AuditEntry struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	ActorRole  string    `json:"actor_role"`
	RemoteIP   string    `json:"remote_ip"`
	Action     string    `json:"action" example:"mailbox.create"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	Domain     string    `json:"domain"`
	Before     any       `json:"before,omitempty" doc:"The object before the change (no secrets)"`
	After      any       `json:"after,omitempty" doc:"The object after the change (no secrets)"`
}

type auditInput struct {
	Domain   string    `query:"domain" maxLength:"253"`
	Actor    string    `query:"actor" maxLength:"320"`
	Since    time.Time `query:"since" doc:"RFC 3339; inclusive"`
	Until    time.Time `query:"until" doc:"RFC 3339; exclusive"`
	BeforeID int64     `query:"before_id" minimum:"0" doc:"Only entries older than this ID (the next page: the last ID of this one)"`
	Limit    int       `query:"limit" minimum:"0" maximum:"1000" default:"100"`
}

type auditOutput struct {
	Body struct {
		Items []AuditEntry `json:"items"`
		// NextBeforeID is the before_id of the next page; 0 when this
		// page is the last.
		NextBeforeID int64 `json:"next_before_id"`
	}
}

func rawToAny(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(r, &v); err != nil {
		return string(r)
	}
	return v
}

// QueueEntry is one queued message.
type QueueEntry struct {
	ID          string           `json:"id"`
	From        string           `json:"from" doc:"Envelope sender; empty for bounces"`
	Recipients  []QueueRecipient `json:"recipients"`
	Size        int64            `json:"size"`
	Created     time.Time        `json:"created"`
	NextAttempt time.Time        `json:"next_attempt"`
	Attempts    int              `json:"attempts"`
	LastError   string           `json:"last_error,omitempty"`
	Route       string           `json:"route,omitempty" doc:"host:port when relayed to a fixed host"`
}

// QueueRecipient is one recipient of a queued message.
type QueueRecipient struct {
	Address   string    `json:"address"`
	State     string    `json:"state" enum:"pending,delivered,failed"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Status    string    `json:"status,omitempty" doc:"RFC 3463 code of the last answer"`
	RemoteMTA string    `json:"remote_mta,omitempty"`
	Updated   time.Time `json:"updated"`
}

func queueOut(e *queue.Entry) QueueEntry {
	v := QueueEntry{ID: e.ID, From: e.From, Size: e.Size, Created: e.Created, NextAttempt: e.NextAttempt, Attempts: e.Attempts, LastError: e.LastError}
	if e.Route != nil {
		v.Route = e.Route.Host
		if e.Route.Port != 0 {
			v.Route += ":" + itoa(e.Route.Port)
		}
	}
	v.Recipients = make([]QueueRecipient, len(e.Recipients))
	for i, r := range e.Recipients {
		v.Recipients[i] = QueueRecipient{Address: r.Address, State: string(r.State), Attempts: r.Attempts, LastError: r.LastError, Status: r.Status, RemoteMTA: r.RemoteMTA, Updated: r.Updated}
	}
	return v
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type queueListInput struct {
	Page
	Q string `query:"q" maxLength:"254" doc:"Only entries whose sender or a recipient contains this"`
}

type domainStatsInput struct {
	Page
	Name string `path:"name" maxLength:"253" doc:"Domain name"`
	Sort string `query:"sort" enum:"address,used,quota,messages" default:"address" doc:"Order by address, bytes used, quota (0 = none, sorted as the smallest) or messages; ties by address"`
	Desc bool   `query:"desc" doc:"Descending: with sort=used, the largest mailboxes first"`
}

type queuePath struct {
	ID string `path:"id" minLength:"1" maxLength:"128"`
}

type queueOutput struct{ Body QueueEntry }

// DomainStats is the storage of one domain.
type DomainStats struct {
	Domain     string `json:"domain"`
	Mailboxes  int64  `json:"mailboxes"`
	Aliases    int64  `json:"aliases"`
	Messages   int64  `json:"messages"`
	Bytes      int64  `json:"bytes"`
	QuotaBytes int64  `json:"quota_bytes" doc:"Sum of the mailboxes' quotas (mailboxes without one not counted)"`
}

// MailboxStats is the storage of one mailbox.
type MailboxStats struct {
	Address    string `json:"address"`
	Messages   int64  `json:"messages"`
	Bytes      int64  `json:"bytes"`
	QuotaBytes int64  `json:"quota_bytes"`
}

func (a *API) registerOperations() {
	huma.Register(a.humaAPI, op("listAudit", http.MethodGet, "/audit", "Read the audit log, newest first", "audit"),
		func(ctx context.Context, in *auditInput) (*auditOutput, error) {
			limit := in.Limit
			if limit <= 0 {
				limit = DefaultPageSize
			}
			es, err := a.scope(ctx).ListAudit(ctx, directory.AuditQuery{
				Domain: in.Domain, Actor: in.Actor, Since: in.Since, Until: in.Until, BeforeID: in.BeforeID, Limit: limit,
			})
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := &auditOutput{}
			out.Body.Items = make([]AuditEntry, len(es))
			for i, e := range es {
				out.Body.Items[i] = AuditEntry{
					ID: e.ID, Time: e.Time, Actor: e.Actor, ActorRole: string(e.ActorRole), RemoteIP: e.RemoteIP,
					Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Domain: e.Domain,
					Before: rawToAny(e.Before), After: rawToAny(e.After),
				}
			}
			if len(es) == limit {
				out.Body.NextBeforeID = es[len(es)-1].ID
			}
			return out, nil
		})

	huma.Register(a.humaAPI, op("listQueue", http.MethodGet, "/queue", "List the outbound queue (a DomainAdmin sees its domains' entries)", "queue"),
		func(ctx context.Context, in *queueListInput) (*struct{ Body List[QueueEntry] }, error) {
			q, err := a.queueFor(ctx)
			if err != nil {
				return nil, err
			}
			es, err := q.List(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			p := callerOf(ctx).p
			needle := strings.ToLower(in.Q)
			var out []QueueEntry
			for _, e := range es {
				if !queueVisible(p, e) || (needle != "" && !queueMatches(e, needle)) {
					continue
				}
				out = append(out, queueOut(e))
			}
			return &struct{ Body List[QueueEntry] }{paginate(nonNil(out), in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("getQueueEntry", http.MethodGet, "/queue/{id}", "Get a queue entry", "queue"),
		func(ctx context.Context, in *queuePath) (*queueOutput, error) {
			e, err := a.queueEntry(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &queueOutput{queueOut(e)}, nil
		})

	o := op("retryQueueEntry", http.MethodPost, "/queue/{id}/retry", "Try delivering a queue entry now", "queue")
	o.Description = "Makes the entry due now and waits a few seconds for the delivery attempt. " +
		"When the attempt ends in time, the answer is the entry as it left it: attempts one higher, " +
		"each recipient delivered, failed (and returned to the sender) or still pending with its last_error, " +
		"and next_attempt the time of the next try; an entry with no pending recipient has left the queue. " +
		"When the attempt takes longer (a slow remote host), the answer is the entry as it is, due now " +
		"with attempts unchanged: read it again later with GET /queue/{id}."
	o.DefaultStatus = http.StatusOK
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *queuePath) (*queueOutput, error) {
		e, err := a.retryQueueEntry(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &queueOutput{queueOut(e)}, nil
	})

	huma.Register(a.humaAPI, op("deleteQueueEntry", http.MethodDelete, "/queue/{id}", "Remove a queue entry without delivering it or bouncing", "queue"),
		func(ctx context.Context, in *queuePath) (*noContent, error) {
			q, err := a.queueFor(ctx)
			if err != nil {
				return nil, err
			}
			e, err := a.queueEntry(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			if err := q.Remove(ctx, e.ID); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			a.auditQueue(ctx, "queue.delete", e)
			return &noContent{}, nil
		})

	huma.Register(a.humaAPI, op("getStats", http.MethodGet, "/stats", "Storage per domain of the caller's domains", "stats"),
		func(ctx context.Context, _ *emptyInput) (*struct{ Body List[DomainStats] }, error) {
			ss, err := a.scope(ctx).DomainStats(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]DomainStats, len(ss))
			for i, s := range ss {
				out[i] = DomainStats{Domain: s.Domain, Mailboxes: s.Mailboxes, Aliases: s.Aliases, Messages: s.Messages, Bytes: s.Bytes, QuotaBytes: s.QuotaBytes}
			}
			return &struct{ Body List[DomainStats] }{List[DomainStats]{Items: out, Total: len(out)}}, nil
		})

	o = op("getDomainStats", http.MethodGet, "/stats/domains/{name}", "Storage per mailbox of a domain", "stats")
	o.Description = "One page of the domain's mailboxes, sorted and cut by the server; total counts them all. " +
		"sort=used&desc=true&limit=10 answers the ten largest."
	huma.Register(a.humaAPI, o,
		func(ctx context.Context, in *domainStatsInput) (*struct{ Body List[MailboxStats] }, error) {
			ss, total, err := a.scope(ctx).MailboxStats(ctx, store.MailboxStatsQuery{
				Domain: in.Name, Sort: store.StatsSort(in.Sort), Desc: in.Desc, Limit: in.size(), Offset: in.Offset,
			})
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]MailboxStats, len(ss))
			for i, s := range ss {
				out[i] = MailboxStats{Address: s.Address, Messages: s.Messages, Bytes: s.Bytes, QuotaBytes: s.QuotaBytes}
			}
			return &struct{ Body List[MailboxStats] }{List[MailboxStats]{Items: out, Total: total}}, nil
		})
}

// queueFor returns the queue to a caller that may see some of it:
// MasterAdmins all of it, DomainAdmins their domains' entries.
func (a *API) queueFor(ctx context.Context) (Queue, error) {
	p := callerOf(ctx).p
	if err := access.Require(p.IsMaster() || p.IsDomainAdmin(), p, "read the queue"); err != nil {
		return nil, a.errorFor(ctx, err)
	}
	if a.cfg.Queue == nil {
		return nil, newError(http.StatusServiceUnavailable, "", "the outbound queue is not running")
	}
	return a.cfg.Queue, nil
}

// queueEntry returns an entry the caller may see. Queue IDs say nothing
// about domains, so an entry outside a DomainAdmin's domains is answered
// as not found: it is not part of the queue that admin sees.
func (a *API) queueEntry(ctx context.Context, id string) (*queue.Entry, error) {
	q, err := a.queueFor(ctx)
	if err != nil {
		return nil, err
	}
	e, err := q.Get(ctx, id)
	if err != nil {
		return nil, a.errorFor(ctx, err)
	}
	if !queueVisible(callerOf(ctx).p, e) {
		return nil, newError(http.StatusNotFound, "", "queue entry "+id+": not found")
	}
	return e, nil
}

// retryQueueEntry makes an entry the caller may see due now and returns
// it as the attempt left it, or as it is when the attempt does not end
// within RetryWait.
func (a *API) retryQueueEntry(ctx context.Context, id string) (*queue.Entry, error) {
	q, err := a.queueFor(ctx)
	if err != nil {
		return nil, err
	}
	e0, err := a.queueEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	// Watch first, so an attempt that ends at once is not missed.
	attempted, stop := q.WatchAttempt(e0.ID)
	defer stop()
	if err := q.Retry(ctx, e0.ID); err != nil {
		return nil, a.errorFor(ctx, err)
	}
	a.auditQueue(ctx, "queue.retry", e0)
	wait, cancel := context.WithTimeout(ctx, a.cfg.RetryWait)
	defer cancel()
	select {
	case e := <-attempted:
		return &e, nil
	case <-wait.Done():
	}
	return a.queueEntry(ctx, e0.ID)
}

// queueVisible: a DomainAdmin sees entries whose sender or a recipient is
// in one of its domains (or below one, for relay domains).
func queueVisible(p access.Principal, e *queue.Entry) bool {
	if p.IsMaster() {
		return true
	}
	if !p.IsDomainAdmin() {
		return false
	}
	in := func(addr string) bool {
		d := entryDomain(addr)
		return d != "" && slices.ContainsFunc(p.Domains, func(own string) bool { return d == own || strings.HasSuffix(d, "."+own) })
	}
	if in(e.From) {
		return true
	}
	return slices.ContainsFunc(e.Recipients, func(r queue.Recipient) bool { return in(r.Address) })
}

// entryDomain is the domain of a queue entry's address in canonical form,
// "" when it has none: the envelope holds addresses as clients wrote them,
// U-labels included (RFC 6531), and DomainAdmins' domains are A-labels.
func entryDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	d, err := domainname.Normalize(addr[i+1:])
	if err != nil {
		return ""
	}
	return d
}

func queueMatches(e *queue.Entry, needle string) bool {
	if strings.Contains(strings.ToLower(e.From), needle) {
		return true
	}
	return slices.ContainsFunc(e.Recipients, func(r queue.Recipient) bool { return strings.Contains(strings.ToLower(r.Address), needle) })
}

func recipientsOf(e *queue.Entry) []string {
	out := make([]string, len(e.Recipients))
	for i, r := range e.Recipients {
		out[i] = r.Address
	}
	return out
}

// auditQueue records a queue change. The entry's domain is the sender's,
// or the first recipient's, so DomainAdmins read their own.
func (a *API) auditQueue(ctx context.Context, action string, e *queue.Entry) {
	p := callerOf(ctx).p
	domain := ""
	for _, addr := range append([]string{e.From}, recipientsOf(e)...) {
		if d := entryDomain(addr); d != "" && (p.IsMaster() || slices.Contains(p.Domains, d)) {
			domain = d
			break
		}
	}
	a.audit(ctx, action, "queue_entry", e.ID, domain, queueOut(e), nil)
}

// audit records a change the API makes itself: the queue and the server
// settings are not the directory's, but their changes go to the same log.
func (a *API) audit(ctx context.Context, action, objType, objID, domain string, before, after any) {
	a.scope(ctx).Audit(ctx, action, objType, objID, domain, before, after)
}
