package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/store"
	"mailport/internal/store/storetest"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "mailport.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := openTemp(t)
		// Cleanups run last-registered first: this one before Close.
		// It adds FTS5's own index check to the suite's Check.
		t.Cleanup(func() { ftsIntegrity(t, db) })
		return db
	})
}

func TestPragmas(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL: the WAL is fsynced at every commit
		{"foreign_keys", "1"},
		{"busy_timeout", fmt.Sprint(busyTimeoutMS)},
	}
	for _, tc := range tests {
		var got string
		if err := db.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("writer PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	var qo string
	if err := db.r.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader query_only = %q, %v", qo, err)
	}
}

// TestReopen checks that committed data survives closing and reopening,
// that migrations are not applied twice and that Check passes.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mailport.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.CreateDomain(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAccount(ctx, store.Account{Address: "bob@example.com", DomainID: d.ID, Enabled: true},
		[]store.MailboxSpec{{Name: "INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := db.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.AppendMessages(ctx, []store.NewMessage{{
		MailboxID: inbox.ID, Flags: []string{`\Seen`, "$Work"}, Size: 123, BlobID: "0123456789abcdef0123456789abcdef",
		InternalDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)), Envelope: []byte("env"),
	}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after reopen: %v", err)
	}
	var versions int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) {
		t.Errorf("schema_version has %d rows, want %d (each migration applied once)", versions, len(files))
	}
	m, err := db.GetMessage(ctx, inbox.ID, 1)
	if err != nil {
		t.Fatalf("GetMessage after reopen: %v", err)
	}
	want := res[0].Message
	if m.ID != want.ID || m.BlobID != want.BlobID || m.Size != 123 || !slices.Equal(m.Flags, want.Flags) ||
		!m.InternalDate.Equal(want.InternalDate) || m.InternalDate.Format(time.RFC3339) != "2024-01-02T03:04:05-05:00" ||
		string(m.Envelope) != "env" {
		t.Errorf("after reopen %+v, want %+v", m, want)
	}
	mb, err := db.GetMailboxByID(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.UIDNext != 2 || mb.Messages != 1 || mb.UIDValidity != inbox.UIDValidity {
		t.Errorf("mailbox after reopen %+v", mb)
	}
	// The UIDVALIDITY counter survives too.
	again, err := db.CreateMailbox(ctx, a.ID, store.MailboxSpec{Name: "New"})
	if err != nil {
		t.Fatal(err)
	}
	if again.UIDValidity <= inbox.UIDValidity {
		t.Errorf("UIDVALIDITY after reopen %d, not above %d", again.UIDValidity, inbox.UIDValidity)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mailport.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (9999)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", "/tmp/x?mode=ro", filepath.Join(t.TempDir(), "missing-dir", "db")} {
		if db, err := Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func setup(t *testing.T) (*DB, store.Account, store.Mailbox) {
	t.Helper()
	db := openTemp(t)
	ctx := t.Context()
	d, err := db.CreateDomain(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAccount(ctx, store.Account{Address: "bob@example.com", DomainID: d.ID, Enabled: true},
		[]store.MailboxSpec{{Name: "INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := db.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return db, a, inbox
}

func TestCheckFindsBrokenCounters(t *testing.T) {
	db, a, inbox := setup(t)
	ctx := t.Context()
	res, err := db.AppendMessages(ctx, []store.NewMessage{{MailboxID: inbox.ID, Size: 10, BlobID: "b1"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check on a good database: %v", err)
	}
	tests := []struct {
		name, breakSQL, fixSQL, want string
	}{
		{"message count", `UPDATE mailboxes SET messages = 5`, `UPDATE mailboxes SET messages = 1`, "mailbox counters"},
		{"uidnext", `UPDATE mailboxes SET uidnext = 1`, `UPDATE mailboxes SET uidnext = 2`, "mailbox counters"},
		{"used bytes", `UPDATE accounts SET used_bytes = 1`, `UPDATE accounts SET used_bytes = 10`, "account used bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.w.ExecContext(ctx, tc.breakSQL); err != nil {
				t.Fatal(err)
			}
			err := db.Check(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want a %q problem", err, tc.want)
			}
			if _, err := db.w.ExecContext(ctx, tc.fixSQL); err != nil {
				t.Fatal(err)
			}
			if err := db.Check(ctx); err != nil {
				t.Errorf("Check after repair: %v", err)
			}
		})
	}
	_ = a
}

func TestCheckFindsForeignKeyViolation(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	// Foreign key enforcement is per connection; turn it off on the one
	// writer connection to plant an orphan as a crash of a buggy version
	// might.
	conn, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO tombstones (mailbox_id, uid, modseq) VALUES (?, 1, 1)`, inbox.ID+100); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Errorf("Check = %v, want a foreign key problem", err)
	}
}

// TestListLeavesOutParsedParts pins the cheap ListMessages: the cached
// envelope and structure come only from GetMessage.
func TestListLeavesOutParsedParts(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	res, err := db.AppendMessages(ctx, []store.NewMessage{{MailboxID: inbox.ID, Size: 1, BlobID: "b",
		Envelope: []byte("e"), Structure: []byte("s")}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	list, err := db.ListMessages(ctx, inbox.ID)
	if err != nil || len(list) != 1 {
		t.Fatal(err, list)
	}
	if list[0].Envelope != nil || list[0].Structure != nil {
		t.Errorf("ListMessages loaded envelope/structure")
	}
	c, err := db.ChangesSince(ctx, inbox.ID, 0)
	if err != nil || len(c.Changed) != 1 || c.Changed[0].Envelope != nil {
		t.Errorf("ChangesSince = %+v, %v", c, err)
	}
}

func TestAppendBadItems(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	tests := []struct {
		name string
		msg  store.NewMessage
	}{
		{"recent flag", store.NewMessage{MailboxID: inbox.ID, Size: 1, BlobID: "b", Flags: []string{`\Recent`}}},
		{"unknown system flag", store.NewMessage{MailboxID: inbox.ID, Size: 1, BlobID: "b", Flags: []string{`\Important`}}},
		{"keyword with space", store.NewMessage{MailboxID: inbox.ID, Size: 1, BlobID: "b", Flags: []string{"a b"}}},
		{"empty keyword", store.NewMessage{MailboxID: inbox.ID, Size: 1, BlobID: "b", Flags: []string{""}}},
		{"negative size", store.NewMessage{MailboxID: inbox.ID, Size: -1, BlobID: "b"}},
		{"no blob", store.NewMessage{MailboxID: inbox.ID, Size: 1}},
	}
	msgs := []store.NewMessage{{MailboxID: inbox.ID, Size: 1, BlobID: "good"}}
	for _, tc := range tests {
		msgs = append(msgs, tc.msg)
	}
	res, err := db.AppendMessages(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Message.UID != 1 {
		t.Errorf("good item: %+v", res[0])
	}
	for i, tc := range tests {
		if res[i+1].Err == nil {
			t.Errorf("%s: stored as %+v", tc.name, res[i+1].Message)
		}
	}
	mb, err := db.GetMailboxByID(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.Messages != 1 || mb.UIDNext != 2 {
		t.Errorf("mailbox after bad items: %+v", mb)
	}
	if _, _, err := db.UpdateFlags(ctx, inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Recent`}, 0); err == nil {
		t.Errorf("UpdateFlags accepted \\Recent")
	}
}

// TestAppendCanceled checks that a batch whose context ends stores nothing
// and reports the whole batch failed.
func TestAppendCanceled(t *testing.T) {
	db, _, inbox := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.AppendMessages(ctx, []store.NewMessage{{MailboxID: inbox.ID, Size: 1, BlobID: "b"}}); err == nil {
		t.Fatal("AppendMessages with canceled context succeeded")
	}
	mb, err := db.GetMailboxByID(t.Context(), inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.Messages != 0 || mb.UIDNext != 1 {
		t.Errorf("canceled batch left %+v", mb)
	}
}

func TestErrorsWrapped(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	if _, err := db.CreateDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	_, err := db.CreateDomain(ctx, "example.com")
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), `create domain "example.com"`) {
		t.Errorf("duplicate domain error %q", err)
	}
	_, err = db.GetDomain(ctx, "x.example")
	if !errors.Is(err, store.ErrNotFound) || errors.Is(err, sql.ErrNoRows) {
		t.Errorf("missing domain error %q should be ErrNotFound and not expose sql.ErrNoRows", err)
	}
}

// TestUIDExhaustion checks the 32-bit UID limit: the last UID is 2^32-2
// so that UIDNEXT still fits, and later appends fail one by one.
func TestUIDExhaustion(t *testing.T) {
	db, _, inbox := setup(t)
	ctx := t.Context()
	if _, err := db.w.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ? WHERE id = ?`, int64(math.MaxUint32-1), inbox.ID); err != nil {
		t.Fatal(err)
	}
	res, err := db.AppendMessages(ctx, []store.NewMessage{
		{MailboxID: inbox.ID, Size: 1, BlobID: "a"},
		{MailboxID: inbox.ID, Size: 1, BlobID: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Message.UID != math.MaxUint32-1 {
		t.Errorf("last UID: %+v", res[0])
	}
	if res[1].Err == nil {
		t.Errorf("append past the last UID stored UID %d", res[1].Message.UID)
	}
	mb, err := db.GetMailboxByID(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.UIDNext != math.MaxUint32 {
		t.Errorf("UIDNext = %d, want %d", mb.UIDNext, uint32(math.MaxUint32))
	}
}
