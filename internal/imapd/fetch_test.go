package imapd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailport/internal/blob"
	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// fixtureBox is a mailbox in a temporary sqlite store and blob store, for
// testing FETCH, SEARCH, SORT and THREAD without a session.
type fixtureBox struct {
	t     *testing.T
	st    *sqlite.DB
	blobs *blob.Store
	mbox  int64
}

func newFixtureBox(t *testing.T) *fixtureBox {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.CreateDomain(ctx, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, store.Account{Address: "u@example.org", DomainID: d.ID, Enabled: true, Role: store.RoleUser},
		[]store.MailboxSpec{{Name: "INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return &fixtureBox{t: t, st: st, blobs: blobs, mbox: mb.ID}
}

// fixtureOpt changes a message before it is stored.
type fixtureOpt func(*store.NewMessage)

func withFlags(flags ...string) fixtureOpt {
	return func(nm *store.NewMessage) { nm.Flags = flags }
}

func withDate(t time.Time) fixtureOpt {
	return func(nm *store.NewMessage) { nm.InternalDate = t }
}

// unindexed stores the message without search text, as a message
// delivered before the index existed.
func unindexed() fixtureOpt {
	return func(nm *store.NewMessage) { nm.HeaderText, nm.BodyText = "", "" }
}

// add stores raw (LF line ends become CRLF) and returns its UID.
func (b *fixtureBox) add(raw string, opts ...fixtureOpt) uint32 {
	b.t.Helper()
	raw = crlf(raw)
	return b.addRaw([]byte(raw), opts...)
}

func (b *fixtureBox) addRaw(raw []byte, opts ...fixtureOpt) uint32 {
	b.t.Helper()
	ctx := b.t.Context()
	id, size, err := b.blobs.Put(ctx, bytes.NewReader(raw), 0)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.blobs.Sync(id); err != nil {
		b.t.Fatal(err)
	}
	p, err := mime.Parse(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	structure, err := mime.Marshal(p)
	if err != nil {
		b.t.Fatal(err)
	}
	env, err := json.Marshal(p.Envelope)
	if err != nil {
		b.t.Fatal(err)
	}
	head, body, err := mime.ExtractText(bytes.NewReader(raw), p)
	if err != nil {
		b.t.Fatal(err)
	}
	nm := store.NewMessage{
		MailboxID:    b.mbox,
		InternalDate: time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		Size:         size,
		BlobID:       id,
		Envelope:     env,
		Structure:    structure,
		HeaderText:   head,
		BodyText:     body,
	}
	for _, o := range opts {
		o(&nm)
	}
	res, err := b.st.AppendMessages(ctx, []store.NewMessage{nm})
	if err != nil {
		b.t.Fatal(err)
	}
	if res[0].Err != nil {
		b.t.Fatal(res[0].Err)
	}
	return res[0].Message.UID
}

// messages lists the mailbox as a session would: sequence numbers from 1.
func (b *fixtureBox) messages() []message {
	b.t.Helper()
	list, err := b.st.ListMessages(b.t.Context(), b.mbox)
	if err != nil {
		b.t.Fatal(err)
	}
	msgs := make([]message, len(list))
	for i, m := range list {
		msgs[i] = message{Seq: uint32(i + 1), Message: m}
	}
	return msgs
}

func (b *fixtureBox) loader() *loader {
	return newLoader(b.t.Context(), b.st, b.blobs, b.mbox)
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// parseCommand parses one command line with the real wire parser.
func parseCommand(t *testing.T, line string) *wire.Command {
	t.Helper()
	r := wire.NewReader(bufio.NewReader(strings.NewReader(line + "\r\n")))
	r.Continue = func() error { return nil }
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	return cmd
}

func fetchItems(t *testing.T, items string) []wire.FetchItem {
	t.Helper()
	return parseCommand(t, "a FETCH 1 "+items).Args.(*wire.FetchArgs).Items
}

// fetchString runs writeFetch for m and returns what it wrote.
func fetchString(t *testing.T, b *fixtureBox, m *message, items string, opt fetchOptions) (string, bool, error) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := wire.NewWriter(bw)
	flags, err := writeFetch(w, b.loader(), m, fetchItems(t, items), opt)
	if ferr := w.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return buf.String(), flags, err
}

const nestedMessage = `From: "Anna Alpha" <anna@example.org>
To: Bob <bob@example.net>
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= from
 the nest
Date: Mon, 4 Mar 2024 10:00:00 +0100
Message-ID: <nest@example.org>
X-Folded: one
	two
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Sch=F6ne Gr=FC=DFe
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

plain alternative
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGI+aHRtbCBhbHRlcm5hdGl2ZTwvYj4=
--alt--
--outer
Content-Type: message/rfc822

From: inner@example.org
Subject: inner subject
Content-Type: multipart/mixed; boundary="in"

--in
Content-Type: text/plain

inner text
--in
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAw==
--in--
--outer--
epilogue
`

func TestFetchSimpleItems(t *testing.T) {
	b := newFixtureBox(t)
	date := time.Date(2024, 3, 5, 8, 9, 10, 0, time.FixedZone("", 3600))
	b.add("Subject: hi\n\nbody\n", withFlags(`\Seen`, "$Label"), withDate(date))
	msgs := b.messages()
	m := &msgs[0]

	tests := []struct {
		name  string
		items string
		opt   fetchOptions
		want  string
	}{
		{"flags", "FLAGS", fetchOptions{}, `* 1 FETCH (FLAGS (\Seen $Label))`},
		{"uid", "UID", fetchOptions{}, `* 1 FETCH (UID 1)`},
		{"uid fetch adds uid", "FLAGS", fetchOptions{UID: true}, `* 1 FETCH (UID 1 FLAGS (\Seen $Label))`},
		{"internaldate", "INTERNALDATE", fetchOptions{}, `* 1 FETCH (INTERNALDATE "05-Mar-2024 08:09:10 +0100")`},
		{"size", "RFC822.SIZE", fetchOptions{}, `* 1 FETCH (RFC822.SIZE 21)`},
		{"modseq", "MODSEQ", fetchOptions{}, fmt.Sprintf(`* 1 FETCH (MODSEQ (%d))`, m.ModSeq)},
		{"condstore adds modseq", "UID", fetchOptions{CondStore: true}, fmt.Sprintf(`* 1 FETCH (UID 1 MODSEQ (%d))`, m.ModSeq)},
		{"fast", "FAST", fetchOptions{}, `* 1 FETCH (FLAGS (\Seen $Label) INTERNALDATE "05-Mar-2024 08:09:10 +0100" RFC822.SIZE 21)`},
		{"envelope", "ENVELOPE", fetchOptions{}, `* 1 FETCH (ENVELOPE (NIL "hi" NIL NIL NIL NIL NIL NIL NIL NIL))`},
		{"body", "BODY", fetchOptions{}, `* 1 FETCH (BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 6 1))`},
		{"bodystructure", "BODYSTRUCTURE", fetchOptions{}, `* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 6 1 NIL NIL NIL NIL))`},
		{"rfc822.header", "RFC822.HEADER", fetchOptions{}, "* 1 FETCH (RFC822.HEADER {15}\r\nSubject: hi\r\n\r\n)"},
		{"rfc822.text", "RFC822.TEXT", fetchOptions{}, "* 1 FETCH (RFC822.TEXT {6}\r\nbody\r\n)"},
		{"rfc822", "RFC822", fetchOptions{}, "* 1 FETCH (RFC822 {21}\r\nSubject: hi\r\n\r\nbody\r\n)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := fetchString(t, b, m, tc.items, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want + "\r\n"; got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestFetchSections(t *testing.T) {
	b := newFixtureBox(t)
	b.add(nestedMessage)
	msgs := b.messages()
	m := &msgs[0]
	raw := crlf(nestedMessage)
	header := raw[:strings.Index(raw, "\r\n\r\n")+4]
	text := raw[len(header):]
	lit := func(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }

	tests := []struct{ items, want string }{
		{"BODY.PEEK[]", "BODY[] " + lit(raw)},
		{"BODY.PEEK[HEADER]", "BODY[HEADER] " + lit(header)},
		{"BODY.PEEK[TEXT]", "BODY[TEXT] " + lit(text)},
		{"BODY.PEEK[1]", "BODY[1] " + lit("Sch=F6ne Gr=FC=DFe")},
		{"BODY.PEEK[1.MIME]", "BODY[1.MIME] " + lit("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")},
		{"BODY.PEEK[2.1]", "BODY[2.1] " + lit("plain alternative")},
		{"BODY.PEEK[2.2]", "BODY[2.2] " + lit("PGI+aHRtbCBhbHRlcm5hdGl2ZTwvYj4=")},
		{"BODY.PEEK[3.HEADER]", "BODY[3.HEADER] " + lit("From: inner@example.org\r\nSubject: inner subject\r\nContent-Type: multipart/mixed; boundary=\"in\"\r\n\r\n")},
		{"BODY.PEEK[3.HEADER.FIELDS (subject)]", "BODY[3.HEADER.FIELDS (subject)] " + lit("Subject: inner subject\r\n\r\n")},
		{"BODY.PEEK[3.1]", "BODY[3.1] " + lit("inner text")},
		{"BODY.PEEK[3.2]", "BODY[3.2] " + lit("AAECAw==")},
		{"BODY.PEEK[3.TEXT]<0.4>", "BODY[3.TEXT]<0> " + lit("--in")},
		{"BODY.PEEK[3.2.MIME]", "BODY[3.2.MIME] " + lit("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")},
		// Fields case-insensitively, folded lines kept, in message order,
		// blank line at the end.
		{"BODY.PEEK[HEADER.FIELDS (x-folded SUBJECT)]", "BODY[HEADER.FIELDS (x-folded SUBJECT)] " +
			lit("Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= from\r\n the nest\r\nX-Folded: one\r\n\ttwo\r\n\r\n")},
		{"BODY.PEEK[HEADER.FIELDS (No-Such)]", "BODY[HEADER.FIELDS (No-Such)] " + lit("\r\n")},
		{"BODY.PEEK[HEADER.FIELDS.NOT (From To Subject Date Message-ID X-Folded)]", "BODY[HEADER.FIELDS.NOT (From To Subject Date Message-ID X-Folded)] " +
			lit("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")},
		// Partials: within, running over the end, beyond the end.
		{"BODY.PEEK[1]<4.6>", "BODY[1]<4> " + lit("F6ne G")},
		{"BODY.PEEK[1]<10.100>", "BODY[1]<10> " + lit("r=FC=DFe")},
		{"BODY.PEEK[1]<500.10>", `BODY[1]<500> ""`},
		// Sections that do not exist, or HEADER of a part that is not a
		// message.
		{"BODY.PEEK[9]", "BODY[9] NIL"},
		{"BODY.PEEK[1.HEADER]", "BODY[1.HEADER] NIL"},
		{"BODY.PEEK[2.5]", "BODY[2.5] NIL"},
		{"BINARY.PEEK[1]", "BINARY[1] " + lit("Sch\xf6ne Gr\xfc\xdfe")},
		{"BINARY.PEEK[2.2]", "BINARY[2.2] " + lit("<b>html alternative</b>")},
		{"BINARY.PEEK[3.2]", "BINARY[3.2] ~{4}\r\n\x00\x01\x02\x03"},
		{"BINARY.PEEK[3.2]<1.2>", "BINARY[3.2]<1> ~{2}\r\n\x01\x02"},
		{"BINARY.SIZE[3.2]", "BINARY.SIZE[3.2] 4"},
		{"BINARY.SIZE[2.2]", "BINARY.SIZE[2.2] 23"},
		{"BINARY.SIZE[8]", "BINARY.SIZE[8] NIL"},
	}
	for _, tc := range tests {
		t.Run(tc.items, func(t *testing.T) {
			got, setSeen, err := fetchString(t, b, m, tc.items, fetchOptions{Binary: true})
			if err != nil {
				t.Fatal(err)
			}
			if want := "* 1 FETCH (" + tc.want + ")\r\n"; got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if setSeen {
				t.Error("a PEEK fetch asked for \\Seen")
			}
		})
	}
}

func TestFetchBodyStructureNested(t *testing.T) {
	b := newFixtureBox(t)
	b.add(nestedMessage)
	msgs := b.messages()
	got, _, err := fetchString(t, b, &msgs[0], "BODYSTRUCTURE", fetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `* 1 FETCH (BODYSTRUCTURE (` +
		`("text" "plain" ("charset" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 18 1 NIL NIL NIL NIL)` +
		`(("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 17 1 NIL NIL NIL NIL)` +
		`("text" "html" ("charset" "utf-8") NIL NIL "BASE64" 32 1 NIL NIL NIL NIL) "alternative" ("boundary" "alt") NIL NIL NIL)` +
		`("message" "rfc822" NIL NIL NIL "7BIT" 242 (NIL "inner subject" (("NIL" NIL "inner" "example.org")) (("NIL" NIL "inner" "example.org")) (("NIL" NIL "inner" "example.org")) NIL NIL NIL NIL NIL)` +
		` (("text" "plain" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "BASE64" 8 NIL NIL NIL NIL) "mixed" ("boundary" "in") NIL NIL NIL) 14 NIL NIL NIL NIL)` +
		` "mixed" ("boundary" "outer") NIL NIL NIL))` + "\r\n"
	// The inner From has no display name: NIL, not "NIL".
	want = strings.ReplaceAll(want, `("NIL" NIL`, `(NIL NIL`)
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestFetchSetSeen: writeFetch reports items that set \Seen on a message
// that does not have it yet (the caller has not stored it), and never adds
// FLAGS by itself.
func TestFetchSetSeen(t *testing.T) {
	b := newFixtureBox(t)
	b.add("Subject: x\n\nbody\n", withFlags(`\Seen`))
	b.add("Subject: x\n\nbody\n")
	msgs := b.messages()
	tests := []struct {
		items     string
		needsSeen bool
		want      string
	}{
		{"BODY[TEXT]", true, "BODY[TEXT] {6}\r\nbody\r\n"},
		{"(FLAGS BODY[TEXT])", true, "FLAGS (%s) BODY[TEXT] {6}\r\nbody\r\n"},
		{"BINARY[1]", true, "BINARY[1] {6}\r\nbody\r\n"},
		{"RFC822", true, "RFC822 {20}\r\nSubject: x\r\n\r\nbody\r\n"},
		{"BODY.PEEK[TEXT]", false, "BODY[TEXT] {6}\r\nbody\r\n"},
		{"BINARY.PEEK[1]", false, "BINARY[1] {6}\r\nbody\r\n"},
		{"BINARY.SIZE[1]", false, "BINARY.SIZE[1] 6"},
		{"RFC822.HEADER", false, "RFC822.HEADER {14}\r\nSubject: x\r\n\r\n"},
		{"FLAGS", false, "FLAGS (%s)"},
	}
	for _, tc := range tests {
		t.Run(tc.items, func(t *testing.T) {
			if got := fetchNeedsSeen(fetchItems(t, tc.items)); got != tc.needsSeen {
				t.Errorf("fetchNeedsSeen = %v", got)
			}
			for i, flags := range []string{`\Seen`, ""} {
				m := &msgs[i]
				got, setSeen, err := fetchString(t, b, m, tc.items, fetchOptions{Binary: true})
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.needsSeen && flags == ""; setSeen != want {
					t.Errorf("message %d: setSeen = %v, want %v", m.Seq, setSeen, want)
				}
				want := fmt.Sprintf("* %d FETCH (", m.Seq) + tc.want + ")\r\n"
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, flags)
				}
				if got != want {
					t.Errorf("got  %q\nwant %q", got, want)
				}
			}
		})
	}
}

func TestFetchBinaryErrors(t *testing.T) {
	b := newFixtureBox(t)
	b.add("Content-Type: application/x-thing\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n")
	msgs := b.messages()

	got, _, err := fetchString(t, b, &msgs[0], "BINARY[1]", fetchOptions{Binary: true})
	var cte *unknownCTEError
	if !errors.As(err, &cte) || cte.Encoding != "X-UUENCODE" {
		t.Fatalf("err = %v, want unknownCTEError", err)
	}
	if got != "" {
		t.Errorf("wrote %q before failing", got)
	}
	// The raw body is still there for BODY[1].
	got, _, err = fetchString(t, b, &msgs[0], "BODY.PEEK[1]", fetchOptions{})
	if err != nil || got != "* 1 FETCH (BODY[1] {13}\r\nbegin 644 x\r\n)\r\n" {
		t.Errorf("BODY[1] = %q, %v", got, err)
	}
	if _, _, err := fetchString(t, b, &msgs[0], "BINARY.SIZE[1]", fetchOptions{}); !errors.Is(err, errBinaryNotEnabled) {
		t.Errorf("BINARY without the option: %v", err)
	}
}

// TestFetchBinaryWholeAndComposite: BINARY[] is the message as it is, and
// a composite part is never decoded.
func TestFetchBinaryWholeAndComposite(t *testing.T) {
	b := newFixtureBox(t)
	b.add(nestedMessage)
	msgs := b.messages()
	raw := crlf(nestedMessage)
	got, _, err := fetchString(t, b, &msgs[0], "BINARY.PEEK[]", fetchOptions{Binary: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("* 1 FETCH (BINARY[] {%d}\r\n%s)\r\n", len(raw), raw); got != want {
		t.Errorf("got %q", got)
	}
	got, _, err = fetchString(t, b, &msgs[0], "BINARY.SIZE[2]", fetchOptions{Binary: true})
	if err != nil {
		t.Fatal(err)
	}
	alt := raw[strings.Index(raw, "--alt\r\n") : strings.Index(raw, "--alt--")+len("--alt--")]
	if want := fmt.Sprintf("* 1 FETCH (BINARY.SIZE[2] %d)\r\n", len(alt)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFetchLargeBodyStreams fetches a body larger than any buffer on the
// way, from the blob.
func TestFetchLargeBodyStreams(t *testing.T) {
	b := newFixtureBox(t)
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	body := strings.Repeat(line, 200000) // ~13 MB
	b.addRaw([]byte("Subject: big\r\n\r\n" + body))
	msgs := b.messages()
	got, _, err := fetchString(t, b, &msgs[0], "BODY.PEEK[TEXT]<1000000.66>", fetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	off := 1000000
	if want := "* 1 FETCH (BODY[TEXT]<1000000> {66}\r\n" + body[off:off+66] + ")\r\n"; got != want {
		t.Errorf("got %q", got)
	}
	got, _, err = fetchString(t, b, &msgs[0], "BODY.PEEK[TEXT]", fetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got, body+")\r\n") || len(got) != len(body)+len("* 1 FETCH (BODY[TEXT] {13200000}\r\n)\r\n") {
		t.Errorf("whole text: %d bytes", len(got))
	}
}

// TestFetchDeepNesting is issue 3 acceptance 6: a 10,000-deep nested
// MIME message gets a BODYSTRUCTURE of bounded depth.
func TestFetchDeepNesting(t *testing.T) {
	var raw strings.Builder
	raw.WriteString("Subject: deep\r\n")
	const depth = 10000
	for i := range depth {
		fmt.Fprintf(&raw, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	raw.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&raw, "--b%d--\r\n", i)
	}
	b := newFixtureBox(t)
	b.addRaw([]byte(raw.String()))
	msgs := b.messages()
	for _, item := range []string{"BODYSTRUCTURE", "BODY"} {
		got, _, err := fetchString(t, b, &msgs[0], item, fetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nest, maxNest := 0, 0
		inQuote := false
		for i := 0; i < len(got); i++ {
			switch c := got[i]; {
			case c == '"':
				inQuote = !inQuote
			case inQuote && c == '\\':
				i++
			case !inQuote && c == '(':
				nest++
				maxNest = max(maxNest, nest)
			case !inQuote && c == ')':
				nest--
			}
		}
		if nest != 0 {
			t.Errorf("%s: unbalanced parentheses", item)
		}
		if maxNest > 2*mime.MaxDepth+4 {
			t.Errorf("%s: nested %d deep", item, maxNest)
		}
		if !strings.HasPrefix(got, "* 1 FETCH ("+item+" ((") || !strings.HasSuffix(got, ")\r\n") {
			t.Errorf("%s: %.80q...", item, got)
		}
	}
}

// TestFetchCorpusStructure fetches BODYSTRUCTURE, ENVELOPE and every
// part of real messages: nothing fails and every BODY[n] is the byte range
// of its part.
func TestFetchCorpusStructure(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/test/*/*")
	if len(files) == 0 {
		t.Skip("no corpus")
	}
	if len(files) > 40 {
		files = files[:40]
	}
	b := newFixtureBox(t)
	var raws [][]byte
	for _, f := range files {
		raw := readCorpus(t, f)
		raws = append(raws, raw)
		b.addRaw(raw)
	}
	msgs := b.messages()
	ld := b.loader()
	for i := range msgs {
		m := &msgs[i]
		got, _, err := fetchString(t, b, m, "(UID ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE)", fetchOptions{})
		if err != nil {
			t.Fatalf("%s: %v", files[i], err)
		}
		if !strings.HasPrefix(got, fmt.Sprintf("* %d FETCH (UID %d ENVELOPE (", m.Seq, m.UID)) {
			t.Errorf("%s: %.100q", files[i], got)
		}
		p, err := ld.parsed(m)
		if err != nil {
			t.Fatal(err)
		}
		p.Walk(func(sec []int, part *mime.Part) bool {
			spec := strings.Trim(strings.ReplaceAll(fmt.Sprint(sec), " ", "."), "[]")
			got, _, err := fetchString(t, b, m, "BODY.PEEK["+spec+"]", fetchOptions{})
			if err != nil {
				t.Fatalf("%s part %s: %v", files[i], spec, err)
			}
			body := raws[i][part.BodyStart:part.End]
			want := fmt.Sprintf("* %d FETCH (BODY[%s] {%d}\r\n%s)\r\n", m.Seq, spec, len(body), body)
			if len(body) == 0 {
				want = fmt.Sprintf("* %d FETCH (BODY[%s] \"\")\r\n", m.Seq, spec)
			}
			if got != want {
				t.Errorf("%s part %s: got %.100q", files[i], spec, got)
			}
			// Every other specifier on the part answers (NIL where it
			// does not apply) without failing.
			items := "(BODY.PEEK[" + spec + ".MIME] BODY.PEEK[" + spec + ".HEADER] BODY.PEEK[" + spec + ".TEXT]<3.7> " +
				"BODY.PEEK[" + spec + ".HEADER.FIELDS (subject from)] BINARY.SIZE[" + spec + "] BINARY.PEEK[" + spec + "]<2.5>)"
			got, _, err = fetchString(t, b, m, items, fetchOptions{Binary: true})
			var cte *unknownCTEError
			if err != nil && !errors.As(err, &cte) {
				t.Errorf("%s part %s: %v", files[i], spec, err)
			} else if err == nil && !strings.HasSuffix(got, ")\r\n") {
				t.Errorf("%s part %s: %.100q", files[i], spec, got)
			}
			return true
		})
	}
}

func readCorpus(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Corpus files start with an mbox "From " line, not part of the
	// message.
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

// TestFetchE2E drives FETCH through a real session (the conn_test.go
// harness).
func TestFetchE2E(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", nestedMessage)
	ts.deliver("INBOX", "Content-Type: application/x-thing\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n")
	c := ts.conn().login()
	c.selectInbox()

	c.cmd(`a1 FETCH 1 (UID BODY.PEEK[1] BINARY.PEEK[3.2] BINARY.SIZE[2.2] BODY.PEEK[HEADER.FIELDS (x-folded)])`).ok().xuntagged(
		"* 1 FETCH (UID 1 BODY[1] {18}\r\nSch=F6ne Gr=FC=DFe BINARY[3.2] ~{4}\r\n\x00\x01\x02\x03 BINARY.SIZE[2.2] 23 BODY[HEADER.FIELDS (x-folded)] {23}\r\nX-Folded: one\r\n\ttwo\r\n\r\n)")
	c.cmd("a2 UID FETCH 1 (FLAGS)").ok().xuntagged(`* 1 FETCH (UID 1 FLAGS ())`)

	// Fetching a body without PEEK sets \Seen and reports it.
	c.cmd("a3 FETCH 1 BODY[2.1]").ok()
	if got := c.responses(); len(got) != 2 || got[0] != "* 1 FETCH (BODY[2.1] {17}\r\nplain alternative)" || !strings.Contains(got[1], `FLAGS (\Seen)`) {
		t.Fatalf("FETCH BODY[2.1]: %q", got)
	}
	c.cmd("a4 FETCH 1 FLAGS").ok().xuntagged(`* 1 FETCH (FLAGS (\Seen))`)
	// Already seen: nothing more to report.
	c.cmd("a5 FETCH 1 BODY[2.1]").ok().xuntagged("* 1 FETCH (BODY[2.1] {17}\r\nplain alternative)")

	// RFC 3516 section 4.3: an encoding the server cannot decode.
	c.cmd("a6 FETCH 2 BINARY.PEEK[1]").no().code("UNKNOWN-CTE")
	c.cmd("a7 FETCH 2 BODY.PEEK[1]").ok().xuntagged("* 2 FETCH (BODY[1] {13}\r\nbegin 644 x\r\n)")
	c.cmd("a8 FETCH 2 FLAGS").ok().xuntagged(`* 2 FETCH (FLAGS ())`)
}

// TestFetchBatchedMatchesSingle: a FETCH over a range loads structures in
// batches (loader.plan, store GetMessages) and BODY[HEADER] from the
// header offsets alone; every response must be what fetching each message
// on its own gives, across more than one batch.
func TestFetchBatchedMatchesSingle(t *testing.T) {
	ts := newTestServer(t)
	const n = loadBatch + 20
	for i := range n {
		raw := testMessage(fmt.Sprintf("msg %d", i))
		if i%7 == 0 {
			raw = "Content-Type: multipart/mixed; boundary=b\nSubject: multi " + fmt.Sprint(i) +
				"\n\n--b\nContent-Type: text/plain\n\nhi\n--b--\n"
		}
		ts.deliver("INBOX", raw)
	}
	c := ts.conn().login()
	c.cmd("s SELECT INBOX").ok()
	items := "(UID BODY.PEEK[HEADER] RFC822.HEADER ENVELOPE BODYSTRUCTURE BODY.PEEK[1])"
	var want []string
	for i := 1; i <= n; i++ {
		c.cmdf("f%d FETCH %d %s", i, i, items).ok()
		want = append(want, c.responses()...)
	}
	for _, set := range []string{"1:*", "2:" + fmt.Sprint(n-1)} {
		c.cmd("all FETCH " + set + " " + items).ok()
		got := c.responses()
		w := want
		if set != "1:*" {
			w = want[1 : n-1]
		}
		if len(got) != len(w) {
			t.Fatalf("FETCH %s: %d responses, want %d", set, len(got), len(w))
		}
		for i := range got {
			if got[i] != w[i] {
				t.Errorf("FETCH %s response %d:\n got %q\nwant %q", set, i, got[i], w[i])
			}
		}
	}
}
