package wire

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// gatedReader hands out its chunks one Read at a time; chunk i > 0 may
// only be read once the reader's Continue hook has run at least gates[i]
// times, the way a client sends a literal only after "+". Reading past the
// last chunk is recorded as an overread: the parser consumed bytes it had
// no business reading.
type gatedReader struct {
	chunks    []string
	gates     []int
	continues int
	overread  bool
	earlyRead bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.chunks) == 0 {
		g.overread = true
		return 0, errors.New("test: read beyond the data the client sent")
	}
	if g.continues < g.gates[0] {
		g.earlyRead = true
		return 0, errors.New("test: literal read before continuation request")
	}
	n := copy(p, g.chunks[0])
	g.chunks[0] = g.chunks[0][n:]
	if g.chunks[0] == "" {
		g.chunks, g.gates = g.chunks[1:], g.gates[1:]
	}
	return n, nil
}

func newGated(chunks []string, gates []int) (*Reader, *gatedReader) {
	g := &gatedReader{chunks: chunks, gates: gates}
	r := NewReader(bufio.NewReader(g))
	r.Continue = func() error { g.continues++; return nil }
	return r, g
}

func TestSyncLiteralWaitsForContinuation(t *testing.T) {
	r, g := newGated(
		[]string{"a LOGIN {3}\r\n", "joe {6}\r\n", "secret\r\n"},
		[]int{0, 1, 2})
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("ReadCommand: %v (early read %v)", err, g.earlyRead)
	}
	if a := cmd.Args.(*LoginArgs); a.Username != "joe" || a.Password != "secret" {
		t.Errorf("got %+v", a)
	}
	if g.continues != 2 || g.earlyRead || g.overread {
		t.Errorf("continues %d, early %v, overread %v", g.continues, g.earlyRead, g.overread)
	}
}

func TestLiteralPlusNeedsNoContinuation(t *testing.T) {
	r, g := newGated([]string{"a LOGIN {3+}\r\njoe {6+}\r\nsecret\r\n"}, []int{0})
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if g.continues != 0 {
		t.Errorf("Continue called %d times for non-synchronizing literals", g.continues)
	}
}

// TestLiteralRefusedUnread checks that an oversized literal is refused
// from its announcement alone: the reader fails the test if the parser
// reads one byte beyond the announcing line.
func TestLiteralRefusedUnread(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		minus   bool
		status  string
		fatal   bool
		literal int64
	}{
		{"append 4GB sync", "a APPEND INBOX {4294967296}\r\n", false, "NO", false, 4294967296},
		{"append over limit sync", "a APPEND INBOX (\\Seen) {67108865}\r\n", false, "NO", false, 67108865},
		{"append literal8 over limit", "a APPEND INBOX ~{67108865}\r\n", false, "NO", false, 67108865},
		{"append absurd size", "a APPEND INBOX {99999999999999999999999}\r\n", false, "NO", false, -1},
		{"append 4GB non-sync", "a APPEND INBOX {4294967296+}\r\n", false, "NO", true, 4294967296},
		{"string literal over limit", "a LOGIN {65537}\r\n", false, "BAD", false, 65537},
		{"string literal non-sync over limit", "a LOGIN joe {65537+}\r\n", false, "BAD", true, 65537},
		{"search literal over limit", "a SEARCH TEXT {1000000}\r\n", false, "BAD", false, 1000000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, g := newGated([]string{tc.line}, []int{0})
			r.LiteralMinus = tc.minus
			_, err := r.ReadCommand()
			pe, ok := AsParseError(err)
			if !ok {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Tag != "a" || pe.Status != tc.status || pe.Code != "TOOBIG" || pe.Fatal != tc.fatal || pe.LiteralSize != tc.literal {
				t.Errorf("error %+v; want status %s TOOBIG fatal %v size %d", pe, tc.status, tc.fatal, tc.literal)
			}
			if g.overread {
				t.Errorf("parser read beyond the announcing line")
			}
			if g.continues != 0 {
				t.Errorf("continuation request sent for a refused literal")
			}
		})
	}
}

