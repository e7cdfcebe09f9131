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
