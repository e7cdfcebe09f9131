package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Content gives stages before "spool" the whole message content (without
// Header), for checks that need all of it: DKIM verification and signing,
// the From field of a submission. The first call reads the client's
// stream into memory when it is at most memBufferBytes long, else into a
// temporary file without fsync; "spool" then writes the durable blob from
// that copy, so a message is still fsynced once however many stages read
// it. The size limit applies here as in "spool". The returned Source
// reads from offset 0 on each call.
func (d *Delivery) Content(ctx context.Context) (Source, error) {
	if d.buffer != nil {
		if _, err := d.buffer.Seek(0, io.SeekStart); err != nil {
			return nil, ErrorLocal(fmt.Errorf("rewind buffered message: %w", err))
		}
		return d.buffer, nil
	}
	if d.data == nil {
		return nil, ErrorLocal(errors.New("delivery: no message data"))
	}
	dir, max := "", d.MaxMessageBytes
	if d.dl != nil {
		dir = d.dl.cfg.BufferDir
	}
	src := io.Reader(&endReader{r: d.data, end: &d.dataEnd})
	if max > 0 {
		src = io.LimitReader(src, max+1)
	}
	src = &ctxReader{ctx: ctx, r: src}
	d.data = nil
	// Most messages fit in memory: no temporary file to create and
	// remove per message, which under load costs more kernel time than
	// the copy itself.
	head, err := io.ReadAll(io.LimitReader(src, memBufferBytes+1))
	if err != nil {
		return nil, AsError(fmt.Errorf("buffer message: %w", err))
	}
	if max > 0 && int64(len(head)) > max {
		return nil, ErrorTooLarge(fmt.Errorf("message over %d octets", max))
	}
	if len(head) <= memBufferBytes {
		d.buffer = newMemBuffer(head)
		return d.buffer, nil
	}
	f, err := os.CreateTemp(dir, "mailport-delivery-*")
	if err != nil {
		return nil, ErrorLocal(fmt.Errorf("buffer message: %w", err))
	}
	// Unlinked at once: the file lives until closed, and a crash leaves
	// nothing behind.
	os.Remove(f.Name())
	d.buffer = f
	n, err := io.Copy(f, io.MultiReader(bytes.NewReader(head), src))
	if err != nil {
		return nil, AsError(fmt.Errorf("buffer message: %w", err))
	}
	if max > 0 && n > max {
		return nil, ErrorTooLarge(fmt.Errorf("message over %d octets", max))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, ErrorLocal(fmt.Errorf("rewind buffered message: %w", err))
	}
	return f, nil
}

// memBufferBytes is the largest content Content keeps in memory; larger
// messages go to a temporary file. Concurrent deliveries are bounded by
// the connection limits, so memory stays bounded too.
const memBufferBytes = 256 << 10

// contentBuffer is the copy Content keeps: in memory or a temporary file.
type contentBuffer interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// memBuffer is an in-memory contentBuffer; data is its content, which
// "spool" writes and parses without reading it through the Reader.
type memBuffer struct {
	*bytes.Reader
	data []byte
}

func newMemBuffer(b []byte) memBuffer { return memBuffer{Reader: bytes.NewReader(b), data: b} }

func (memBuffer) Close() error { return nil }

func (d *Delivery) closeBuffer() {
	if d.buffer != nil {
		d.buffer.Close()
		d.buffer = nil
	}
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// maxHeaderBytes bounds the header section HeaderSection reads.
const maxHeaderBytes = 1 << 20

// HeaderSection returns the header section of the content (up to and
// including the empty line), bounded to 1 MiB.
func (d *Delivery) HeaderSection(ctx context.Context) ([]byte, error) {
	src, err := d.Content(ctx)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(io.LimitReader(src, maxHeaderBytes))
	var buf bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		buf.Write(line)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	return buf.Bytes(), nil
}

// OpenRelayCopy opens the spooled message as it is sent onwards: without
// the Return-Path field, which only final delivery adds (RFC 5321 section
// 4.4: a relay must not send it). The caller closes it.
func (d *Delivery) OpenRelayCopy() (io.ReadCloser, error) {
	if d.BlobID == "" || d.dl == nil {
		return nil, errors.New("delivery: message not spooled")
	}
	f, err := d.dl.cfg.Blobs.Open(d.BlobID)
	if err != nil {
		return nil, fmt.Errorf("open spooled message: %w", err)
	}
	if _, err := f.Seek(int64(d.returnPathLen), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("open spooled message: %w", err)
	}
	return f, nil
}

// RelayBlob names the spooled message for an outbound queue that keeps a
// hard link to it instead of a copy (queue.EnqueueLink): the blob and the
// offset where the copy sent onwards starts, past the Return-Path field
// (as OpenRelayCopy reads it). The blob's content is fsynced by "spool";
// its directory entry is not, so the queue makes its own link durable.
// The blob itself stays the delivery's.
func (d *Delivery) RelayBlob() (blobID string, offset int64, err error) {
	if d.BlobID == "" || d.dl == nil {
		return "", 0, errors.New("delivery: message not spooled")
	}
	return d.BlobID, int64(d.returnPathLen), nil
}

// DropHeaderFields removes from the content the header fields for which
// drop(name, value) is true (value unfolded as written, without the line
// ends of its continuation lines removed) and returns how many it
// removed. The content buffer is replaced by the shorter copy; fields
// past the first MiB of header (HeaderSection's bound) are kept.
func (d *Delivery) DropHeaderFields(ctx context.Context, drop func(name, value string) bool) (int, error) {
	hdr, err := d.HeaderSection(ctx)
	if err != nil {
		return 0, err
	}
	kept, n := filterFields(hdr, drop)
	if n == 0 {
		return 0, nil
	}
	size, err := d.buffer.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, ErrorLocal(fmt.Errorf("size of buffered message: %w", err))
	}
	rest := io.NewSectionReader(d.buffer, int64(len(hdr)), size-int64(len(hdr)))
	var nb contentBuffer
	if int64(len(kept))+rest.Size() <= memBufferBytes {
		b := make([]byte, len(kept), len(kept)+int(rest.Size()))
		copy(b, kept)
		body, err := io.ReadAll(rest)
		if err != nil {
			return 0, ErrorLocal(fmt.Errorf("rewrite buffered message: %w", err))
		}
		nb = newMemBuffer(append(b, body...))
	} else {
		dir := ""
		if d.dl != nil {
			dir = d.dl.cfg.BufferDir
		}
		f, err := os.CreateTemp(dir, "mailport-delivery-*")
		if err != nil {
			return 0, ErrorLocal(fmt.Errorf("rewrite buffered message: %w", err))
		}
		os.Remove(f.Name())
		if _, err := io.Copy(f, io.MultiReader(bytes.NewReader(kept), rest)); err != nil {
			f.Close()
			return 0, ErrorLocal(fmt.Errorf("rewrite buffered message: %w", err))
		}
		nb = f
	}
	d.buffer.Close()
	d.buffer = nb
	return n, nil
}

// filterFields returns the header section without the fields drop
// selects (a field is its first line and the continuation lines that
// start with white space, RFC 5322 section 2.2.3), and how many it left
// out.
func filterFields(hdr []byte, drop func(name, value string) bool) ([]byte, int) {
	out := make([]byte, 0, len(hdr))
	n := 0
	for len(hdr) > 0 {
		end := fieldEnd(hdr)
		field := hdr[:end]
		hdr = hdr[end:]
		name, value, ok := bytes.Cut(field, []byte(":"))
		if ok && len(bytes.TrimSpace(field)) > 0 && drop(string(bytes.TrimRight(name, " \t")), string(value)) {
			n++
			continue
		}
		out = append(out, field...)
	}
	return out, n
}

// fieldEnd is the length of the first field of hdr with its continuation
// lines (the whole rest when it does not end).
func fieldEnd(hdr []byte) int {
	i := 0
	for {
		nl := bytes.IndexByte(hdr[i:], '\n')
		if nl < 0 {
			return len(hdr)
		}
		i += nl + 1
		if i >= len(hdr) || (hdr[i] != ' ' && hdr[i] != '\t') {
			return i
		}
	}
}
