package imapd

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/imapd/wire"
	"mailport/internal/mime"
	"mailport/internal/store"
)

func searchKey(t *testing.T, criteria string) *wire.SearchKey {
	t.Helper()
	return parseCommand(t, "a SEARCH "+criteria).Args.(*wire.SearchArgs).Criteria
}

func seqsOf(msgs []message) []uint32 {
	out := []uint32{}
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// searchFixture stores four messages that exercise every search key; the
// last two have no indexed text, so they are searched in their blobs.
func searchFixture(t *testing.T) *fixtureBox {
	b := newFixtureBox(t)
	b.add(`From: Anna Alpha <anna@example.org>
To: bob@example.net
Cc: carol@example.com
Bcc: dave@example.com
Subject: Quarterly report
Date: Mon, 4 Mar 2024 10:00:00 +0100
X-Tag: alpha

the budget numbers
`, withFlags(`\Seen`, `\Answered`), withDate(time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)))
	b.add(`From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>
To: anna@example.org
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=
Date: Sun, 10 Mar 2024 23:30:00 -0500
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

`+b64("Viele Grüße aus Köln\n")+"\n",
		withFlags(`\Flagged`, "$Important"), withDate(time.Date(2024, 3, 10, 23, 30, 0, 0, time.FixedZone("", -5*3600))))
	b.add(`From: carol@example.com
Subject: Re: Quarterly report
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Sch=F6ne Gr=FC=DFe
`, withFlags(`\Deleted`, `\Draft`), withDate(time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)), unindexed())
	b.add(`From: bob@example.net
Subject: big
Date: Wed, 20 Mar 2024 12:00:00 +0000

`+strings.Repeat("filler line of text\n", 300)+"the needle\n",
		withDate(time.Date(2024, 3, 25, 0, 0, 0, 0, time.UTC)), unindexed())
	return b
}

func TestSearchKeys(t *testing.T) {
	b := searchFixture(t)
	msgs := b.messages()
	env := searchEnv{MaxSeq: 4, MaxUID: 4, Saved: []uint32{1, 3}, Now: time.Date(2024, 3, 21, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		criteria string
		want     []uint32
	}{
		{"ALL", []uint32{1, 2, 3, 4}},
		{"ANSWERED", []uint32{1}},
		{"UNANSWERED", []uint32{2, 3, 4}},
		{"DELETED", []uint32{3}},
		{"UNDELETED", []uint32{1, 2, 4}},
		{"DRAFT", []uint32{3}},
		{"UNDRAFT", []uint32{1, 2, 4}},
		{"FLAGGED", []uint32{2}},
		{"UNFLAGGED", []uint32{1, 3, 4}},
		{"SEEN", []uint32{1}},
		{"UNSEEN", []uint32{2, 3, 4}},
		{"KEYWORD $Important", []uint32{2}},
		{"KEYWORD $important", []uint32{2}},
		{"UNKEYWORD $Important", []uint32{1, 3, 4}},
		{"NEW", []uint32{}},
		{"RECENT", []uint32{}},
		{"OLD", []uint32{1, 2, 3, 4}},
		{"BCC dave", []uint32{1}},
		{"CC CAROL", []uint32{1}},
		{"FROM anna", []uint32{1}},
		{`FROM "jörg"`, []uint32{2}},
		{`FROM "JÖRG"`, []uint32{2}},
		{"FROM example", []uint32{1, 2, 3, 4}},
		{"TO anna", []uint32{2}},
		{"TO example.net", []uint32{1}},
		{"SUBJECT quarterly", []uint32{1, 3}},
		{`SUBJECT "grüße"`, []uint32{2}},
		{`SUBJECT ""`, []uint32{1, 2, 3, 4}},
		{"HEADER X-Tag alpha", []uint32{1}},
		{`HEADER x-tag ""`, []uint32{1}},
		{`HEADER Date ""`, []uint32{1, 2, 4}},
		{"HEADER X-Tag beta", []uint32{}},
		{"BODY budget", []uint32{1}},
		{`BODY "KÖLN"`, []uint32{2}},
		{"BODY needle", []uint32{4}},
		{`BODY "grüße"`, []uint32{2, 3}},
		{"BODY anna", []uint32{}},
		{"TEXT quarterly", []uint32{1, 3}},
		{"TEXT budget", []uint32{1}},
		{"TEXT anna", []uint32{1, 2}},
		{"TEXT needle", []uint32{4}},
		{"NOT BODY budget", []uint32{2, 3, 4}},
		{"BEFORE 10-Mar-2024", []uint32{1}},
		{"ON 10-Mar-2024", []uint32{2}},
		{"SINCE 10-Mar-2024", []uint32{2, 3, 4}},
		{"SINCE 11-Mar-2024", []uint32{3, 4}},
		{"SENTBEFORE 5-Mar-2024", []uint32{1}},
		{"SENTON 10-Mar-2024", []uint32{2}},
		{"SENTON 20-Mar-2024", []uint32{3, 4}},
		{"SENTSINCE 11-Mar-2024", []uint32{3, 4}},
		{"LARGER 1000", []uint32{4}},
		{"SMALLER 1000", []uint32{1, 2, 3}},
		{"UID 2:3", []uint32{2, 3}},
		{"UID 4:*", []uint32{4}},
		{"UID *", []uint32{4}},
		{"UID 9:*", []uint32{4}},
		{"2,4", []uint32{2, 4}},
		{"3:*", []uint32{3, 4}},
		{"$", []uint32{1, 3}},
		{"UID $", []uint32{1, 3}},
		{fmt.Sprintf("MODSEQ %d", msgs[2].ModSeq), []uint32{3, 4}},
		{fmt.Sprintf(`MODSEQ "/flags/\\seen" all %d`, msgs[1].ModSeq), []uint32{2, 3, 4}},
		{"YOUNGER 86400", []uint32{3, 4}},
		{"OLDER 86400", []uint32{1, 2}},
		{"NOT SEEN", []uint32{2, 3, 4}},
		{"OR SEEN FLAGGED", []uint32{1, 2}},
		{"(SEEN FROM anna)", []uint32{1}},
		{"SEEN FROM bob", []uint32{}},
		{"NOT (OR DELETED DRAFT)", []uint32{1, 2, 4}},
		{"OR BODY needle FROM anna", []uint32{1, 4}},
		{`UNSEEN OR BODY "grüße" SUBJECT big`, []uint32{2, 3, 4}},
	}
	for i, m := range msgs {
		if m.UID != uint32(i+1) || i > 0 && m.ModSeq <= msgs[i-1].ModSeq {
			t.Fatalf("fixture: message %d has UID %d MODSEQ %d", i+1, m.UID, m.ModSeq)
		}
	}
	for _, tc := range tests {
		t.Run(tc.criteria, func(t *testing.T) {
			got, err := searchMessages(b.loader(), msgs, searchKey(t, tc.criteria), env)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(got), tc.want) {
				t.Errorf("got %v, want %v", seqsOf(got), tc.want)
			}
		})
	}
}

