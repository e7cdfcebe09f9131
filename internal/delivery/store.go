package delivery

import (
	"context"
	"errors"
	"fmt"

	"mailport/internal/blob"
	"mailport/internal/store"
)

// storeStage commits one copy per local recipient: the first copy takes
// the spooled blob itself, every further one a hard link to it, and all
// go through the Committer in one submission.
type storeStage struct {
	st        store.Store
	blobs     *blob.Store
	committer *Committer
}

func (storeStage) Name() string { return "store" }

func (s storeStage) Process(ctx context.Context, d *Delivery) error {
	rcpts := d.Envelope.Recipients
	if len(rcpts) == 0 {
		return nil
	}
	if d.BlobID == "" {
		return ErrorLocal(errors.New("store: message was not spooled"))
	}
	for _, r := range rcpts {
		if r.MailboxID != 0 {
			continue
		}
		mb, err := s.st.GetMailbox(ctx, r.Account.ID, "INBOX")
		if err != nil {
			return ErrorLocal(fmt.Errorf("store: INBOX of %s: %w", r.Account.Address, err))
		}
		r.MailboxID = mb.ID
	}

	items := make([]Append, len(rcpts))
	var links []string
	removeLinks := func() {
		if len(links) > 0 {
			if err := s.blobs.Delete(links...); err != nil {
				d.Log.Warn("removing unused message links", "err", err)
			}
		}
	}
	for i, r := range rcpts {
		id := d.BlobID
		if i > 0 {
			l, err := s.blobs.Link(d.BlobID)
			if err != nil {
				removeLinks()
				return ErrorLocal(fmt.Errorf("store: %w", err))
			}
			links = append(links, l)
			id = l
		}
		items[i] = Append{AccountID: r.Account.ID, Message: store.NewMessage{
			MailboxID:    r.MailboxID,
			Flags:        r.Flags,
			InternalDate: d.ReceivedAt,
			Size:         d.Size,
			BlobID:       id,
		}}
		d.Parsed.Fill(&items[i].Message)
	}

	results, err := s.committer.Submit(ctx, items)
	if err != nil {
		// Nothing of the submission was stored.
		removeLinks()
		return ErrorLocal(fmt.Errorf("store: %w", err))
	}
	stored := 0
	var over []int
	for i, res := range results {
		switch {
		case res.Err == nil:
			rcpts[i].Message, rcpts[i].Err = res.Message, nil
			stored++
		case errors.Is(res.Err, store.ErrOverQuota):
			over = append(over, i)
			rcpts[i].Err = ErrorMailboxFull(res.Err)
		default:
			rcpts[i].Err = AsError(res.Err)
		}
	}
	if len(over) > 0 && stored > 0 {
		// The message is accepted for the others, and the sender gets
		// one reply for all: refusing the full mailbox now would lose
		// its copy. Store it over quota instead (soft overshoot).
		retry := make([]Append, len(over))
		for j, i := range over {
			retry[j] = items[i]
			retry[j].Message.IgnoreQuota = true
		}
		res2, err := s.committer.Submit(ctx, retry)
		for j, i := range over {
			switch {
			case err != nil:
				rcpts[i].Err = ErrorLocal(err)
			case res2[j].Err != nil:
				rcpts[i].Err = AsError(res2[j].Err)
			default:
				rcpts[i].Message, rcpts[i].Err = res2[j].Message, nil
				stored++
				d.Log.Warn("mailbox over quota; copy stored anyway because other recipients accepted the message",
					"account", rcpts[i].Account.Address, "quota", rcpts[i].Account.QuotaBytes, "size", d.Size)
			}
		}
	}

	// Blobs of copies that were not stored are ours to remove; the
	// spool is removed by Deliver unless its copy was stored.
	var unused []string
	for i, r := range rcpts {
		if r.Err == nil {
			if i == 0 {
				d.spoolTaken = true
			}
			continue
		}
		if i > 0 {
			unused = append(unused, items[i].Message.BlobID)
		}
		d.Log.Warn("copy not stored", "account", r.Account.Address, "err", r.Err)
	}
	if len(unused) > 0 {
		if err := s.blobs.Delete(unused...); err != nil {
			d.Log.Warn("removing unused message links", "err", err)
		}
	}
	if stored == 0 {
		return rcpts[0].Err
	}
	for _, r := range rcpts {
		if r.Err == nil {
			d.Log.Info("stored", "account", r.Account.Address, "mailbox", r.MailboxID, "uid", r.Message.UID, "size", d.Size)
		}
	}
	return nil
}
