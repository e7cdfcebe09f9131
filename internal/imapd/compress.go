package imapd

import (
	"bytes"
	"compress/flate"
	"io"

	"mailport/internal/imapd/wire"
)

// cmdCompress: COMPRESS DEFLATE (RFC 4978). After the tagged OK both
// directions are raw DEFLATE (RFC 1951) streams; the output is flushed
// (a sync flush) whenever a response is complete so nothing waits in the
// compressor.
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
	fw, err := flate.NewWriter(s.conn, flate.BestSpeed)
	if err != nil {
		return "", err
	}
	s.fw = fw
	s.compressed = true
	s.setupIO(flate.NewReader(rd), fw)
	return "", errTaggedDone
}
