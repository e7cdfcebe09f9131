package mime

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// crlf turns the LF line endings of a Go literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// shape describes a part tree compactly: type/subtype, children in [...],
// an encapsulated message in {...}.
func shape(p *Part) string {
	s := p.Type + "/" + p.Subtype
	switch {
	case len(p.Parts) > 0:
		var kids []string
		for i := range p.Parts {
			kids = append(kids, shape(&p.Parts[i]))
		}
		s += "[" + strings.Join(kids, ",") + "]"
	case p.Message != nil:
		s += "{" + shape(p.Message) + "}"
	}
	return s
}

// parseSection turns "1.2.3" into []int{1, 2, 3}; "" is nil.
func parseSection(t testing.TB, s string) []int {
	t.Helper()
	if s == "" {
		return nil
	}
	var sec []int
	for _, f := range strings.Split(s, ".") {
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil {
			t.Fatalf("bad section %q", s)
		}
		sec = append(sec, n)
	}
	return sec
}

// mustParse parses raw and checks the invariants every parse must hold.
func mustParse(t testing.TB, raw string) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkInvariants(t, m, int64(len(raw)))
	return m
}

// checkInvariants asserts what IMAP relies on: offsets nested and in
// range, sizes matching, Find agreeing with Walk, and a lossless
// Marshal/Unmarshal round trip.
func checkInvariants(t testing.TB, m *Message, size int64) {
	t.Helper()
	if m.Size != size {
		t.Fatalf("Size = %d, want %d", m.Size, size)
	}
	if m.Root.HeaderStart != 0 || m.Root.End != size {
		t.Fatalf("root spans [%d,%d), want [0,%d)", m.Root.HeaderStart, m.Root.End, size)
	}
	if err := m.check(); err != nil {
		t.Fatalf("inconsistent structure: %v", err)
	}
	leaves := 0
	m.Walk(func(sec []int, p *Part) bool {
		got, ok := m.Find(sec)
		if !ok || got != p {
			t.Fatalf("Find(%v) does not return the part Walk visited", sec)
		}
		if len(p.Parts) == 0 && p.Message == nil {
			leaves++
		}
		if p.Type == "" || p.Subtype == "" || p.Encoding == "" {
			t.Fatalf("part %v has empty type, subtype or encoding: %+v", sec, p)
		}
		if p.Type == "multipart" && len(p.Parts) == 0 {
			t.Fatalf("part %v is a multipart without children", sec)
		}
		return true
	})
	if leaves == 0 {
		t.Fatalf("Walk visited no leaf")
	}
	b, err := Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("Marshal/Unmarshal round trip changed the message")
	}
}
