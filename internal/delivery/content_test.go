package delivery

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// Content gives the same bytes, read again from the start on every call,
// whether the copy is kept in memory or in a temporary file, and refuses
// content over the size limit in both cases.
func TestContentBuffers(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		size    int
		max     int64
		tooLong bool
	}{
		{"small in memory", 1000, 0, false},
		{"at the memory bound", memBufferBytes, 0, false},
		{"large in a file", memBufferBytes + 4096, 0, false},
		{"small over the limit", 1000, 999, true},
		{"large over the limit", memBufferBytes + 4096, memBufferBytes + 4095, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dl := e.deliverer(t, nil, tc.max)
			content := strings.Repeat("x", tc.size)
			d := dl.NewDelivery(&Envelope{}, strings.NewReader(content))
			defer d.closeBuffer()
			for round := range 2 {
				src, err := d.Content(context.Background())
				if tc.tooLong {
					var de *Error
					if !errors.As(err, &de) || de.Code != 552 {
						t.Fatalf("Content: %v, want a 552 refusal", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(src)
				if err != nil || string(got) != content {
					t.Fatalf("read %d: %d octets (%v), want %d", round, len(got), err, len(content))
				}
				b := make([]byte, 3)
				if n, err := src.ReadAt(b, int64(tc.size-3)); n != 3 || string(b) != "xxx" {
					t.Fatalf("ReadAt at the end: %d %q %v", n, b, err)
				}
			}
		})
	}
}

// sourceParser keeps the bytes its Source gives, read in order and at
// offsets, so a test can compare them with the stored blob.
type sourceParser struct {
	read, readAt []byte
}

func (p *sourceParser) Parse(src Source) (Parsed, error) {
	var err error
	if p.read, err = io.ReadAll(src); err != nil {
		return Parsed{}, err
	}
	p.readAt = make([]byte, len(p.read))
	if _, err := src.ReadAt(p.readAt, 0); err != nil {
		return Parsed{}, err
	}
	return Parsed{BodyText: "parsed"}, nil
}

// readContentStage asks for the content before "spool", as "authres"
// does, so "spool" writes from the copy Content kept.
type readContentStage struct{}

func (readContentStage) Name() string { return "read-content" }
func (readContentStage) Process(ctx context.Context, d *Delivery) error {
	_, err := d.Content(ctx)
	return err
}

// The parser gets exactly the bytes of the stored blob, trace fields
// included (part offsets are offsets into the blob), whether "spool"
// parses content kept in memory while it writes the blob, or reads the
// blob back after writing a stream or a temporary file.
func TestSpoolParsesTheStoredBytes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		readFirst bool
	}{
		{"stream", 1000, false},
		{"in memory", 1000, true},
		{"temporary file", memBufferBytes + 4096, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user(t, "alice@example.test", 0)
			p := &sourceParser{}
			dl := e.deliverer(t, p, 0)
			if tc.readFirst {
				if err := dl.InsertBefore("spool", readContentStage{}); err != nil {
					t.Fatal(err)
				}
			}
			en := &Envelope{MailFrom: "bob@remote.test", ESMTP: true}
			e.resolve(t, en, "alice@example.test")
			msg := testMessage + strings.Repeat("x", tc.size) + "\r\n"
			if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(msg))); err != nil {
				t.Fatal(err)
			}
			stored := e.read(t, en.Recipients[0].Message.BlobID)
			if !strings.HasSuffix(stored, msg) || !strings.HasPrefix(stored, "Return-Path: <bob@remote.test>\r\n") {
				t.Fatalf("stored blob is not trace fields + message (%d octets)", len(stored))
			}
			if string(p.read) != stored || string(p.readAt) != stored {
				t.Errorf("parser read %d and %d octets at offsets, want the %d of the blob", len(p.read), len(p.readAt), len(stored))
			}
			full, err := e.st.GetMessage(context.Background(), en.Recipients[0].Message.MailboxID, en.Recipients[0].Message.UID)
			if err != nil {
				t.Fatal(err)
			}
			if full.Size != int64(len(stored)) {
				t.Errorf("stored size %d, blob %d", full.Size, len(stored))
			}
		})
	}
}