// TestSearchBodyDecoded is issue 3 acceptance 4: SEARCH BODY finds a word
// inside a base64 and inside a quoted-printable text part, in UTF-8 and
// in ISO-8859-1, whether the message is indexed or read from its blob.
func TestSearchBodyDecoded(t *testing.T) {
	word := "Grüße"
	latin1 := func(s string) string {
		var out []byte
		for _, r := range s {
			out = append(out, byte(r))
		}
		return string(out)
	}
	qp := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 0x80 || c == '=' {
				fmt.Fprintf(&b, "=%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	text := "Viele " + word + " aus dem Norden\n"
	parts := []struct {
		name, charset, cte, body string
	}{
		{"base64 utf-8", "utf-8", "base64", b64(text)},
		{"qp utf-8", "utf-8", "quoted-printable", qp(text)},
		{"base64 iso-8859-1", "iso-8859-1", "base64", b64(latin1(text))},
		{"qp iso-8859-1", "ISO-8859-1", "quoted-printable", qp(latin1(text))},
	}
	for _, indexed := range []bool{true, false} {
		b := newFixtureBox(t)
		b.add("Subject: unrelated\n\nnothing here\n")
		for _, p := range parts {
			raw := fmt.Sprintf("Subject: %s\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nfirst part\n--x\n"+
				"Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n\n%s\n--x--\n", p.name, p.charset, p.cte, p.body)
			if indexed {
				b.add(raw)
			} else {
				b.add(raw, unindexed())
			}
		}
		msgs := b.messages()
		for _, needle := range []string{word, "GRÜSSE", "grüße", "Gr", "üß"} {
			t.Run(fmt.Sprintf("indexed=%v/%s", indexed, needle), func(t *testing.T) {
				got, err := searchMessages(b.loader(), msgs, searchKey(t, `BODY "`+needle+`"`), searchEnv{MaxSeq: 5, MaxUID: 5})
				if err != nil {
					t.Fatal(err)
				}
				want := []uint32{2, 3, 4, 5}
				if needle == "GRÜSSE" {
					// Case folding is rune by rune: ß does not match SS.
					want = []uint32{}
				}
				if !slices.Equal(seqsOf(got), want) {
					t.Errorf("got %v, want %v", seqsOf(got), want)
				}
			})
		}
	}
}

// TestExtractTextMatchesIndex: mime.ExtractText, which fills the index,
// decodes header words and text parts and leaves other parts out.
func TestExtractTextMatchesIndex(t *testing.T) {
	raw := crlf(nestedMessage)
	p, err := mime.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	head, body, err := mime.ExtractText(strings.NewReader(raw), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Subject: Grüße from the nest\n", "From: \"Anna Alpha\" <anna@example.org>\n", "X-Folded: one\ttwo\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("header text lacks %q:\n%s", want, head)
		}
	}
	for _, want := range []string{"Schöne Grüße\n", "plain alternative\n", "<b>html alternative</b>\n", "Subject: inner subject\n", "inner text\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("body text lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "AAECAw") || strings.Contains(body, "\x00") || strings.Contains(body, "preamble") {
		t.Errorf("body text holds a non-text part or the preamble:\n%q", body)
	}
}

func TestSearchErrors(t *testing.T) {
	b := searchFixture(t)
	msgs := b.messages()
	bad := []*wire.SearchKey{
		nil,
		{Op: "AND", Children: []*wire.SearchKey{{Op: "FUZZY"}}},
		{Op: "OR", Children: []*wire.SearchKey{{Op: "ALL"}}},
		{Op: "NOT"},
	}
	for _, k := range bad {
		if _, err := searchMessages(b.loader(), msgs, k, searchEnv{}); err == nil {
			t.Errorf("%+v: no error", k)
		}
	}
}

// TestSearchUsesIndex: for a message the index has text for, the index's
// answer stands (no blob is read for BODY), and the header keys are
// narrowed by the index before the field is checked.
func TestSearchUsesIndex(t *testing.T) {
	b := newFixtureBox(t)
	raw := "From: anna@example.org\nSubject: visible\n\nblob word\n"
	b.add(raw, func(nm *store.NewMessage) {
		nm.HeaderText = "Subject: visible\n"
		nm.BodyText = "index word\n"
	})
	b.add(raw, unindexed())
	b.add(raw, func(nm *store.NewMessage) {
		nm.HeaderText = "Subject: indexed only\nX-Index: yes\n"
		nm.BodyText = ""
	})
	msgs := b.messages()
	tests := []struct {
		criteria string
		want     []uint32
	}{
		{"BODY index", []uint32{1}},
		{"BODY blob", []uint32{2}},
		{"TEXT index", []uint32{1, 3}}, // 3 has it in its header
		// The index has no From for messages 1 and 3: its answer stands.
		{"FROM anna", []uint32{2}},
		{"SUBJECT visible", []uint32{1, 2}},
		{`HEADER from ""`, []uint32{2}},
		// The header keys are answered by the index's field lines.
		{`SUBJECT "indexed only"`, []uint32{3}},
		{`HEADER x-index ""`, []uint32{3}},
		{`HEADER x-index "y"`, []uint32{3}},
		// A name that is no field name goes to the blobs.
		{`HEADER "x index" ""`, []uint32{}},
	}
	for _, tc := range tests {
		t.Run(tc.criteria, func(t *testing.T) {
			got, err := searchMessages(b.loader(), msgs, searchKey(t, tc.criteria), searchEnv{MaxSeq: 3, MaxUID: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(got), tc.want) {
				t.Errorf("got %v, want %v", seqsOf(got), tc.want)
			}
		})
	}
}

// TestSearchHeaderLineBreak: a line break decoded from an encoded word is
// a space for the header keys, indexed or read from the blob, so a
// crafted Subject cannot pose as another field of the index's text.
func TestSearchHeaderLineBreak(t *testing.T) {
	b := newFixtureBox(t)
	raw := "From: anna@example.org\nSubject: =?utf-8?q?hello=0Afrom:_evil?=\n\nbody\n"
	b.add(raw)
	b.add(raw, unindexed())
	msgs := b.messages()
	for _, tc := range []struct {
		criteria string
		want     []uint32
	}{
		{"FROM evil", []uint32{}},
		{`SUBJECT "hello from: evil"`, []uint32{1, 2}},
		{"FROM anna", []uint32{1, 2}},
	} {
		got, err := searchMessages(b.loader(), msgs, searchKey(t, tc.criteria), searchEnv{MaxSeq: 2, MaxUID: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.criteria, seqsOf(got), tc.want)
		}
	}
}

// TestSearchE2E drives SEARCH through a real session over messages the
// delivery path stored.
func TestSearchE2E(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", "From: anna@example.org\nSubject: plain\n\nnothing\n", `\Seen`)
	ts.deliver("INBOX", "From: bob@example.org\nSubject: b64\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"+b64("Viele Grüße\n")+"\n")
	ts.deliver("INBOX", "From: carl@example.org\nSubject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nViele Gr=FC=DFe\n")
	c := ts.conn().login()
	c.selectInbox()
	c.cmd(`a1 SEARCH CHARSET UTF-8 BODY "grüße"`).ok().xuntagged("* SEARCH 2 3")
	c.cmd(`a2 UID SEARCH OR FROM anna SUBJECT qp`).ok().xuntagged("* SEARCH 1 3")
	c.cmd(`a3 SEARCH UNSEEN`).ok().xuntagged("* SEARCH 2 3")
	c.cmd(`a4 SEARCH RETURN (MIN MAX COUNT) NOT SEEN`).ok().xuntagged(`* ESEARCH (TAG "a4") MIN 2 MAX 3 COUNT 2`)
	c.cmd(`a5 SEARCH RETURN (SAVE) FROM carl`).ok().xuntagged()
	c.cmd(`a6 SEARCH $`).ok().xuntagged("* SEARCH 3")
	c.cmd(`a7 SEARCH TEXT b64`).ok().xuntagged("* SEARCH 2")
	c.cmd(`a8 SEARCH CHARSET KOI8-R ALL`).no().code("BADCHARSET")
}
