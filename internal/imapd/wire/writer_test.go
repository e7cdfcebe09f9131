package wire

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"mailport/internal/mime"
)

func render(utf8 bool, fn func(w *Writer)) string {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	w := NewWriter(bw)
	w.UTF8 = utf8
	fn(w)
	if err := w.Flush(); err != nil {
		return "ERROR: " + err.Error()
	}
	return b.String()
}

func TestWriterResponses(t *testing.T) {
	tests := []struct {
		name string
		fn   func(w *Writer)
		want string
	}{
		{"tagged ok with code", func(w *Writer) { w.Status("A003", "OK", "APPENDUID 38505 3955", "APPEND completed") },
			"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"},
		{"untagged", func(w *Writer) { w.Status("", "OK", "UIDVALIDITY 3857529045", "UIDs valid") },
			"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"},
		{"no text", func(w *Writer) { w.Status("a", "NO", "TOOBIG", "") }, "a NO [TOOBIG] no\r\n"},
		{"text injection", func(w *Writer) { w.Status("a", "BAD", "X]\r\n", "bad\r\na OK fake") },
			"a BAD [X   ] bad  a OK fake\r\n"},
		{"continuation", func(w *Writer) { w.Continuation("") }, "+ Ready\r\n"},
		{"fetch line", func(w *Writer) {
			w.StartUntagged()
			w.Number(12)
			w.Atom("FETCH")
			w.Open()
			w.Atom("UID")
			w.Number(7)
			w.Atom("FLAGS")
			w.Flags([]string{`\Seen`, "$Forwarded"})
			w.Atom("MODSEQ")
			w.Open()
			w.Number64(1 << 40)
			w.Close()
			w.Atom("INTERNALDATE")
			w.DateTime(time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600)))
			w.Close()
			w.EndLine()
		}, "* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) MODSEQ (1099511627776) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n"},
		{"empty list and code", func(w *Writer) {
			w.StartTagged("a")
			w.Atom("OK")
			w.OpenCode()
			w.Atom("PERMANENTFLAGS")
			w.Flags(nil)
			w.CloseCode()
			w.Atom("done")
			w.EndLine()
		}, "a OK [PERMANENTFLAGS ()] done\r\n"},
		{"seqset", func(w *Writer) { w.StartUntagged(); w.Atom("VANISHED"); w.SeqSet(set(1, 3, 5, Star)); w.EndLine() },
			"* VANISHED 1:3,5:*\r\n"},
		{"list mailbox mutf7", func(w *Writer) {
			w.StartUntagged()
			w.Atom("LIST")
			w.Flags([]string{`\HasNoChildren`})
			w.Quoted("/")
			w.Mailbox("~peter/mail/台北/日本語")
			w.Mailbox("INBOX")
			w.Mailbox("two words")
			w.EndLine()
		}, "* LIST (\\HasNoChildren) \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe- INBOX \"two words\"\r\n"},
		{"literal8", func(w *Writer) { w.Literal8("a\x00b") }, "~{3}\r\na\x00b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(false, tc.fn); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := render(true, func(w *Writer) { w.Mailbox("台北") }); got != `"台北"` {
		t.Errorf("UTF-8 mailbox = %q", got)
	}
}

func TestWriterStringChoice(t *testing.T) {
	long := strings.Repeat("a", maxQuoted+1)
	tests := []struct {
		in        string
		utf8      bool
		str, astr string
		nstr      string
	}{
		{"hello", false, `"hello"`, `hello`, `"hello"`},
		{"", false, `""`, `""`, `NIL`},
		{"NIL", false, `"NIL"`, `"NIL"`, `"NIL"`},
		{`a"b\c`, false, `"a\"b\\c"`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"two words", false, `"two words"`, `"two words"`, `"two words"`},
		{"line\r\nbreak", false, "{11}\r\nline\r\nbreak", "{11}\r\nline\r\nbreak", "{11}\r\nline\r\nbreak"},
		{"Grüße", false, "{7}\r\nGrüße", "{7}\r\nGrüße", "{7}\r\nGrüße"},
		{"Grüße", true, `"Grüße"`, `"Grüße"`, `"Grüße"`},
		{"bad\xff", true, "{4}\r\nbad\xff", "{4}\r\nbad\xff", "{4}\r\nbad\xff"},
		{long, false, "{1025}\r\n" + long, "{1025}\r\n" + long, "{1025}\r\n" + long},
		{"with]bracket", false, `"with]bracket"`, `with]bracket`, `"with]bracket"`},
	}
	for _, tc := range tests {
		if got := render(tc.utf8, func(w *Writer) { w.String(tc.in) }); got != tc.str {
			t.Errorf("String(%q, utf8=%v) = %q, want %q", tc.in, tc.utf8, got, tc.str)
		}
		if got := render(tc.utf8, func(w *Writer) { w.AString(tc.in) }); got != tc.astr {
			t.Errorf("AString(%q) = %q, want %q", tc.in, got, tc.astr)
		}
		if got := render(tc.utf8, func(w *Writer) { w.NString(tc.in) }); got != tc.nstr {
			t.Errorf("NString(%q) = %q, want %q", tc.in, got, tc.nstr)
		}
	}
}

