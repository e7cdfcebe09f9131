package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutOpenLinkDelete(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id, n, err := s.Put(ctx, strings.NewReader("hello\r\n"), 0)
	if err != nil || n != 7 {
		t.Fatalf("Put = %q, %d, %v", id, n, err)
	}
	if err := s.Sync(id); err != nil {
		t.Fatal(err)
	}
	id2, err := s.Link(id)
	if err != nil || id2 == id {
		t.Fatalf("Link = %q, %v", id2, err)
	}
	if err := s.Sync(id, id2); err != nil {
		t.Fatal(err)
	}
	// Deleting one link leaves the other readable.
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if s.Exists(id) || !s.Exists(id2) {
		t.Fatalf("exists after delete: %v %v", s.Exists(id), s.Exists(id2))
	}
	f, err := s.Open(id2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello\r\n" {
		t.Fatalf("content %q", b)
	}
	// Deleting what is gone is not an error.
	if err := s.Delete(id, id2, id2); err != nil {
		t.Fatalf("Delete of missing: %v", err)
	}
}

func TestPutTooLarge(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Put(context.Background(), strings.NewReader(strings.Repeat("x", 101)), 100)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// The temp file is removed and no blob exists.
	left, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
	if _, _, err := s.Put(context.Background(), strings.NewReader(strings.Repeat("x", 100)), 100); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

func TestPutCancelled(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Put(ctx, strings.NewReader("x"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadIDs(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "../../etc/passwd", "ABCDEF0123456789ABCDEF0123456789", strings.Repeat("a", 33)} {
		if _, err := s.Open(id); err == nil {
			t.Errorf("Open(%q) succeeded", id)
		}
		if _, err := s.Link(id); err == nil {
			t.Errorf("Link(%q) succeeded", id)
		}
		if err := s.Delete(id); err == nil {
			t.Errorf("Delete(%q) succeeded", id)
		}
		if err := s.Sync(id); err == nil {
			t.Errorf("Sync(%q) succeeded", id)
		}
		if s.Exists(id) {
			t.Errorf("Exists(%q)", id)
		}
	}
}
