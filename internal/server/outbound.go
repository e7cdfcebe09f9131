package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/queue"
	"mailport/internal/queue/dsn"
	"mailport/internal/srs"
)

// outbound hands the outside recipients of a delivery to the queue
// (smtpd.Outbound): remote recipients with the envelope sender as it is,
// forwarded ones (alias and forward targets) with the sender rewritten by
// SRS, and relayed ones (split domain routing, relay domains) to their
// fixed host. Each group is one queue entry whose blob link and row are
// durable before EnqueueLink returns, so the 250 that follows is honest.
type outbound struct {
	q   *queue.Queue
	dir *directory.Service
	srs *srs.Rewriter
	log *slog.Logger
}

func (o *outbound) Enqueue(ctx context.Context, d *delivery.Delivery) error {
	env := d.Envelope
	// RFC 3461: the queue keeps what the client asked of notices (RET,
	// ENVID; NOTIFY and ORCPT per recipient) and passes it on.
	opts := []queue.Option{queue.Return(env.Return), queue.EnvelopeID(env.EnvelopeID)}
	if d.DKIMSigned {
		opts = append(opts, queue.DKIMSigned())
	}
	enqueue := func(from string, rcpts []string, extra ...queue.Option) error {
		if len(rcpts) == 0 {
			return nil
		}
		for _, r := range rcpts {
			if p, ok := env.RecipientDSN(r); ok {
				extra = append(extra, queue.Notify(r, p.Notify), queue.OriginalRecipient(r, p.OriginalRecipientType, p.OriginalRecipient))
			}
		}
		// The spooled blob is linked, not copied: the content was
		// fsynced once by "spool" and is not written again.
		blobID, skip, err := d.RelayBlob()
		if err != nil {
			return err
		}
		id, err := o.q.EnqueueLink(ctx, from, rcpts, blobID, skip, append(opts, extra...)...)
		if err != nil {
			return err
		}
		d.Log.Info("queued", "queue_id", id, "from", from, "rcpts", len(rcpts))
		return nil
	}
	if err := enqueue(env.MailFrom, env.Remote); err != nil {
		return err
	}
	if len(env.Forwarded) > 0 {
		from, err := o.forwardSender(ctx, env.MailFrom)
		if err != nil {
			return err
		}
		if err := enqueue(from, env.Forwarded); err != nil {
			return err
		}
	}
	// One entry per destination host: the queue sends an entry's
	// recipients through its route.
	type dest struct {
		host string
		port int
	}
	var order []dest
	byDest := map[dest][]string{}
	for _, r := range env.Relayed {
		k := dest{strings.ToLower(r.Host), r.Port}
		if _, ok := byDest[k]; !ok {
			order = append(order, k)
		}
		byDest[k] = append(byDest[k], r.Address)
	}
	for _, k := range order {
		if err := enqueue(env.MailFrom, byDest[k], queue.Via(k.host, k.port)); err != nil {
			return err
		}
	}
	return nil
}

// The "outbound" stage finds NotifySuccess by a type assertion; this
// keeps a changed signature from turning the notices off unnoticed.
var _ delivery.SuccessNotifier = (*outbound)(nil)

// NotifySuccess queues the success notice of d (delivery.SuccessNotifier)
// through the queue's notice builder: "delivered" for the mailboxes the
// message was stored in, "expanded" for aliases with several targets,
// with the header of the spooled message (without Return-Path, as sent
// on).
func (o *outbound) NotifySuccess(ctx context.Context, d *delivery.Delivery, succ []delivery.Success) error {
	blobID, skip, err := d.RelayBlob()
	if err != nil {
		return err
	}
	rcpts := make([]queue.Recipient, len(succ))
	for i, s := range succ {
		action := dsn.Delivered
		if s.Expanded {
			action = dsn.Expanded
		}
		rcpts[i] = queue.Recipient{Address: s.Address, Success: action, Notify: s.DSN.Notify,
			OriginalRecipientType: s.DSN.OriginalRecipientType, OriginalRecipient: s.DSN.OriginalRecipient}
	}
	env := d.Envelope
	return o.q.NotifyAccepted(ctx, queue.Accepted{ID: d.ID, From: env.MailFrom, EnvelopeID: env.EnvelopeID,
		Arrived: d.ReceivedAt, BlobID: blobID, Offset: skip, Size: d.Size - skip, Recipients: rcpts})
}

// forwardSender is the envelope sender of a forwarded copy: the null
// sender stays null (a bounce must not cause one), a sender of our own
// domains stays as it is (our SPF covers it), any other is rewritten with
// SRS so the receiver's SPF check sees our domain.
func (o *outbound) forwardSender(ctx context.Context, from string) (string, error) {
	if from == "" || o.srs == nil {
		return from, nil
	}
	if at := strings.LastIndexByte(from, '@'); at > 0 {
		if _, local, err := o.dir.IsLocalDomain(ctx, from[at+1:]); err == nil && local {
			return from, nil
		}
	}
	rewritten, err := o.srs.Forward(from)
	if err != nil {
		if errors.Is(err, srs.ErrInvalid) {
			// A sender we cannot rewrite: forward it unchanged rather
			// than lose the message; SPF may then fail at the receiver.
			o.log.Warn("SRS rewrite impossible; forwarding with the original sender", "from", from, "err", err)
			return from, nil
		}
		return "", err
	}
	return rewritten, nil
}

// localDelivery delivers queued messages to local mailboxes (bounces to
// our own senders, mail for local addresses that reached the queue)
// through a Deliverer without the inbound checks.
type localDelivery struct {
	dir  *directory.Service
	dl   *delivery.Deliverer
	host string
}

func (l *localDelivery) isLocal(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return l.dir.IsLocalAddress(ctx, addr)
}

func (l *localDelivery) deliver(ctx context.Context, from, rcpt string, body io.Reader) error {
	res, err := l.dir.Resolve(ctx, rcpt)
	if err != nil {
		return delivery.RecipientError(err)
	}
	if len(res.Local) == 0 {
		return delivery.RecipientError(fmt.Errorf("%w: %s", directory.ErrUnknownRecipient, rcpt))
	}
	env := &delivery.Envelope{MailFrom: from, RcptTo: []string{rcpt}, Helo: l.host, ESMTP: true}
	for _, lr := range res.Local {
		// The queue reports on this recipient itself (a "delivered"
		// notice when its NOTIFY asks): nothing for the pipeline to do.
		env.AddLocal(lr, delivery.RecipientDSN{})
	}
	return l.dl.Deliver(ctx, l.dl.NewDelivery(env, body))
}
