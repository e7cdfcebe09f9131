package sqlite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailport/internal/store"
)

// fillMailbox appends n messages in batches of 1000.
func fillMailbox(b *testing.B, db *DB, mailboxID int64, n int) {
	b.Helper()
	env := make([]byte, 600)
	structure := make([]byte, 400)
	for done := 0; done < n; {
		batch := make([]store.NewMessage, 0, 1000)
		for ; len(batch) < cap(batch) && done < n; done++ {
			var flags []string
			if done%3 == 0 {
				flags = []string{`\Seen`}
			}
			batch = append(batch, store.NewMessage{MailboxID: mailboxID, Flags: flags, Size: 4000,
				BlobID: fmt.Sprintf("%032x", done), InternalDate: time.Now(), Envelope: env, Structure: structure})
		}
		res, err := db.AppendMessages(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}

func benchSetup(b *testing.B) (*DB, store.Mailbox) {
	b.Helper()
	db, err := Open(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	d, err := db.CreateDomain(b.Context(), "example.com")
	if err != nil {
		b.Fatal(err)
	}
	a, err := db.CreateAccount(b.Context(), store.Account{Address: "bob@example.com", DomainID: d.ID, Enabled: true},
		[]store.MailboxSpec{{Name: "INBOX"}})
	if err != nil {
		b.Fatal(err)
	}
	mb, err := db.GetMailbox(b.Context(), a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	return db, mb
}

// BenchmarkAppendBatch measures group commit: one fsynced transaction per
// batch; msg/s is the delivery rate the store allows.
func BenchmarkAppendBatch(b *testing.B) {
	for _, size := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db, mb := benchSetup(b)
			env := make([]byte, 600)
			n := 0
			for b.Loop() {
				batch := make([]store.NewMessage, size)
				for i := range batch {
					n++
					batch[i] = store.NewMessage{MailboxID: mb.ID, Size: 4000, BlobID: fmt.Sprintf("%032x", n),
						InternalDate: time.Now(), Envelope: env, Structure: env}
				}
				if _, err := db.AppendMessages(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

func BenchmarkListMessages100k(b *testing.B) {
	db, mb := benchSetup(b)
	fillMailbox(b, db, mb.ID, 100000)
	for b.Loop() {
		list, err := db.ListMessages(b.Context(), mb.ID)
		if err != nil || len(list) != 100000 {
			b.Fatal(err, len(list))
		}
	}
}

func BenchmarkGetMailbox100k(b *testing.B) {
	db, mb := benchSetup(b)
	fillMailbox(b, db, mb.ID, 100000)
	for b.Loop() {
		m, err := db.GetMailboxByID(b.Context(), mb.ID)
		if err != nil || m.Messages != 100000 {
			b.Fatal(err, m.Messages)
		}
	}
}

func BenchmarkChangesSince100k(b *testing.B) {
	db, mb := benchSetup(b)
	fillMailbox(b, db, mb.ID, 100000)
	m, err := db.GetMailboxByID(b.Context(), mb.ID)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c, err := db.ChangesSince(b.Context(), mb.ID, m.HighestModSeq-10)
		if err != nil || len(c.Changed) != 10 {
			b.Fatal(err, len(c.Changed))
		}
	}
}

// fillTextMailbox appends n messages with header and body text of the
// kind mail has: addresses, a subject, and some paragraphs of words.
func fillTextMailbox(b *testing.B, db *DB, mailboxID int64, n int) {
	b.Helper()
	words := strings.Fields(`the of and to in is that for it with as was on be at by this
		had not are but from or have an they which one you were all we her she there would their
		meeting report invoice schedule project budget review Grüße Ärger résumé déjà vu`)
	for done := 0; done < n; {
		batch := make([]store.NewMessage, 0, 1000)
		for ; len(batch) < cap(batch) && done < n; done++ {
			var body strings.Builder
			for w := 0; w < 300; w++ {
				body.WriteString(words[(done*7+w*13+w*w)%len(words)])
				body.WriteByte(' ')
			}
			if done%1000 == 0 {
				body.WriteString("needle-in-a-haystack")
			}
			header := fmt.Sprintf("From: User %d <user%d@example.com>\r\nTo: bob@example.com\r\nSubject: %s %d",
				done%50, done%50, words[done%len(words)], done)
			batch = append(batch, store.NewMessage{MailboxID: mailboxID, Size: 4000,
				BlobID: fmt.Sprintf("%032x", done), InternalDate: time.Now(), HeaderText: header, BodyText: body.String()})
		}
		res, err := db.AppendMessages(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}

// BenchmarkSearchText10k measures SEARCH on a 10,000-message mailbox: a
// rare needle (the index pays off), a common one (most messages are
// candidates and confirmed), one that matches nothing, and a short one
// (scanned without the index).
func BenchmarkSearchText10k(b *testing.B) {
	db, mb := benchSetup(b)
	fillTextMailbox(b, db, mb.ID, 10000)
	cases := []struct {
		name   string
		field  store.TextField
		substr string
	}{
		{"rare body", store.TextBody, "Needle-In"},
		{"rare header", store.TextHeader, "user17@"},
		{"common all", store.TextAll, "meeting"},
		{"non-ascii body", store.TextBody, "DÉJÀ VU"},
		{"none", store.TextAll, "zzzqqq"},
		{"short body", store.TextBody, "vu"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var hits int
			for b.Loop() {
				uids, err := db.SearchText(b.Context(), mb.ID, c.field, c.substr)
				if err != nil {
					b.Fatal(err)
				}
				hits = len(uids)
			}
			b.ReportMetric(float64(hits), "hits")
		})
	}
}

// BenchmarkAppendBatchText is BenchmarkAppendBatch with search text, to
// show what indexing adds to a group commit.
func BenchmarkAppendBatchText(b *testing.B) {
	db, mb := benchSetup(b)
	body := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 60) // ~2.7 kB
	n := 0
	for b.Loop() {
		batch := make([]store.NewMessage, 64)
		for i := range batch {
			n++
			batch[i] = store.NewMessage{MailboxID: mb.ID, Size: 4000, BlobID: fmt.Sprintf("%032x", n),
				InternalDate: time.Now(), HeaderText: fmt.Sprintf("Subject: message %d", n), BodyText: body}
		}
		if _, err := db.AppendMessages(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
}
