package imapd

import (
	"bufio"
	"compress/flate"
	"testing"
)

// flateRW is the client side of COMPRESS=DEFLATE. A flush is one write
// to the connection (the compressor's block and sync marker buffered
// together): after a LOGOUT the server may decode the command from the
// first part, answer and close before a second write, which would then
// fail with a broken pipe.
type flateRW struct {
	fw *flate.Writer
	bw *bufio.Writer
}

func (f *flateRW) Write(p []byte) (int, error) { return f.fw.Write(p) }
func (f *flateRW) Flush() error {
	if err := f.fw.Flush(); err != nil {
		return err
	}
	return f.bw.Flush()
}

func TestCompress(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", testMessage("compressed"))
	c := ts.conn().login()
	c.cmd("a COMPRESS DEFLATE").ok()
	bw := bufio.NewWriter(c.conn)
	fw, err := flate.NewWriter(bw, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	c.w = &flateRW{fw: fw, bw: bw}
	c.br = bufio.NewReader(flate.NewReader(c.conn))
	c.cmd("b SELECT INBOX").ok().untagged("* 1 EXISTS")
	c.cmd("c FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").ok()
	c.cmd("d CAPABILITY").ok().notUntagged("* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE SASL-IR NAMESPACE UIDPLUS MOVE UNSELECT SPECIAL-USE CREATE-SPECIAL-USE CHILDREN LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE APPENDLIMIT=52428800 MULTIAPPEND BINARY SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT UTF8=ACCEPT COMPRESS=DEFLATE")
	c.cmd("e COMPRESS DEFLATE").no().code("COMPRESSIONACTIVE")
	c.cmd("f LOGOUT").ok()

	t.Run("before login", func(t *testing.T) {
		ts.conn().cmd("a COMPRESS DEFLATE").bad()
	})
}