func TestRefusedSyncLiteralKeepsConnection(t *testing.T) {
	r := newTestReader("a APPEND INBOX {100000000}\r\nb NOOP\r\n")
	_, err := r.ReadCommand()
	if pe, ok := AsParseError(err); !ok || pe.Fatal {
		t.Fatalf("err = %v", err)
	}
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Tag != "b" {
		t.Fatalf("next command: %+v %v", cmd, err)
	}
}

func TestLiteralMinus(t *testing.T) {
	big := strings.Repeat("x", LiteralMinusMax+1)
	r := newTestReader("a LOGIN joe {4097+}\r\n" + big + " trailing\r\nb LOGIN joe {4096+}\r\n" + big[:4096] + "\r\n")
	r.MaxStringLiteral = 8192
	r.LiteralMinus = true
	_, err := r.ReadCommand()
	pe, ok := AsParseError(err)
	if !ok || pe.Status != "BAD" || pe.Code != "TOOBIG" || pe.Fatal {
		t.Fatalf("LITERAL- over 4096: %v", err)
	}
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Tag != "b" || len(cmd.Args.(*LoginArgs).Password) != 4096 {
		t.Fatalf("after skipped literal: %+v %v", cmd, err)
	}
}

func TestMaxCommandSize(t *testing.T) {
	// Many small literals that each pass MaxStringLiteral but together
	// exceed MaxCommandSize.
	var b strings.Builder
	b.WriteString("a SEARCH")
	for range 20 {
		b.WriteString(" TEXT {60000+}\r\n")
		b.WriteString(strings.Repeat("y", 60000))
	}
	b.WriteString("\r\n")
	r := newTestReader(b.String())
	_, err := r.ReadCommand()
	pe, ok := AsParseError(err)
	if !ok || pe.Code != "TOOBIG" || !pe.Fatal {
		t.Fatalf("err = %v, want fatal TOOBIG", err)
	}
}

func TestAppendStreaming(t *testing.T) {
	msg1 := "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
	msg2 := "binary\x00data"
	in := "A003 APPEND saved-messages (\\Seen $Label) \" 7-Feb-1994 21:52:25 -0800\" {" + itoa(len(msg1)) + "}\r\n" + msg1 +
		" ~{" + itoa(len(msg2)) + "+}\r\n" + msg2 + "\r\nnext NOOP\r\n"
	r := newTestReader(in)
	continues := 0
	r.Continue = func() error { continues++; return nil }
	r.MaxCommandSize = 100 // the message literals must not count as buffered bytes
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	a := cmd.Args.(*AppendArgs)
	if a.Mailbox != "saved-messages" {
		t.Errorf("mailbox %q", a.Mailbox)
	}
	m := a.Message
	wantDate := time.Date(1994, 2, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600))
	if !m.Date.Equal(wantDate) || m.Binary || m.Size != int64(len(msg1)) || strings.Join(m.Flags, " ") != `\Seen $Label` {
		t.Errorf("first message %+v", m)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil || string(body) != msg1 {
		t.Fatalf("body %q %v", body, err)
	}
	m, err = r.NextAppendMessage()
	if err != nil || m == nil {
		t.Fatalf("second message: %v %v", m, err)
	}
	if !m.Binary || m.Flags != nil || !m.Date.IsZero() {
		t.Errorf("second message %+v", m)
	}
	if body, _ := io.ReadAll(m.Body); string(body) != msg2 {
		t.Errorf("binary body %q", body)
	}
	if m, err := r.NextAppendMessage(); m != nil || err != nil {
		t.Fatalf("end of APPEND: %v %v", m, err)
	}
	if continues != 1 {
		t.Errorf("Continue called %d times, want 1", continues)
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "next" {
		t.Fatalf("after APPEND: %+v %v", cmd, err)
	}
	if _, err := r.NextAppendMessage(); err == nil {
		t.Errorf("NextAppendMessage outside APPEND succeeded")
	}
}

func TestAppendAbandoned(t *testing.T) {
	// The session reads 3 bytes of the first message, answers NO, and
	// reads the next command: the rest of the APPEND, including a second
	// non-synchronizing message, is skipped.
	in := "a APPEND INBOX {10}\r\n0123456789 {5+}\r\nhello\r\nb NOOP\r\n"
	r := newTestReader(in)
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(cmd.Args.(*AppendArgs).Message.Body, buf); err != nil {
		t.Fatal(err)
	}
	cmd, err = r.ReadCommand()
	if err != nil || cmd.Tag != "b" {
		t.Fatalf("after abandoned APPEND: %+v %v", cmd, err)
	}
}

func TestAppendBadSecondMessage(t *testing.T) {
	r := newTestReader("a APPEND INBOX {1+}\r\nx (\\Seen {1+}\r\ny\r\nb NOOP\r\n")
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, cmd.Args.(*AppendArgs).Message.Body)
	_, err = r.NextAppendMessage()
	if pe, ok := AsParseError(err); !ok || pe.Tag != "a" || pe.Command != "APPEND" || pe.Fatal {
		t.Fatalf("bad second message: %v", err)
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "b" {
		t.Fatalf("after bad APPEND: %+v %v", cmd, err)
	}
}

func TestAppendTruncatedBody(t *testing.T) {
	r := newTestReader("a APPEND INBOX {10+}\r\nshort")
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cmd.Args.(*AppendArgs).Message.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated literal: %v", err)
	}
	if _, err := r.ReadCommand(); err == nil {
		t.Errorf("reader usable after truncated literal")
	}
}