func TestWriteLiteralFrom(t *testing.T) {
	got := render(false, func(w *Writer) {
		w.StartUntagged()
		w.Number(1)
		w.Atom("FETCH")
		w.Open()
		w.Raw("BODY[]")
		if err := w.WriteLiteralFrom(strings.NewReader("0123456789extra"), 10, false); err != nil {
			t.Errorf("WriteLiteralFrom: %v", err)
		}
		w.Close()
		w.EndLine()
	})
	if want := "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var b strings.Builder
	w := NewWriter(bufio.NewWriter(&b))
	if err := w.WriteLiteralFrom(strings.NewReader("short"), 10, true); !errors.Is(err, io.EOF) {
		t.Errorf("short source: %v", err)
	}
	if w.Flush() == nil {
		t.Errorf("Flush after a broken literal succeeded")
	}
}

// TestWriteLiteralFromLarge: a literal larger than the buffer goes out
// whole, through the buffer, and Redirect collects output in another
// buffer until restored.
func TestWriteLiteralFromLarge(t *testing.T) {
	var b strings.Builder
	small := bufio.NewWriterSize(&b, 16)
	w := NewWriter(small)
	big := bufio.NewWriterSize(nil, 64)
	restore := w.Redirect(big)
	body := strings.Repeat("0123456789", 10)
	w.StartUntagged()
	w.Atom("X")
	if err := w.WriteLiteralFrom(strings.NewReader(body), int64(len(body)), false); err != nil {
		t.Fatal(err)
	}
	w.EndLine()
	if b.Len() == 0 || big.Buffered() == 0 {
		t.Errorf("redirected output: %d bytes out, %d in the large buffer", b.Len(), big.Buffered())
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	w.Status("a", "OK", "", "done")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "* X {100}\r\n" + body + "\r\na OK done\r\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(bufio.NewWriterSize(failWriter{}, 16))
	for range 10 {
		w.Status("a", "OK", "", "a response longer than the buffer")
	}
	if err := w.Flush(); err == nil || w.Err() == nil {
		t.Errorf("write error lost")
	}
}

// RFC 3501 section 8 example (FETCH 12 FULL).
var rfcEnvelope = &mime.Envelope{
	Date:    "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
	Subject: "IMAP4rev1 WG mtg summary and minutes",
	From:    []mime.Address{{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}},
	Sender:  []mime.Address{{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}},
	ReplyTo: []mime.Address{{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}},
	To:      []mime.Address{{Mailbox: "imap", Host: "cac.washington.edu"}},
	Cc: []mime.Address{{Mailbox: "minutes", Host: "CNRI.Reston.VA.US"},
		{Name: "John Klensin", Mailbox: "KLENSIN", Host: "MIT.EDU"}},
	MessageID: "<B27397-0100000@cac.washington.edu>",
}

const rfcEnvelopeWire = `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ` +
	`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
	`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
	`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
	`"<B27397-0100000@cac.washington.edu>")`

func TestEnvelope(t *testing.T) {
	if got := render(false, func(w *Writer) { w.Envelope(rfcEnvelope) }); got != rfcEnvelopeWire {
		t.Errorf("envelope\n got  %s\n want %s", got, rfcEnvelopeWire)
	}
	// RFC 9051 section 7.5.2: a group is a start marker (NIL host, group
	// name as mailbox) and an end marker (NIL mailbox and host); encoded
	// words stay as they are, 8-bit text goes as a literal.
	group := &mime.Envelope{
		Subject: "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
		To: []mime.Address{{Mailbox: "undisclosed-recipients"}, {},
			{Name: "Jürgen", Mailbox: "j", Host: "example.de"}},
	}
	want := `(NIL "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)` +
		"({7}\r\nJürgen NIL \"j\" \"example.de\")) NIL NIL NIL NIL)"
	if got := render(false, func(w *Writer) { w.Envelope(group) }); got != want {
		t.Errorf("group envelope\n got  %q\n want %q", got, want)
	}
	if got := render(false, func(w *Writer) { w.Envelope(nil) }); got != "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" {
		t.Errorf("nil envelope: %s", got)
	}
}

