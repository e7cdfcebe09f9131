package queue

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/queue/dsn"
)

// finish tells the sender what became of e after a round, with one
// delivery status notification (RFC 3464) for the recipients that newly
// failed, those newly delivered or relayed whose NOTIFY asks for SUCCESS
// and, once Routing.DelayWarning has passed, those still pending; then
// it removes the entry when every recipient is final and reported. The
// notice is queued (durably) before the entry goes, so a crash in
// between repeats the removal, never the notice.
func (q *Queue) finish(ctx context.Context, e *Entry) error {
	var n noticeSet
	var pending []int
	for i, r := range e.Recipients {
		switch {
		case r.State == Pending:
			pending = append(pending, i)
		case owesNotice(r) && r.State == Failed:
			n.failed = append(n.failed, i)
		case owesNotice(r):
			n.succeeded = append(n.succeeded, i)
		}
	}
	if q.delayDue(e, q.cfg.Now()) {
		n.delayed = pending
	}
	if !n.empty() {
		if err := q.report(ctx, e, n); err != nil {
			// Keep the entry and try the notice again later.
			e.NextAttempt = q.cfg.Now().Add(q.cfg.Backoff(max(e.Attempts, 1)))
			if serr := q.db.saveAttempt(ctx, e); serr != nil {
				return errors.Join(err, serr)
			}
			return fmt.Errorf("queue the DSN: %w", err)
		}
	}
	if len(pending) > 0 {
		return nil
	}
	if _, err := q.db.delete(ctx, e.ID); err != nil {
		return err
	}
	q.removed(e)
	return nil
}

// delayDue reports whether the delay notice of e is due at now: enabled,
// not sent yet, and the message waited Routing.DelayWarning.
func (q *Queue) delayDue(e *Entry, now time.Time) bool {
	w := q.Routing().DelayWarning
	return w > 0 && !e.DelayNotified && now.Sub(e.Created) >= w
}

// delayNoticeAt is when the delay notice of e falls due, zero when it
// never will (disabled, or sent already). A round is scheduled then even
// when the back-off would wait longer, so the notice is not late by up
// to a back-off step and reports a fresh attempt.
func (q *Queue) delayNoticeAt(e *Entry) time.Time {
	w := q.Routing().DelayWarning
	if w <= 0 || e.DelayNotified {
		return time.Time{}
	}
	return e.Created.Add(w)
}

// wants reports whether the sender asked for a notice of kind (FAILURE
// or DELAY) about r. RFC 3461 section 4.1: NEVER asks for none; a list
// asks for what it names; without NOTIFY an MTA may act as if FAILURE or
// FAILURE,DELAY was given, and mailport takes FAILURE,DELAY (as Postfix
// does), since a sender whose client knows nothing of DSN is better off
// hearing that the message is stuck.
func wants(r Recipient, kind smtp.DSNNotify) bool {
	if r.Notify == nil {
		return kind == smtp.DSNNotifyFailure || kind == smtp.DSNNotifyDelayed
	}
	return slices.Contains(r.Notify, kind)
}

// noticeSet is what one notice may report: indices into an entry's
// recipients.
type noticeSet struct {
	failed, delayed, succeeded []int
}

func (n noticeSet) empty() bool {
	return len(n.failed) == 0 && len(n.delayed) == 0 && len(n.succeeded) == 0
}

