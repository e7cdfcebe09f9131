package imapd

import (
	"context"
	"fmt"
	"os"
	"slices"

	"mailport/internal/blob"
	"mailport/internal/mime"
	"mailport/internal/store"
)

// message is one message of the selected mailbox as a command sees it:
// its sequence number in this session and its listing from the store
// (ListMessages leaves Envelope and Structure nil; loader fills them on
// demand).
type message struct {
	Seq uint32
	store.Message
}

// loader gives FETCH, SEARCH, SORT and THREAD what they need beyond the
// listing: the parse cached at delivery and the raw blob. One loader lives
// for one command, so a message parsed for one FETCH item is not decoded
// again for the next.
type loader struct {
	ctx       context.Context
	st        store.Store
	blobs     *blob.Store
	mailboxID int64
	cache     map[uint32]*mime.Message

	// plan holds, ascending, the UIDs the command is going to want the
	// parse of (the FETCH set, SEARCH's candidates). A miss on one of
	// them loads the structures of it and the planned UIDs after it in
	// one store round trip (store.Store.GetMessages) rather than one
	// query per message; batch holds those not used yet.
	plan  []uint32
	batch map[uint32][]byte
}

// loadBatch is how many planned structures one store call loads: large
// enough that the per-query cost vanishes, small enough that the batch
// (a few KiB of JSON per message) stays small.
const loadBatch = 256

func newLoader(ctx context.Context, st store.Store, blobs *blob.Store, mailboxID int64) *loader {
	return &loader{ctx: ctx, st: st, blobs: blobs, mailboxID: mailboxID, cache: make(map[uint32]*mime.Message)}
}

// parsed returns the cached parse of m (DESIGN.md "parse once": the blob is
// never re-parsed for ENVELOPE or BODYSTRUCTURE).
func (l *loader) parsed(m *message) (*mime.Message, error) {
	if p, ok := l.cache[m.UID]; ok {
		return p, nil
	}
	structure := m.Structure
	if structure == nil {
		var err error
		if structure, err = l.structure(m.UID); err != nil {
			return nil, err
		}
	}
	p, err := mime.Unmarshal(structure)
	if err != nil {
		return nil, fmt.Errorf("decode structure of uid %d: %w", m.UID, err)
	}
	// A command touches a bounded number of messages at a time; keep the
	// cache from growing over a FETCH 1:* of a huge mailbox.
	if len(l.cache) > 256 {
		clear(l.cache)
	}
	l.cache[m.UID] = p
	return p, nil
}

// header returns a part holding only the offsets of m's top-level header
// (HeaderStart, BodyStart), enough for mime.ReadHeader and the HEADER
// section: from the listing's HeaderSize, which the store keeps for this
// (the larger part of a FETCH 1:* (BODY.PEEK[HEADER]) was loading and
// decoding structures). A message whose header size the store does not
// know goes through the full parse, which is authoritative.
func (l *loader) header(m *message) (*mime.Part, error) {
	if m.HeaderSize > 0 {
		return &mime.Part{HeaderStart: 0, BodyStart: m.HeaderSize}, nil
	}
	p, err := l.parsed(m)
	if err != nil {
		return nil, err
	}
	return &p.Root, nil
}

// open opens the raw message for reading (sections are served by seeking
// to the offsets of the cached parse).
func (l *loader) open(m *message) (*os.File, error) {
	return l.blobs.Open(m.BlobID)
}

// want adds uids to the plan (see loader.plan).
func (l *loader) want(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	if len(l.plan) == 0 && slices.IsSorted(uids) {
		l.plan = slices.Compact(slices.Clone(uids))
		return
	}
	l.plan = append(l.plan, uids...)
	slices.Sort(l.plan)
	l.plan = slices.Compact(l.plan)
}

// structure returns the cached structure of uid: from the current batch,
// by loading the next batch when uid is planned, or alone.
func (l *loader) structure(uid uint32) ([]byte, error) {
	if b, ok := l.batch[uid]; ok {
		// Kept until the next batch replaces it: a message's header
		// range and its full parse may both be asked for.
		return b, nil
	}
	if i, planned := slices.BinarySearch(l.plan, uid); planned {
		uids := l.plan[i:min(i+loadBatch, len(l.plan))]
		msgs, err := l.st.GetMessages(l.ctx, l.mailboxID, uids)
		if err != nil {
			return nil, fmt.Errorf("load messages uid %d to %d: %w", uids[0], uids[len(uids)-1], err)
		}
		l.batch = make(map[uint32][]byte, len(msgs))
		var found []byte
		for _, m := range msgs {
			if m.UID == uid {
				found = m.Structure
				continue
			}
			l.batch[m.UID] = m.Structure
		}
		if found != nil {
			return found, nil
		}
		// Gone from the store since the view was made: GetMessage
		// reports it the way a single load would.
	}
	full, err := l.st.GetMessage(l.ctx, l.mailboxID, uid)
	if err != nil {
		return nil, fmt.Errorf("load message uid %d: %w", uid, err)
	}
	return full.Structure, nil
}