// The two-part message of the RFC 3501 section 8 example (as RFC 9051
// section 7.5.2 shows it).
func rfcMultipart() *mime.Part {
	return &mime.Part{Type: "MULTIPART", Subtype: "MIXED", Params: []mime.Param{{Key: "BOUNDARY", Value: "x"}},
		Parts: []mime.Part{
			{Type: "TEXT", Subtype: "PLAIN", Params: []mime.Param{{Key: "CHARSET", Value: "US-ASCII"}}, Encoding: "7BIT", Size: 1152, Lines: 23},
			{Type: "TEXT", Subtype: "PLAIN", Params: []mime.Param{{Key: "CHARSET", Value: "US-ASCII"}, {Key: "NAME", Value: "cc.diff"}},
				ID: "<960723163407.20117h@cac.washington.edu>", Description: "Compiler diff", Encoding: "BASE64", Size: 4554, Lines: 73,
				Disposition: "attachment", DispositionParams: []mime.Param{{Key: "filename", Value: "cc.diff"}},
				Language: []string{"en", "de"}, MD5: "Q2hlY2sgSW50ZWdyaXR5IQ==", Location: "http://example.com/cc.diff"},
		}}
}

func TestBodyStructure(t *testing.T) {
	body := `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
		`"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")`
	if got := render(false, func(w *Writer) { w.BodyStructure(rfcMultipart(), false) }); got != body {
		t.Errorf("BODY\n got  %s\n want %s", got, body)
	}
	ext := `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
		`"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("filename" "cc.diff")) ("en" "de") "http://example.com/cc.diff") ` +
		`"MIXED" ("BOUNDARY" "x") NIL NIL NIL)`
	if got := render(false, func(w *Writer) { w.BodyStructure(rfcMultipart(), true) }); got != ext {
		t.Errorf("BODYSTRUCTURE\n got  %s\n want %s", got, ext)
	}

	// message/rfc822 carries envelope, body and line count; a basic part
	// has no line count; a single language is a string.
	inner := rfcMultipart()
	msg := &mime.Part{Type: "multipart", Subtype: "mixed", Parts: []mime.Part{
		{Type: "image", Subtype: "png", Encoding: "BASE64", Size: 100, Language: []string{"en"}},
		{Type: "message", Subtype: "rfc822", Encoding: "7BIT", Size: 6000, Lines: 120, Envelope: rfcEnvelope, Message: inner},
	}}
	want := `(("image" "png" NIL NIL NIL "BASE64" 100)("message" "rfc822" NIL NIL NIL "7BIT" 6000 ` + rfcEnvelopeWire + ` ` + body + ` 120) "mixed")`
	if got := render(false, func(w *Writer) { w.BodyStructure(msg, false) }); got != want {
		t.Errorf("nested BODY\n got  %s\n want %s", got, want)
	}
	wantExt := `(("image" "png" NIL NIL NIL "BASE64" 100 NIL NIL "en" NIL)("message" "rfc822" NIL NIL NIL "7BIT" 6000 ` + rfcEnvelopeWire + ` ` + ext +
		` 120 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`
	if got := render(false, func(w *Writer) { w.BodyStructure(msg, true) }); got != wantExt {
		t.Errorf("nested BODYSTRUCTURE\n got  %s\n want %s", got, wantExt)
	}

	// Defaults: an empty encoding is 7BIT, an empty type text/plain.
	if got := render(false, func(w *Writer) { w.BodyStructure(&mime.Part{}, false) }); got != `("text" "plain" NIL NIL NIL "7BIT" 0 0)` {
		t.Errorf("empty part: %s", got)
	}
}

func TestBodyStructureDeepTree(t *testing.T) {
	// A hand-built tree far deeper than internal/mime produces is cut to
	// leaves at maxBodyDepth instead of recursing without bound.
	root := &mime.Part{Type: "text", Subtype: "plain"}
	for range 5000 {
		root = &mime.Part{Type: "multipart", Subtype: "mixed", Parts: []mime.Part{*root}}
	}
	got := render(false, func(w *Writer) { w.BodyStructure(root, true) })
	if strings.Count(got, "(") != strings.Count(got, ")") {
		t.Errorf("unbalanced output")
	}
	if d := maxDepth(got); d > maxBodyDepth+3 {
		t.Errorf("nesting %d beyond limit %d", d, maxBodyDepth)
	}
}

func maxDepth(s string) int {
	d, m := 0, 0
	for _, c := range s {
		switch c {
		case '(':
			d++
			m = max(m, d)
		case ')':
			d--
		}
	}
	return m
}