// report queues one notice to the sender of e: Action "failed" for the
// recipients at n.failed, "delayed" for those at n.delayed, "delivered"
// or "relayed" (Recipient.Success) for those at n.succeeded, each only
// when its NOTIFY asks for it. The marks that stop it from being sent
// again (the failed and succeeded recipients' Reported, e's
// DelayNotified when n.delayed is given) are committed in the notice's
// own transaction (enqueue), so a crash leaves either both or neither,
// and the notice is never sent twice. With a null sender, or when no
// recipient asks for a notice, only the marks are committed.
func (q *Queue) report(ctx context.Context, e *Entry, n noticeSet) error {
	failed, delayed := n.failed, n.delayed
	reported := append(append([]int(nil), n.failed...), n.succeeded...)
	delayMark := len(delayed) > 0 || e.DelayNotified
	mark := func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE entries SET dsn_sent = ?, delay_notified = ? WHERE id = ?`,
			e.DSNSent || len(failed) > 0, delayMark, e.ID)
		if err != nil {
			return fmt.Errorf("queue: mark notice sent: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("queue: entry %s: %w", e.ID, ErrNotFound)
		}
		for _, i := range reported {
			if _, err := tx.ExecContext(ctx, `UPDATE recipients SET reported = 1 WHERE entry_id = ? AND seq = ?`, e.ID, i); err != nil {
				return fmt.Errorf("queue: mark recipient reported: %w", err)
			}
		}
		return nil
	}
	if err := q.queueNotice(ctx, e, n, mark); err != nil {
		return err
	}
	for _, i := range reported {
		e.Recipients[i].Reported = true
	}
	e.DSNSent = e.DSNSent || len(failed) > 0
	e.DelayNotified = delayMark
	return nil
}

// queueNotice queues the notice (notice) about the recipients of e at n
// to e's sender, with also (when set) committed in the same transaction.
// With a null sender, or when no recipient asks for a notice, it commits
// only also.
func (q *Queue) queueNotice(ctx context.Context, e *Entry, n noticeSet, also txFunc) error {
	commitAlone := func() error {
		if also == nil {
			return nil
		}
		return q.db.tx(ctx, also)
	}
	m := q.notice(e, n)
	switch {
	case e.From == "":
		// RFC 5321 section 4.5.5 / RFC 3464 section 2 / RFC 3461
		// section 5.2: a message with a null sender (a bounce itself)
		// is never reported on, so two servers can never bounce a
		// message back and forth.
		if err := commitAlone(); err != nil {
			return err
		}
		q.log.Warn("dropping notice: the message has a null sender", "id", e.ID, "failed", len(n.failed), "delayed", len(n.delayed), "succeeded", len(n.succeeded))
		q.cfg.Metrics.bounce("dropped")
	case len(m.Recipients) == 0:
		if err := commitAlone(); err != nil {
			return err
		}
		q.log.Info("no notice: NOTIFY asks for none", "id", e.ID, "failed", len(n.failed), "delayed", len(n.delayed), "succeeded", len(n.succeeded))
		q.cfg.Metrics.bounce("dropped")
	default:
		raw, err := m.Compose()
		if err != nil {
			return err
		}
		id, err := q.enqueue(ctx, "", []string{e.From}, bytes.NewReader(raw), also, nil)
		if err != nil {
			return err
		}
		q.log.Info("notice queued", "id", e.ID, "dsn", id, "to", e.From, "failed", len(n.failed), "delayed", len(n.delayed), "succeeded", len(n.succeeded))
		q.cfg.Metrics.bounce("sent")
	}
	return nil
}

// notice is the DSN (RFC 3464) about e to its sender, from the null
// sender, for the recipients of n that asked for it (wants), with the
// ENVID and ORCPT parameters the sender gave (RFC 3461 sections 4.4 and
// 4.2). It returns the original header only (RET=HDRS, the default:
// the body stays private to the recipients it reached), or the whole
// message when RET=FULL asked for it and the notice reports a failure
// (RFC 3461 section 4.3: RET is about notices of failure; the others
// return the header).
func (q *Queue) notice(e *Entry, n noticeSet) *dsn.Message {
	m := &dsn.Message{
		ReportingMTA:       q.cfg.Hostname,
		From:               "MAILER-DAEMON@" + q.cfg.Hostname,
		To:                 e.From,
		Date:               q.cfg.Now(),
		ArrivalDate:        e.Created,
		OriginalEnvelopeID: e.EnvelopeID,
	}
	add := func(idx []int, kind smtp.DSNNotify) {
		for _, i := range idx {
			r := e.Recipients[i]
			if !wants(r, kind) {
				continue
			}
			g := dsn.Recipient{
				OriginalRecipientType: string(r.OriginalRecipientType),
				OriginalRecipient:     r.OriginalRecipient,
				FinalRecipient:        r.Address,
				Status:                r.Status,
				RemoteMTA:             r.RemoteMTA,
				LastAttemptDate:       r.Updated,
			}
			switch kind {
			case smtp.DSNNotifyFailure:
				g.Action, g.DiagnosticCode = dsn.Failed, diagnostic(r)
			case smtp.DSNNotifyDelayed:
				g.Action, g.DiagnosticCode = dsn.Delayed, diagnostic(r)
				// RFC 3464 section 2.3.9: when the queue gives up.
				g.WillRetryUntil = e.Created.Add(q.cfg.Lifetime)
			default:
				g.Action = r.Success
			}
			m.Recipients = append(m.Recipients, g)
		}
	}
	add(n.failed, smtp.DSNNotifyFailure)
	add(n.delayed, smtp.DSNNotifyDelayed)
	add(n.succeeded, smtp.DSNNotifySuccess)
	if len(m.Recipients) == 0 || e.From == "" {
		return m
	}
	header, err := q.readHeader(e)
	if err != nil {
		q.log.Warn("reading the header of a message for its DSN", "id", e.ID, "error", err)
	}
	m.OriginalHeader = header
	failure := slices.ContainsFunc(m.Recipients, func(r dsn.Recipient) bool { return r.Action == dsn.Failed })
	if e.Return == smtp.DSNReturnFull && failure {
		if !q.returnable(e) {
			q.log.Info("RET=FULL: message too large to return, the notice carries its header", "id", e.ID, "size", e.Size)
		} else if full, err := q.readMessage(e); err != nil {
			q.log.Warn("reading a message to return it in its DSN", "id", e.ID, "error", err)
		} else {
			m.OriginalMessage = full
		}
	}
	return m
}

// maxReturnedBytes bounds the message a failure notice returns for
// RET=FULL; a larger one comes back as its header only, as RFC 3461
// section 4.3 lets an MTA do, so a notice never grows past what the next
// MTA accepts.
const maxReturnedBytes = 10 << 20

// returnable reports whether e is small enough to return whole: within
// maxReturnedBytes and, with room for the report around it, within the
// queue's own message size limit, which the notice passes too.
func (q *Queue) returnable(e *Entry) bool {
	limit := int64(maxReturnedBytes)
	if max := q.Routing().MaxMessageBytes; max > 0 {
		limit = min(limit, max-2*dsn.MaxHeaderBytes)
	}
	return e.Size <= limit
}

// readMessage returns the whole queued message.
func (q *Queue) readMessage(e *Entry) ([]byte, error) {
	f, err := q.cfg.Blobs.Open(e.BlobID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.NewSectionReader(f, e.Offset, e.Size))
}

// diagnostic is the SMTP reply for Diagnostic-Code: the remote reply when
// there was one (it starts with its code), else our own text behind the
// reply we would have given.
func diagnostic(r Recipient) string {
	text := r.LastError
	if _, after, ok := strings.Cut(text, "]: "); ok {
		text = after
	}
	if len(text) >= 4 && text[3] == ' ' {
		if _, err := strconv.Atoi(text[:3]); err == nil {
			return text
		}
	}
	code := "550"
	if strings.HasPrefix(r.Status, "4.") {
		code = "450"
	}
	return code + " " + r.Status + " " + text
}

// readHeader returns the header section of a queued message, bounded.
func (q *Queue) readHeader(e *Entry) ([]byte, error) {
	f, err := q.cfg.Blobs.Open(e.BlobID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, e.Offset, e.Size), dsn.MaxHeaderBytes+4))
	if err != nil {
		return nil, err
	}
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
		return buf[:i+2], nil
	}
	if i := bytes.Index(buf, []byte("\n\n")); i >= 0 {
		return buf[:i+1], nil
	}
	return buf, nil
}

// Accepted is a message taken at SMTP time that the queue did not carry
// to the recipients a notice reports on (NotifyAccepted): stored in a
// local mailbox by the inbound pipeline, or expanded by an alias.
type Accepted struct {
	// ID names the message in logs (the delivery's ID).
	ID string
	// From is the envelope sender, to whom the notice goes; "" (the
	// null sender) gets none.
	From string
	// EnvelopeID is the ENVID parameter of MAIL (RFC 3461 section 4.4).
	EnvelopeID string
	// Arrived is when the message was received (Arrival-Date).
	Arrived time.Time
	// BlobID holds the message from Offset on, Size octets; the notice
	// returns its header. It is read during NotifyAccepted only.
	BlobID       string
	Offset, Size int64
	// Recipients are those reported on, each with its Address (the
	// Final-Recipient), Success (the action: dsn.Delivered or
	// dsn.Expanded), Notify and ORCPT parameters; one whose Notify
	// lacks SUCCESS is left out of the notice (RFC 3461 section 5.2.8).
	Recipients []Recipient
}

// NotifyAccepted queues one success notice (RFC 3464) about a to its
// sender, built like every other notice of the queue, and returns once it
// is durably queued: a "delivered" one for mailboxes the message was
// stored in at SMTP time (RFC 3461 section 5.2.3) and an "expanded" one
// for an alias with several targets (section 5.2.7.3). Nothing is queued
// for a null sender or when no recipient asks for SUCCESS.
func (q *Queue) NotifyAccepted(ctx context.Context, a Accepted) error {
	now := q.cfg.Now()
	e := &Entry{ID: a.ID, From: a.From, EnvelopeID: a.EnvelopeID, Created: a.Arrived,
		BlobID: a.BlobID, Offset: a.Offset, Size: a.Size}
	var n noticeSet
	for i, r := range a.Recipients {
		r.State, r.Status, r.Updated = Delivered, "2.0.0", now
		e.Recipients = append(e.Recipients, r)
		n.succeeded = append(n.succeeded, i)
	}
	if n.empty() {
		return nil
	}
	return q.queueNotice(ctx, e, n, nil)
}
