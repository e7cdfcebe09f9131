package msghdr

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		fields []Field
		body   string
	}{
		{"folded CRLF", "From: a@b.test\r\nSubject: one\r\n two\r\n\r\nbody\r\n",
			[]Field{{"From", " a@b.test\r\n"}, {"Subject", " one\r\n two\r\n"}}, "body\r\n"},
		{"bare LF", "From: a@b.test\nTo: c@d.test\n\nbody\n",
			[]Field{{"From", " a@b.test\n"}, {"To", " c@d.test\n"}}, "body\n"},
		{"no body", "From: a@b.test\r\n", []Field{{"From", " a@b.test\r\n"}}, ""},
		{"junk line skipped", "From: a@b.test\r\nnot a field\r\n cont\r\nTo: x@y.test\r\n\r\n",
			[]Field{{"From", " a@b.test\r\n"}, {"To", " x@y.test\r\n"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.msg))
			h, err := Read(br)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h.Fields, tc.fields) {
				t.Fatalf("fields %q", h.Fields)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tc.body || string(h.Raw)+string(rest) != tc.msg {
				t.Fatalf("raw %q, rest %q", h.Raw, rest)
			}
		})
	}
	h, _ := Read(bufio.NewReader(strings.NewReader("Subject: one\r\n two\r\n\r\n")))
	if got := h.Values("subject"); len(got) != 1 || got[0] != "one two" {
		t.Fatalf("Values: %q", got)
	}
	big := strings.Repeat("X: "+strings.Repeat("a", 5000)+"\r\n", MaxHeaderBytes/5000+1)
	if _, err := Read(bufio.NewReader(strings.NewReader(big))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("large header: %v", err)
	}
}
