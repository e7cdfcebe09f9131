package e2e

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
	"time"
)

// syncMarker ends a DEFLATE sync flush: an empty stored block (RFC 1951
// section 3.2.4) has LEN 0000 and NLEN FFFF.
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// TestIMAPCompressNoEmptyFlush checks the compressed stream the server
// sends after COMPRESS DEFLATE (RFC 4978): every flush must carry data.
// A flush that decodes to nothing (as when the session flushes the
// compressor with no response pending right after the tagged OK) reaches
// the client as a read that inflates to zero bytes, which Debian's mbsync
// 1.4.4 reports as "IMAP error: empty response" and aborts, about one run
// in three. TestIMAPMbsyncTwoWay disables COMPRESS until this passes.
func TestIMAPCompressNoEmptyFlush(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil, "z")
	c := dialRawIMAP(t, ts.addr(t, "imap"), false)
	c.cmd("LOGIN z@%s %s", testDomain, userPassword)
	c.cmd("COMPRESS DEFLATE")

	fw, err := flate.NewWriter(c.conn, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	c.conn.SetWriteDeadline(time.Now().Add(imapDeadline))
	if _, err := fw.Write([]byte("z1 NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatalf("send compressed NOOP: %v", err)
	}

	// Read raw compressed bytes (c.r may hold some already) until they
	// decode to the tagged NOOP response.
	var raw []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(inflatePrefix(raw)), "z1 OK") {
		c.conn.SetReadDeadline(time.Now().Add(imapDeadline))
		n, err := c.r.Read(buf)
		if err != nil {
			t.Fatalf("read compressed response: %v (have %x, decoded %q)", err, raw, inflatePrefix(raw))
		}
		raw = append(raw, buf[:n]...)
	}

	// Walk the flushes: each one, up to and including its sync marker,
	// must add decoded bytes.
	prev, start := 0, 0
	for end := 0; ; {
		i := bytes.Index(raw[end:], syncMarker)
		if i < 0 {
			break
		}
		end += i + len(syncMarker)
		n := len(inflatePrefix(raw[:end]))
		if n == prev {
			t.Errorf("the server's compressed stream has a flush that decodes to nothing: bytes %d..%d of %x "+
				"(mbsync 1.4.4 fails on it with \"IMAP error: empty response\")", start, end, raw)
		}
		prev, start = n, end
	}
}

// inflatePrefix decodes as much of a raw DEFLATE stream as is there.
func inflatePrefix(raw []byte) []byte {
	var out bytes.Buffer
	r := flate.NewReader(bytes.NewReader(raw))
	io.Copy(&out, r)
	return out.Bytes()
}
