// Package blob stores message bodies as files under one directory.
//
// A blob is written to a temp file, fsynced and renamed into place; the
// fsync of the directory that makes the rename durable is left to Sync, so
// the caller syncs before it commits the row naming the blob and decides
// how syncs are shared: the queue's group commit syncs a round's
// directories together, delivery syncs each submission's before queueing
// it, so concurrent submitters' fsyncs run side by side.
// Blobs are immutable once written. The same content can be given to many
// mailboxes by hard links (Link), so a message to ten local recipients is
// written once and still has one blob per stored message to delete freely.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrTooLarge is returned by Put when the content exceeds maxSize.
var ErrTooLarge = errors.New("blob: content exceeds size limit")

// Store is a directory of blobs: DIR/ab/abcdef0123... (first byte as a
// fan-out directory so no single directory grows without bound).
type Store struct {
	dir string
}

// Open returns the blob store rooted at dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// path returns the file of id; ok is false for ids not of our shape (which
// would otherwise let a crafted id escape the directory).
func (s *Store) path(id string) (string, bool) {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	return filepath.Join(s.dir, id[:2], id), true
}

// Put copies r into a new blob, fsyncs it and renames it into place. If
// maxSize > 0 and r holds more, Put stops reading after maxSize+1 bytes and
// returns ErrTooLarge. The caller must call Sync with the id before
// reporting the blob durable.
func (s *Store) Put(ctx context.Context, r io.Reader, maxSize int64) (id string, size int64, err error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-")
	if err != nil {
		return "", 0, fmt.Errorf("blob: create temp: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	src := r
	if maxSize > 0 {
		src = io.LimitReader(r, maxSize+1)
	}
	size, err = io.Copy(f, src)
	if err != nil {
		return "", 0, fmt.Errorf("blob: write: %w", err)
	}
	if maxSize > 0 && size > maxSize {
		return "", 0, ErrTooLarge
	}
	if err = ctx.Err(); err != nil {
		return "", 0, err
	}
	if err = f.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: close: %w", err)
	}
	id = newID()
	p, _ := s.path(id)
	if err = os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", 0, fmt.Errorf("blob: mkdir: %w", err)
	}
	if err = os.Rename(tmp, p); err != nil {
		return "", 0, fmt.Errorf("blob: rename: %w", err)
	}
	return id, size, nil
}

// Link gives the content of id a second, independent id (a hard link).
// Like Put, the new id needs Sync before it is durable.
func (s *Store) Link(id string) (string, error) {
	src, ok := s.path(id)
	if !ok {
		return "", fmt.Errorf("blob: bad id %q", id)
	}
	nid := newID()
	dst, _ := s.path(nid)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("blob: mkdir: %w", err)
	}
	if err := os.Link(src, dst); err != nil {
		return "", fmt.Errorf("blob: link: %w", err)
	}
	return nid, nil
}

// Sync makes the given blobs' directory entries durable, fsyncing each
// fan-out directory once however many ids share it.
func (s *Store) Sync(ids ...string) error {
	seen := make(map[string]bool)
	for _, id := range ids {
		p, ok := s.path(id)
		if !ok {
			return fmt.Errorf("blob: bad id %q", id)
		}
		d := filepath.Dir(p)
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if len(seen) > 0 {
		// A fan-out directory made by this batch must itself be durable.
		return syncDir(s.dir)
	}
	return nil
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return fmt.Errorf("blob: open dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: fsync dir %s: %w", d, err)
	}
	return nil
}

// Open opens a blob for reading.
func (s *Store) Open(id string) (*os.File, error) {
	p, ok := s.path(id)
	if !ok {
		return nil, fmt.Errorf("blob: bad id %q", id)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", id, err)
	}
	return f, nil
}

// Delete removes blobs; ids already gone are not an error.
func (s *Store) Delete(ids ...string) error {
	var errs []error
	for _, id := range ids {
		p, ok := s.path(id)
		if !ok {
			errs = append(errs, fmt.Errorf("blob: bad id %q", id))
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("blob: delete %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Exists reports whether a blob is present (for integrity checks).
func (s *Store) Exists(id string) bool {
	p, ok := s.path(id)
	if !ok {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}
