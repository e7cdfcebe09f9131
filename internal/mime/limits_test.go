package mime

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// depthOf returns the deepest nesting level in the tree (root = 0).
func depthOf(p *Part) int {
	d := 0
	for i := range p.Parts {
		d = max(d, 1+depthOf(&p.Parts[i]))
	}
	if p.Message != nil {
		d = max(d, 1+depthOf(p.Message))
	}
	return d
}

func countParts(p *Part) int {
	n := 1
	for i := range p.Parts {
		n += countParts(&p.Parts[i])
	}
	if p.Message != nil {
		n += countParts(p.Message)
	}
	return n
}

// nestedMultipart builds a multipart nested depth levels deep, each level
// with its own boundary, properly closed.
func nestedMultipart(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// nestedMessages builds message/rfc822 parts nested depth levels deep.
func nestedMessages(depth int) string {
	return strings.Repeat("Content-Type: message/rfc822\r\nSubject: level\r\n\r\n", depth) + "Subject: last\r\n\r\ninnermost\r\n"
}

func TestDeepNesting(t *testing.T) {
	cases := []struct {
		name string
		raw  string
	}{
		{"10000 nested multiparts", nestedMultipart(10000)},
		{"10000 nested messages", nestedMessages(10000)},
		{"exactly MaxDepth multiparts", nestedMultipart(MaxDepth)},
		{"10000 unclosed multiparts", strings.Repeat("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n", 10000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.raw)
			if d := depthOf(&m.Root); d > MaxDepth {
				t.Fatalf("depth %d exceeds MaxDepth %d", d, MaxDepth)
			}
			// The deepest part reached is an opaque text/plain leaf
			// holding everything below it.
			p := &m.Root
			for {
				if len(p.Parts) > 0 {
					p = &p.Parts[0]
				} else if p.Message != nil {
					p = p.Message
				} else {
					break
				}
			}
			if p.Type != "text" || p.Subtype != "plain" {
				t.Errorf("deepest part is %s/%s, want text/plain", p.Type, p.Subtype)
			}
			if !strings.Contains(tc.raw[p.BodyStart:p.End], "innermost") && !strings.HasPrefix(tc.name, "10000 unclosed") {
				t.Errorf("deepest part does not hold the innermost content")
			}
		})
	}
}

func TestNestingAtLimitKept(t *testing.T) {
	// Containers shallower than MaxDepth are kept as they are.
	m := mustParse(t, nestedMultipart(MaxDepth))
	if d := depthOf(&m.Root); d != MaxDepth {
		t.Errorf("depth %d, want %d", d, MaxDepth)
	}
}

func TestPartsLimit(t *testing.T) {
	const n = MaxParts + 500
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--p\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--p--\r\nepilogue\r\n")
	raw := b.String()
	m := mustParse(t, raw)
	if got := countParts(&m.Root); got != MaxParts {
		t.Fatalf("%d parts, want MaxParts (%d)", got, MaxParts)
	}
	last := m.Root.Parts[len(m.Root.Parts)-1]
	if got, want := raw[last.BodyStart:last.End], fmt.Sprintf("part %d", MaxParts-2); got != want {
		t.Errorf("last part body %q, want %q: parts after the limit must not run into it", got, want)
	}
	// The rest stays in the multipart's own body, up to its end.
	if !strings.HasSuffix(raw[m.Root.BodyStart:m.Root.End], "epilogue\r\n") {
		t.Errorf("root body does not run to the end")
	}
}

func TestPartsLimitAcrossMessages(t *testing.T) {
	// Encapsulated messages count too.
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for i := 0; i < MaxParts; i++ {
		b.WriteString("--p\r\nContent-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nx\r\n")
	}
	b.WriteString("--p--\r\n")
	m := mustParse(t, b.String())
	if got := countParts(&m.Root); got > MaxParts {
		t.Fatalf("%d parts exceed MaxParts", got)
	}
}

// lazyMessage generates header, then body repeated to bodySize bytes, then
// trailer, without ever holding the body.
type lazyMessage struct {
	header, body, trailer string
	bodySize, pos         int64
}

