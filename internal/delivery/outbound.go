package delivery

import (
	"context"
	"fmt"
)

// Outbound queues the copies of a delivery for recipients outside: the
// spooled message is there to read (Delivery.OpenRelayCopy) or to link
// (Delivery.RelayBlob) and must be durably queued when Enqueue returns
// nil.
type Outbound interface {
	Enqueue(ctx context.Context, d *Delivery) error
}

// SuccessNotifier is an Outbound that also queues the success notice a
// delivery owes its sender (Delivery.Successes): for copies stored in
// local mailboxes at SMTP time and for aliases expanded to several
// addresses, which the queue never carries and so never reports on
// itself. It must be durably queued when NotifySuccess returns nil; the
// spooled message is there to read its header (Delivery.RelayBlob).
type SuccessNotifier interface {
	NotifySuccess(ctx context.Context, d *Delivery, s []Success) error
}

type outboundStage struct{ o Outbound }

// OutboundStage returns the "outbound" stage, which hands remote,
// forwarded and relayed recipients to o. It goes before "store": the
// spooled blob still belongs to the delivery then, and when queueing fails
// nothing was stored locally either, so the sender's retry duplicates
// nothing. When o is a SuccessNotifier, the stage also queues the success
// notice once every stage has run (Finish).
func OutboundStage(o Outbound) Stage { return outboundStage{o: o} }

func (outboundStage) Name() string { return "outbound" }

func (s outboundStage) Process(ctx context.Context, d *Delivery) error {
	if !d.Envelope.HasOutbound() {
		return nil
	}
	if err := s.o.Enqueue(ctx, d); err != nil {
		return AsError(fmt.Errorf("outbound queue: %w", err))
	}
	return nil
}

// Finish queues the success notice d owes, if any. It runs after "store"
// has committed the local copies and before the client hears 250, so a
// notice is never lost once the client has its 250: a crash before the
// notice is durable leaves the client without a reply, and it sends the
// message again (a second copy in the mailboxes, and then the notice).
// For the same reason a notice that cannot be queued is answered with
// the queue's error (451) although the copies are stored: only the
// client's retry can still bring the sender the notice RFC 3461 section
// 5.2.3 says it MUST get, and a duplicate copy is the lesser harm.
func (s outboundStage) Finish(ctx context.Context, d *Delivery) error {
	n, ok := s.o.(SuccessNotifier)
	if !ok {
		return nil
	}
	succ := d.Successes()
	if len(succ) == 0 {
		return nil
	}
	if err := n.NotifySuccess(ctx, d, succ); err != nil {
		return AsError(fmt.Errorf("success notice: %w", err))
	}
	return nil
}
