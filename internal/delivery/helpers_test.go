package delivery

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailport/internal/blob"
	"mailport/internal/directory"
	"mailport/internal/notify"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

type env struct {
	dir   string
	st    store.Store
	blobs *blob.Store
	dirs  *directory.Service
	bus   *notify.Bus
	com   *Committer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, st: st, blobs: blobs, bus: notify.NewBus()}
	e.dirs = directory.New(st, blobs, directory.Options{PlusSeparator: "+", Logger: slog.New(slog.DiscardHandler)})
	e.com = NewCommitter(st, blobs, e.bus, nil)
	t.Cleanup(func() {
		e.com.Close()
		st.Close()
	})
	if _, err := e.dirs.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) user(t *testing.T, addr string, quota int64) store.Account {
	t.Helper()
	a, err := e.dirs.AddUser(context.Background(), directory.NewUser{Address: addr, Password: "correct horse battery", QuotaBytes: quota})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) deliverer(t *testing.T, p Parser, max int64) *Deliverer {
	return NewDeliverer(Config{
		Hostname: "mx.example.test", Store: e.st, Blobs: e.blobs, Committer: e.com,
		Parser: p, MaxMessageBytes: max,
		Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) },
	})
}

// inbox lists the messages in addr's INBOX.
func (e *env) inbox(t *testing.T, addr string) []store.Message {
	t.Helper()
	ctx := context.Background()
	a, err := e.st.GetAccountByAddress(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.st.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := e.st.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func (e *env) read(t *testing.T, id string) string {
	t.Helper()
	f, err := e.blobs.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// blobFiles counts message files, temp files included, so a test sees
// anything left behind.
func (e *env) blobFiles(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(e.dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) resolve(t *testing.T, en *Envelope, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		res, err := e.dirs.Resolve(context.Background(), a)
		if err != nil {
			t.Fatalf("resolve %s: %v", a, err)
		}
		en.RcptTo = append(en.RcptTo, a)
		for _, l := range res.Local {
			en.AddLocal(l, RecipientDSN{})
		}
	}
}

func sameFile(t *testing.T, e *env, a, b string) bool {
	t.Helper()
	fa, err := e.blobs.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := e.blobs.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	sa, _ := fa.Stat()
	sb, _ := fb.Stat()
	return os.SameFile(sa, sb)
}

const testMessage = "From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello.\r\n"

// countingParser records how often it runs and returns fixed JSON.
type countingParser struct{ calls int }

func (p *countingParser) Parse(src Source) (Parsed, error) {
	p.calls++
	b, err := io.ReadAll(src)
	if err != nil {
		return Parsed{}, err
	}
	if !strings.Contains(string(b), "Subject:") {
		return Parsed{}, io.ErrUnexpectedEOF
	}
	return Parsed{Envelope: []byte(`{"subject":"hi"}`), Structure: []byte(`{"type":"text/plain"}`), BodyText: "hello."}, nil
}
