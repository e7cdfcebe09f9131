package imapd

import (
	"context"
	"fmt"
	"os"

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
}

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
		full, err := l.st.GetMessage(l.ctx, l.mailboxID, m.UID)
		if err != nil {
			return nil, fmt.Errorf("load message uid %d: %w", m.UID, err)
		}
		structure = full.Structure
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

// open opens the raw message for reading (sections are served by seeking
// to the offsets of the cached parse).
func (l *loader) open(m *message) (*os.File, error) {
	return l.blobs.Open(m.BlobID)
}
