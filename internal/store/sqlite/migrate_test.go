package sqlite

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailport/internal/mime"
	"mailport/internal/store"
)

// openAtVersion creates a database at path with the migrations numbered
// up to version applied, as an older mailport left it.
func openAtVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ctx := t.Context()
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	for _, n := range names {
		var v int
		if _, err := fmt.Sscanf(strings.TrimPrefix(n, "migrations/"), "%d_", &v); err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		if v > version {
			break
		}
		text, err := migrationFiles.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(text)); err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// TestMigrateHeaderSize: migration 5 fills header_size for the messages
// of an existing database from their structures, as new messages get it.
func TestMigrateHeaderSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := openAtVersion(t, path, 4)
	ctx := t.Context()
	header := "Subject: old\r\n\r\n"
	text := header + "body\r\n"
	parsed, err := mime.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	structure, err := mime.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO domains (id, name, created_at) VALUES (1, 'example.com', 0)`,
		`INSERT INTO accounts (id, address, domain_id, created_at) VALUES (1, 'bob@example.com', 1, 0)`,
		`INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext, highestmodseq, messages, unseen, size)
			VALUES (1, 1, 'INBOX', 1, 4, 4, 3, 3, 0)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		uid       int
		size      int
		structure []byte
		want      int64
	}{
		{1, len(text), structure, int64(len(header))},
		{2, 100, []byte(`{"type":"text/plain"}`), 0}, // not mime's format
		{3, 100, []byte(`not json`), 0},
	}
	var total int
	for _, r := range rows {
		total += r.size
		if _, err := raw.ExecContext(ctx, `INSERT INTO messages (mailbox_id, uid, modseq, internaldate, size, blob_id, structure)
			VALUES (1, ?, ?, 0, ?, 'b', ?)`, r.uid, r.uid+1, r.size, r.structure); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `UPDATE mailboxes SET size = ? WHERE id = 1`, total); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE accounts SET used_bytes = ? WHERE id = 1`, total); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.ListMessages(ctx, 1)
	if err != nil || len(list) != len(rows) {
		t.Fatalf("ListMessages = %d messages, %v", len(list), err)
	}
	for i, m := range list {
		if m.HeaderSize != rows[i].want {
			t.Errorf("uid %d: HeaderSize %d, want %d", m.UID, m.HeaderSize, rows[i].want)
		}
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after migration: %v", err)
	}
}

// TestMigrateFieldLines: after migration 6, the search text stored
// before it is not taken for one line per field (it may hold a decoded
// line break), so SearchHeaderField leaves its messages to the caller,
// while messages added afterwards are answered from their text.
func TestMigrateFieldLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := openAtVersion(t, path, 5)
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO domains (id, name, created_at) VALUES (1, 'example.com', 0)`,
		`INSERT INTO accounts (id, address, domain_id, created_at, used_bytes) VALUES (1, 'bob@example.com', 1, 0, 10)`,
		`INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext, highestmodseq, messages, unseen, size)
			VALUES (1, 1, 'INBOX', 1, 2, 2, 1, 1, 10)`,
		`INSERT INTO messages (id, mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES (1, 1, 1, 2, 0, 10, 'b')`,
		`INSERT INTO message_text (message_id, header, body) VALUES (1, 'subject: a' || char(10) || 'from: evil' || char(10), '')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.AppendMessages(ctx, []store.NewMessage{{MailboxID: 1, Size: 10, BlobID: "c", HeaderText: "From: evil\n"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	hits, unknown, err := db.SearchHeaderField(ctx, 1, "From", "evil")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hits, []uint32{2}) || !slices.Equal(unknown, []uint32{1}) {
		t.Errorf("SearchHeaderField = %v, unknown %v; want [2], unknown [1]", hits, unknown)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after migration: %v", err)
	}
}

// TestMigrateHasText: migration 9 marks the messages that have search
// text, so UnindexedUIDs lists exactly the others.
func TestMigrateHasText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := openAtVersion(t, path, 8)
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO domains (id, name, created_at) VALUES (1, 'example.com', 0)`,
		`INSERT INTO accounts (id, address, domain_id, created_at, used_bytes) VALUES (1, 'bob@example.com', 1, 0, 20)`,
		`INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext, highestmodseq, messages, unseen, size)
			VALUES (1, 1, 'INBOX', 1, 3, 3, 2, 2, 20)`,
		`INSERT INTO messages (id, mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES (1, 1, 1, 2, 0, 10, 'b')`,
		`INSERT INTO messages (id, mailbox_id, uid, modseq, internaldate, size, blob_id) VALUES (2, 1, 2, 3, 0, 10, 'c')`,
		`INSERT INTO message_text (message_id, header, body) VALUES (1, 'subject: a', '')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	uids, err := db.UnindexedUIDs(ctx, 1)
	if err != nil || !slices.Equal(uids, []uint32{2}) {
		t.Errorf("UnindexedUIDs = %v, %v; want [2]", uids, err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after migration: %v", err)
	}
}
