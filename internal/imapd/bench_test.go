package imapd

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailport/internal/store"
)

// BenchmarkLargeMailbox measures SELECT and UID FETCH 1:* (FLAGS) on a
// mailbox of 100,000 messages (issue 3: each well under a second).
func BenchmarkLargeMailbox(b *testing.B) {
	const n = 100_000
	ts := newTestServer(b)
	ctx := context.Background()
	inbox := ts.mailbox("INBOX")
	raw := crlfText(testMessage("bulk"))
	id, size, err := ts.blobs.Put(ctx, strings.NewReader(raw), 0)
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < n; {
		batch := make([]store.NewMessage, 0, 5000)
		for i := 0; i < 5000 && done < n; i++ {
			flags := []string(nil)
			if done%3 == 0 {
				flags = []string{store.FlagSeen}
			}
			batch = append(batch, store.NewMessage{MailboxID: inbox.ID, Flags: flags, InternalDate: time.Now(), Size: size, BlobID: id})
			done++
		}
		if _, err := ts.st.AppendMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	c := ts.conn().login()
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			c.cmd("a SELECT INBOX").ok()
		}
	})
	b.Run("uid-fetch-flags", func(b *testing.B) {
		c.cmd("a SELECT INBOX").ok()
		for b.Loop() {
			c.cmd("b UID FETCH 1:* (FLAGS)").ok()
			if len(c.responses()) != n {
				b.Fatalf("%d responses", len(c.responses()))
			}
		}
	})
}
