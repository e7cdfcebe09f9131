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
// that blob once. Content a stage already holds in memory is parsed from
// there while the blob is written and fsynced.
type spoolStage struct {
	blobs  *blob.Store
	parser Parser
}

func (spoolStage) Name() string { return "spool" }

func (s spoolStage) Process(ctx context.Context, d *Delivery) error {
	var content io.Reader
	var parsed <-chan parseOutcome
	switch {
	case d.buffer != nil:
		if mb, ok := d.buffer.(memBuffer); ok {
			// The blob will hold exactly these bytes: parse them while
			// Put waits for its fsync, instead of after it from the
			// reopened file.
			whole := make([]byte, 0, len(d.Header)+len(mb.data))
			whole = append(append(whole, d.Header...), mb.data...)
			parsed = s.parseAsync(whole)
			content = bytes.NewReader(whole[len(d.Header):])
			break
		}
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
	var out parseOutcome
	if parsed != nil {
		out = <-parsed
	} else {
		f, err := s.blobs.Open(id)
		if err != nil {
			return ErrorLocal(fmt.Errorf("spool: reopen for parsing: %w", err))
		}
		defer f.Close()
		out.parsed, out.err = s.parser.Parse(f)
	}
	if out.err != nil {
		// Mail is accepted as it is: a message the parser cannot
		// handle is stored without a cached structure rather than lost.
		d.Log.Warn("message not parsed; stored without cached structure", "err", out.err)
		return nil
	}
	d.Parsed = out.parsed
	return nil
}

// parseOutcome is what the Parser returned.
type parseOutcome struct {
	parsed Parsed
	err    error
}

// parseAsync parses msg, the whole blob as it will be stored, in its own
// goroutine; the channel gets the one outcome. msg must not change until
// then. The goroutine ends by itself: msg is in memory and bounded
// (memBufferBytes plus the trace fields).
func (s spoolStage) parseAsync(msg []byte) <-chan parseOutcome {
	c := make(chan parseOutcome, 1)
	go func() {
		p, err := s.parser.Parse(bytes.NewReader(msg))
		c <- parseOutcome{p, err}
	}()
	return c
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
