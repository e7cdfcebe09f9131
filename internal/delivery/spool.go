package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"mailport/internal/blob"
)

// spoolStage writes Delivery.Header and the content stream into one blob
// while the stream is read (nothing is buffered in memory), then parses
// that blob once.
type spoolStage struct {
	blobs  *blob.Store
	parser Parser
}

func (spoolStage) Name() string { return "spool" }

func (s spoolStage) Process(ctx context.Context, d *Delivery) error {
	var content io.Reader
	switch {
	case d.buffer != nil:
		// A stage read the content already; its copy is the source.
		src, err := d.Content(ctx)
		if err != nil {
			return err
		}
		content = src
	case d.data != nil:
		content = &endReader{r: d.data, end: &d.dataEnd}
	default:
		return ErrorLocal(errors.New("delivery: no message data"))
	}
	limit := int64(0)
	if d.MaxMessageBytes > 0 {
		limit = d.MaxMessageBytes + int64(len(d.Header))
	}
	id, size, err := s.blobs.Put(ctx, io.MultiReader(bytes.NewReader(d.Header), content), limit)
	d.data = nil
	if err != nil {
		if errors.Is(err, blob.ErrTooLarge) {
			return ErrorTooLarge(err)
		}
		// A refusal raised by the reader (bare LF, size) keeps its
		// meaning; anything else is our failure.
		return AsError(fmt.Errorf("spool: %w", err))
	}
	d.BlobID, d.Size = id, size
	f, err := s.blobs.Open(id)
	if err != nil {
		return ErrorLocal(fmt.Errorf("spool: reopen for parsing: %w", err))
	}
	defer f.Close()
	parsed, err := s.parser.Parse(f)
	if err != nil {
		// Mail is accepted as it is: a message the parser cannot
		// handle is stored without a cached structure rather than lost.
		d.Log.Warn("message not parsed; stored without cached structure", "err", err)
		return nil
	}
	d.Parsed = parsed
	return nil
}

// endReader notes when its reader reports EOF: the end of the client's
// data, from which delivery latency is measured.
type endReader struct {
	r   io.Reader
	end *time.Time
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && e.end.IsZero() {
		*e.end = time.Now()
	}
	return n, err
}
