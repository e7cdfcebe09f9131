package imapd

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/delivery"
	"mailport/internal/store"
)

// corpusDir is the shared SpamAssassin corpus bench/imap.sh uses; the
// corpus benchmarks are skipped without it.
const corpusDir = "../../../shared/corpus"

// corpusServer is a test server whose INBOX holds the first n corpus
// messages, chosen and normalized the way bench/imap populate does (sorted
// by path, mbox "From " line removed, files with NUL left out, CRLF).
func corpusServer(b *testing.B, n int) *testServer {
	b.Helper()
	var files []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		b.Skipf("no corpus at %s: %v", corpusDir, err)
	}
	slices.Sort(files)
	ts := newTestServer(b)
	ctx := context.Background()
	inbox := ts.mailbox("INBOX")
	var batch []delivery.Append
	count := 0
	for _, f := range files {
		if count == n {
			break
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if bytes.HasPrefix(raw, []byte("From ")) {
			if i := bytes.IndexByte(raw, '\n'); i >= 0 {
				raw = raw[i+1:]
			}
		}
		if bytes.IndexByte(raw, 0) >= 0 {
			continue
		}
		text := crlfText(strings.ReplaceAll(string(raw), "\r", ""))
		id, size, err := ts.blobs.Put(ctx, strings.NewReader(text), 0)
		if err != nil {
			b.Fatal(err)
		}
		parsed, err := delivery.MIMEParser.Parse(strings.NewReader(text))
		if err != nil {
			b.Fatal(err)
		}
		nm := store.NewMessage{MailboxID: inbox.ID, InternalDate: time.Now(), Size: size, BlobID: id}
		parsed.Fill(&nm)
		batch = append(batch, delivery.Append{AccountID: ts.acct.ID, Message: nm})
		count++
		if len(batch) == 200 || count == n {
			res, err := ts.committer.Submit(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			batch = batch[:0]
		}
	}
	if count < n {
		b.Skipf("only %d usable corpus messages, want %d", count, n)
	}
	return ts
}

// BenchmarkCorpus2000 runs the operations of bench/imap.sh's workload on
// the same 2,000 corpus messages, in process, for profiling.
func BenchmarkCorpus2000(b *testing.B) {
	const n = 2000
	ts := corpusServer(b, n)
	c := ts.conn().login()
	// The harness's deadline guards tests; benchmarks may run longer.
	c.conn.SetDeadline(time.Time{})
	c.cmd("s SELECT INBOX").ok()
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			c.cmd("a SELECT INBOX").ok()
		}
	})
	b.Run("fetch-headers", func(b *testing.B) {
		for b.Loop() {
			c.cmd("a FETCH 1:* (BODY.PEEK[HEADER])").ok()
			if len(c.responses()) != n {
				b.Fatalf("%d responses", len(c.responses()))
			}
		}
	})
	b.Run("fetch-body", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = i%n + 1
			c.cmdf("a FETCH %d (BODY.PEEK[])", i).ok()
		}
	})
	b.Run("store", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = i%n + 1
			op := "+"
			if i%2 == 0 {
				op = "-"
			}
			c.cmdf(`a STORE %d %sFLAGS.SILENT (\Flagged)`, i, op).ok()
		}
	})
	for _, key := range []string{"BODY money", `FROM "spamassassin"`, "UNSEEN", `SUBJECT "re:"`} {
		b.Run("search-"+strings.Fields(key)[0], func(b *testing.B) {
			for b.Loop() {
				c.cmd("a SEARCH " + key).ok()
			}
		})
	}
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			c.write("a IDLE\r\n")
			c.expect("+ idling")
			c.write("DONE\r\n")
			c.readResponse("a").ok()
		}
	})
}
