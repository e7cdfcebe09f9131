package smtpd

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"mailport/internal/mime"
)

// nestedMessage is a message with depth multiparts nested in each other.
func nestedMessage(depth int) string {
	var b strings.Builder
	b.WriteString("From: a@remote.test\r\nSubject: deep\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func TestDeeplyNestedMessageStored(t *testing.T) {
	w := newWorld(t)
	_, addr := start(t, w.config(), false)
	body := nestedMessage(10000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := sendMail(addr, "a@remote.test", []string{"alice@example.test"}, body); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Client, server and parser together: a small multiple of the
	// message, not a per-level stack or copy.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 10*uint64(len(body)) {
		t.Errorf("allocated %d bytes for a %d byte message", grew, len(body))
	}
	msgs := w.inbox(t, "alice@example.test")
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored", len(msgs))
	}
	full, err := w.st.GetMessage(context.Background(), msgs[0].MailboxID, msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mime.Unmarshal(full.Structure)
	if err != nil {
		t.Fatalf("structure: %v", err)
	}
	if m.Envelope.Subject != "deep" || m.Size != full.Size {
		t.Errorf("parsed %+v", m.Envelope)
	}
}
