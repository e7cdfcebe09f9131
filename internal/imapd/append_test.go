package imapd

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mailport/internal/store"
)

func TestAppend(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxLiteralSize = 1000 })
	inbox := ts.mailbox("INBOX")
	c := ts.conn().login()
	c.cmd("s SELECT INBOX").ok()

	msg := crlfText(testMessage("appended"))
	// A synchronizing literal: the server asks for it with "+".
	c.write(fmt.Sprintf("a APPEND INBOX (\\Seen $Important) \"01-Feb-2024 10:00:00 +0100\" {%d}\r\n", len(msg)))
	if line := c.readLine(); !strings.HasPrefix(line, "+ ") {
		t.Fatalf("continuation %q", line)
	}
	c.write(msg + "\r\n")
	c.readResponse("a").ok().code(fmt.Sprintf("APPENDUID %d 1]", inbox.UIDValidity)).untagged("* 1 EXISTS")

	c.cmd("b FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)").ok()
	got := c.responses()[0]
	for _, want := range []string{`FLAGS (\Seen $Important)`, `INTERNALDATE "01-Feb-2024 10:00:00 +0100"`,
		fmt.Sprintf("RFC822.SIZE %d", len(msg)), `"appended"`} {
		if !strings.Contains(got, want) {
			t.Errorf("fetch %q lacks %q", got, want)
		}
	}

	// LITERAL+ and MULTIAPPEND (RFC 3502): one APPENDUID with both.
	c.write(fmt.Sprintf("c APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n", len(msg), msg, len(msg), msg))
	c.readResponse("c").ok().code(fmt.Sprintf("APPENDUID %d 2:3]", inbox.UIDValidity)).untagged("* 3 EXISTS")

	// Refused before the literal is sent: too big, missing mailbox.
	c.cmd("d APPEND INBOX {4000000000}").no().code("TOOBIG")
	c.cmd("e APPEND nosuch {10}").no().code("TRYCREATE")
	// A refused non-synchronizing literal is skipped.
	c.write("f APPEND nosuch {5+}\r\nhello\r\n")
	c.readResponse("f").no().code("TRYCREATE")
	c.cmd(`g APPEND INBOX (\Bogus) {5+}` + "\r\nhello").bad()
	c.cmd("h NOOP").ok()
	if n := ts.mailbox("INBOX").Messages; n != 3 {
		t.Errorf("INBOX has %d messages, want 3", n)
	}
}

func TestAppendOverQuota(t *testing.T) {
	ts := newTestServer(t)
	acct := ts.acct
	acct.QuotaBytes = 300
	if err := ts.st.UpdateAccount(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	c := ts.conn().login()
	c.cmd("a APPEND INBOX {400}").no().code("OVERQUOTA")
	small := crlfText(testMessage("x"))
	c.write(fmt.Sprintf("b APPEND INBOX {%d+}\r\n%s\r\n", len(small), small))
	c.readResponse("b").ok()
	// A MULTIAPPEND that does not fit as a whole stores nothing.
	c.write(fmt.Sprintf("c APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n", len(small), small, len(small), small))
	c.readResponse("c").no().code("OVERQUOTA")
	msgs, err := ts.st.ListMessages(context.Background(), ts.mailbox("INBOX").ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1: %v", len(msgs), msgs)
	}
	_ = store.ErrOverQuota
}
