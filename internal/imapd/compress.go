package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"

	"mailport/internal/imapd/wire"
)

// cmdCompress: COMPRESS DEFLATE (RFC 4978). After the tagged OK both
// directions are raw DEFLATE (RFC 1951) streams; the output is flushed
// (a sync flush) whenever a response is complete so nothing waits in the
// compressor, and the input is decoded by inflater, which hands out a
// command as soon as its bytes arrived whatever flush the client used.
func (s *session) cmdCompress(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.CompressArgs)
	if s.compressed {
		// RFC 4978 section 3: COMPRESSIONACTIVE.
		return "", no("COMPRESSIONACTIVE", "compression already active")
	}
	if args.Mechanism != "DEFLATE" {
		return "", bad("unsupported compression mechanism %q", args.Mechanism)
	}
	s.w.Status(cmd.Tag, "OK", "", "DEFLATE active")
	if err := s.flush(); err != nil {
		return "", errCloseConn
	}
	// Bytes the client sent after the command are already compressed;
	// keep them in front of the connection.
	var rd io.Reader = s.conn
	if n := s.br.Buffered(); n > 0 {
		pending, _ := s.br.Peek(n)
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(pending)), s.conn)
	}
	// The compressor writes a block's header and data separately; a
	// buffer under it makes one flush one write, so a client never sees
	// a segment that decompresses to nothing (isync takes that for an
	// empty response).
	zbuf := bufio.NewWriterSize(s.conn, writeBufferSize)
	fw, err := flate.NewWriter(zbuf, flate.BestSpeed)
	if err != nil {
		return "", err
	}
	s.fw, s.zbuf = fw, zbuf
	s.zout = &countWriter{w: fw}
	s.compressed = true
	s.setupIO(newInflater(rd), s.zout)
	return "", errTaggedDone
}

// countWriter counts what goes into the compressor, so a flush with
// nothing new sends nothing: a sync flush of an empty block is five bytes
// a client may read before it has switched to decompressing.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