func (l *lazyMessage) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		h, bsz := int64(len(l.header)), l.bodySize
		switch {
		case l.pos < h:
			k := copy(p[n:], l.header[l.pos:])
			n += k
			l.pos += int64(k)
		case l.pos < h+bsz:
			off := (l.pos - h) % int64(len(l.body))
			room := min(int64(len(p)-n), h+bsz-l.pos, int64(len(l.body))-off)
			k := copy(p[n:n+int(room)], l.body[off:])
			n += k
			l.pos += int64(k)
		case l.pos < h+bsz+int64(len(l.trailer)):
			k := copy(p[n:], l.trailer[l.pos-h-bsz:])
			n += k
			l.pos += int64(k)
		default:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	return n, nil
}

func (l *lazyMessage) size() int64 { return int64(len(l.header)) + l.bodySize + int64(len(l.trailer)) }

func TestMemoryBounded(t *testing.T) {
	const size = 50 << 20
	const bound = 16 << 20
	cases := []struct {
		name string
		msg  lazyMessage
	}{
		{"many short lines", lazyMessage{header: "Subject: big\r\n\r\n", body: "line of text\r\n"}},
		{"one line without breaks", lazyMessage{header: "Subject: big\r\n\r\n", body: "x"}},
		{"huge folded header", lazyMessage{header: "Subject: start\r\n", body: " folded continuation\r\n", trailer: "\r\nbody\r\n"}},
		{"huge unterminated header line", lazyMessage{header: "To: ", body: "a@b, "}},
		{"huge part inside multipart", lazyMessage{
			header:  "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			body:    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n",
			trailer: "\r\n--z--\r\n",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.msg
			msg.bodySize = size
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := Parse(&msg)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if m.Size != msg.size() {
				t.Fatalf("Size %d, want %d", m.Size, msg.size())
			}
			// TotalAlloc counts every allocation made during Parse,
			// so it bounds the peak too.
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB", grew>>10)
			if grew > bound {
				t.Errorf("Parse of %d MiB allocated %d MiB, bound %d MiB", size>>20, grew>>20, bound>>20)
			}
			if err := m.check(); err != nil {
				t.Fatal(err)
			}
			if len(m.Envelope.Subject) > maxFieldBytes || len(m.Envelope.To) > maxFieldBytes/4 {
				t.Errorf("header field not capped: subject %d bytes, %d addresses", len(m.Envelope.Subject), len(m.Envelope.To))
			}
		})
	}
}

func TestRetainedHeaderBudget(t *testing.T) {
	// Many parts with huge headers: what is kept stays within the budget.
	desc := strings.Repeat("d", maxFieldBytes)
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	parts := 2 * maxRetainedBytes / maxFieldBytes
	for i := 0; i < parts; i++ {
		fmt.Fprintf(&b, "--p\r\nContent-Description: %s\r\n\r\nx\r\n", desc)
	}
	b.WriteString("--p--\r\n")
	m := mustParse(t, b.String())
	total := 0
	for _, p := range m.Root.Parts {
		total += len(p.Description)
	}
	if total > maxRetainedBytes || total < maxRetainedBytes/2 {
		t.Errorf("retained %d description bytes, budget %d", total, maxRetainedBytes)
	}
	if len(m.Root.Parts) != parts {
		t.Errorf("%d parts, want %d", len(m.Root.Parts), parts)
	}
}

func TestLongLinesKeepOffsets(t *testing.T) {
	// Lines longer than the read buffer, with a CRLF split between reads,
	// must not disturb offsets or boundary detection.
	for _, n := range []int{readBufferSize - 2, readBufferSize - 1, readBufferSize, readBufferSize + 1, 3*readBufferSize + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			long := strings.Repeat("y", n)
			raw := "Content-Type: multipart/mixed; boundary=q\r\nX-Long: " + long + "\r\n\r\n--q\r\nContent-Description: " + long + "\r\n\r\n" + long + "\r\n--q--\r\n"
			m := mustParse(t, raw)
			if len(m.Root.Parts) != 1 {
				t.Fatalf("shape %s", shape(&m.Root))
			}
			p := m.Root.Parts[0]
			if got := raw[p.BodyStart:p.End]; got != long {
				t.Errorf("body is %d bytes, want %d", len(got), len(long))
			}
			// The cap counts the space after the colon, which is trimmed.
			if want := min(n, maxFieldBytes-1); len(p.Description) != want {
				t.Errorf("description %d bytes, want %d", len(p.Description), want)
			}
		})
	}
}