func TestContinueError(t *testing.T) {
	r := newTestReader("a LOGIN {3}\r\njoe x\r\n")
	boom := errors.New("write failed")
	r.Continue = func() error { return boom }
	if _, err := r.ReadCommand(); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the Continue error", err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestAppendCheck(t *testing.T) {
	type call struct {
		mailbox string
		size    int64
	}
	var calls []call
	check := func(mailbox string, size int64) error {
		calls = append(calls, call{mailbox, size})
		switch mailbox {
		case "Missing":
			return &ParseError{Status: "NO", Code: "TRYCREATE", Msg: "no such mailbox"}
		case "Full":
			return errors.New("over quota")
		}
		return nil
	}

	// Synchronizing: refused from the announcement alone, no "+".
	r, g := newGated([]string{"a APPEND Missing {10}\r\n"}, []int{0})
	r.AppendCheck = check
	_, err := r.ReadCommand()
	pe, ok := AsParseError(err)
	if !ok || pe.Status != "NO" || pe.Code != "TRYCREATE" || pe.Fatal || pe.Tag != "a" {
		t.Fatalf("refused sync APPEND: %v", err)
	}
	if g.overread || g.continues != 0 {
		t.Errorf("refused literal read (%v) or continued (%d)", g.overread, g.continues)
	}

	// Non-synchronizing: the bytes are skipped and the connection goes on;
	// a plain error becomes NO.
	r = newTestReader("b APPEND Full {5+}\r\nhello\r\nc APPEND &ZeVnLIqe- {2+}\r\nok\r\n")
	r.AppendCheck = check
	_, err = r.ReadCommand()
	if pe, ok := AsParseError(err); !ok || pe.Status != "NO" || pe.Msg != "over quota" || pe.Fatal {
		t.Fatalf("refused non-sync APPEND: %v", err)
	}
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Tag != "c" {
		t.Fatalf("after refused APPEND: %+v %v", cmd, err)
	}
	want := []call{{"Missing", 10}, {"Full", 5}, {"日本語", 2}}
	if len(calls) != len(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %v, want %v", i, calls[i], want[i])
		}
	}
}

func TestDiscardSkipsLiterals(t *testing.T) {
	tests := []struct{ name, in string }{
		// The client sends a non-synchronizing literal's bytes at once,
		// so skipping the bad command must skip them too.
		{"non-sync literal in bad command", "a FROB {5+}\r\nb NOO more {3+}\r\nabc\r\n"},
		// A synchronizing literal is not sent before "+", which a bad
		// command never gets.
		{"sync literal in bad command", "a FROB {5}\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReader(tc.in + "next NOOP\r\n")
			if _, err := r.ReadCommand(); err == nil {
				t.Fatal("bad command accepted")
			}
			cmd, err := r.ReadCommand()
			if err != nil || cmd.Tag != "next" {
				t.Fatalf("after bad command: %+v %v", cmd, err)
			}
		})
	}
}
