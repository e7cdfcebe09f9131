package mime

import (
	"reflect"
	"strings"
	"testing"
)

const simpleMessage = `Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu.example
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
`

const mixedMessage = `From: a@example.com
To: b@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
Content-Type: multipart/mixed;
 boundary="outer"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

plain body
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>html body</p>
--inner--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*0*=utf-8''r%C3%A9sum;
 filename*1="e.pdf"
Content-ID: <part3@example.com>
Content-Description: the report
Content-Language: en, de (German)
Content-Location: http://example.com/r.pdf

JVBERi0xLjQK
--outer
Content-Type: message/rfc822

From: Inner Sender <inner@example.net>
Subject: inner subject
Content-Type: multipart/mixed; boundary=deep

--deep
Content-Type: text/plain

inner text
--deep
Content-Type: image/png

PNG
--deep--
--outer--
This is the epilogue.
`

type structCase struct {
	name  string
	raw   string
	shape string
	// bodies maps a section ("" for the root) to its expected body.
	bodies map[string]string
	// headers maps a section to its expected MIME header.
	headers map[string]string
	check   func(t *testing.T, m *Message)
}

func TestParseStructure(t *testing.T) {
	cases := []structCase{
		{
			name:  "single part (RFC 3501 example)",
			raw:   crlf(simpleMessage),
			shape: "text/plain",
			bodies: map[string]string{
				"1": "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n",
			},
			check: func(t *testing.T, m *Message) {
				p := &m.Root
				if !reflect.DeepEqual(p.Params, []Param{{"charset", "US-ASCII"}}) {
					t.Errorf("params = %v", p.Params)
				}
				if p.Encoding != "7BIT" || p.Lines != 1 || p.Size != 55 {
					t.Errorf("encoding %q lines %d size %d", p.Encoding, p.Lines, p.Size)
				}
				e := m.Envelope
				want := Envelope{
					Date:      "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
					Subject:   "afternoon meeting",
					From:      []Address{{Name: "Fred Foobar", Mailbox: "foobar", Host: "Blurdybloop.example"}},
					To:        []Address{{Mailbox: "mooch", Host: "owatagu.siam.edu.example"}},
					MessageID: "<B27397-0100000@Blurdybloop.example>",
				}
				want.Sender, want.ReplyTo = want.From, want.From
				if !reflect.DeepEqual(e, want) {
					t.Errorf("envelope\n got %+v\nwant %+v", e, want)
				}
			},
		},
		{
			name:  "nested multipart with attachment and message/rfc822",
			raw:   crlf(mixedMessage),
			shape: "multipart/mixed[multipart/alternative[text/plain,text/html],application/pdf,message/rfc822{multipart/mixed[text/plain,image/png]}]",
			bodies: map[string]string{
				"1.1":   "plain body",
				"1.2":   "<p>html body</p>",
				"2":     "JVBERi0xLjQK",
				"3.1":   "inner text",
				"3.2":   "PNG",
				"3":     "From: Inner Sender <inner@example.net>\r\nSubject: inner subject\r\nContent-Type: multipart/mixed; boundary=deep\r\n\r\n--deep\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--deep\r\nContent-Type: image/png\r\n\r\nPNG\r\n--deep--",
				"1":     "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body\r\n--inner\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>html body</p>\r\n--inner--",
				"3.1.1": "", // not addressable: 3.1 is a leaf
			},
			headers: map[string]string{
				"1.2": "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
				"3.2": "Content-Type: image/png\r\n\r\n",
			},
			check: func(t *testing.T, m *Message) {
				if m.Envelope.Subject != "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" {
					t.Errorf("subject not kept raw: %q", m.Envelope.Subject)
				}
				root := &m.Root
				if got := root.Param("boundary"); got != "outer" {
					t.Errorf("boundary = %q", got)
				}
				if !strings.HasPrefix(string(crlf(mixedMessage)[root.BodyStart:]), "This is the preamble.") {
					t.Errorf("root body does not start at the preamble")
				}
				pdf, _ := m.Find([]int{2})
				if pdf.Encoding != "BASE64" || pdf.Disposition != "attachment" || pdf.ID != "<part3@example.com>" ||
					pdf.Description != "the report" || pdf.Location != "http://example.com/r.pdf" {
					t.Errorf("attachment fields: %+v", pdf)
				}
				if !reflect.DeepEqual(pdf.Language, []string{"en", "de"}) {
					t.Errorf("language = %q", pdf.Language)
				}
				if !reflect.DeepEqual(pdf.DispositionParams, []Param{{"filename*", "utf-8''r%C3%A9sume.pdf"}}) {
					t.Errorf("disposition params = %v", pdf.DispositionParams)
				}
				if got := pdf.DispositionParam("filename"); got != "résume.pdf" {
					t.Errorf("decoded filename = %q", got)
				}
				if pdf.Lines != 0 {
					t.Errorf("non-text part has Lines %d", pdf.Lines)
				}
				msg, _ := m.Find([]int{3})
				if msg.Envelope == nil || msg.Envelope.Subject != "inner subject" ||
					!reflect.DeepEqual(msg.Envelope.From, []Address{{Name: "Inner Sender", Mailbox: "inner", Host: "example.net"}}) {
					t.Fatalf("inner envelope = %+v", msg.Envelope)
				}
				if msg.Lines != 13 {
					t.Errorf("message/rfc822 lines = %d, want 13", msg.Lines)
				}
				// BODY[3.HEADER] is the encapsulated header.
				raw := crlf(mixedMessage)
				hdr := raw[msg.Message.HeaderStart:msg.Message.BodyStart]
				if !strings.HasPrefix(hdr, "From: Inner Sender") || !strings.HasSuffix(hdr, "boundary=deep\r\n\r\n") {
					t.Errorf("BODY[3.HEADER] = %q", hdr)
				}
				html, _ := m.Find([]int{1, 2})
				if html.Lines != 1 || html.Encoding != "QUOTED-PRINTABLE" {
					t.Errorf("html part: lines %d encoding %q", html.Lines, html.Encoding)
				}
			},
		},
		{
			name:  "LF line endings",
			raw:   mixedMessage,
			shape: "multipart/mixed[multipart/alternative[text/plain,text/html],application/pdf,message/rfc822{multipart/mixed[text/plain,image/png]}]",
			bodies: map[string]string{
				"1.1": "plain body",
				"2":   "JVBERi0xLjQK",
				"3.2": "PNG",
			},
			headers: map[string]string{
				"3.2": "Content-Type: image/png\n\n",
			},
		},
		{
			name: "boundary never closed, epilogue-less",
			raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b

one
--b

two
`),
			shape:  "multipart/mixed[text/plain,text/plain]",
			bodies: map[string]string{"1": "one", "2": "two\r\n"},
		},
		{
			name: "missing boundary parameter",
			raw: crlf(`Content-Type: multipart/mixed

--x
Content-Type: text/plain

hi
`),
			shape:  "text/plain",
			bodies: map[string]string{"1": "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n"},
			check: func(t *testing.T, m *Message) {
				if m.Root.Params != nil || m.Root.Lines != 4 {
					t.Errorf("opaque root: params %v lines %d", m.Root.Params, m.Root.Lines)
				}
			},
		},
		{
			name: "boundary declared but never used",
			raw: crlf(`Content-Type: multipart/mixed; boundary=zzz

no parts here
`),
			shape: "text/plain",
		},
		{
			name: "part header without blank line",
			raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/html
<b>no blank line</b>
--b
just text, no header
--b--
`),
			shape: "multipart/mixed[text/html,text/plain]",
			bodies: map[string]string{
				"1": "<b>no blank line</b>",
				"2": "just text, no header",
			},
			headers: map[string]string{"1": "Content-Type: text/html\r\n"},
		},
		{
			name:   "header only, no body",
			raw:    "Subject: x\r\nFrom: y@z",
			shape:  "text/plain",
			bodies: map[string]string{"1": ""},
			check: func(t *testing.T, m *Message) {
				if m.Envelope.Subject != "x" || m.Root.BodyStart != m.Size {
					t.Errorf("subject %q body start %d", m.Envelope.Subject, m.Root.BodyStart)
				}
			},
		},
		{
			name: "delimiter directly after part header and empty parts",
			raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain
--b

--b--`),
			shape:  "multipart/mixed[text/plain,text/plain]",
			bodies: map[string]string{"1": "", "2": ""},
		},
		{
			name: "folded headers, quoted and RFC 2231 params, comments",
			raw: crlf(`Subject: a
	folded
  subject
Content-Type: text/plain (comment) ; format=flowed;
	charset*=iso-8859-1'de'%E4rger; name="quoted \"name\"; with semicolon"
Content-Transfer-Encoding: Quoted-Printable (qp)

body
`),
			shape: "text/plain",
			check: func(t *testing.T, m *Message) {
				if m.Envelope.Subject != "a\tfolded  subject" {
					t.Errorf("unfolded subject = %q", m.Envelope.Subject)
				}
				want := []Param{{"format", "flowed"}, {"charset*", "iso-8859-1'de'%E4rger"}, {"name", `quoted "name"; with semicolon`}}
				if !reflect.DeepEqual(m.Root.Params, want) {
					t.Errorf("params = %q", m.Root.Params)
				}
				if got := m.Root.Param("charset"); got != "ärger" {
					t.Errorf("decoded charset param = %q", got)
				}
				if m.Root.Encoding != "QUOTED-PRINTABLE" {
					t.Errorf("encoding = %q", m.Root.Encoding)
				}
			},
		},
		{
			name: "digest children default to message/rfc822",
			raw: crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: first

one
--d
Content-Type: text/plain

not a message
--d--
`),
			shape:  "multipart/digest[message/rfc822{text/plain},text/plain]",
			bodies: map[string]string{"1.1": "one", "2": "not a message"},
			check: func(t *testing.T, m *Message) {
				if p, _ := m.Find([]int{1}); p.Envelope.Subject != "first" {
					t.Errorf("digest message subject = %q", p.Envelope.Subject)
				}
			},
		},
		{
			name: "encoded message/rfc822 is reported as octet-stream",
			raw: crlf(`Content-Type: message/rfc822
Content-Transfer-Encoding: base64

U3ViamVjdDogaGkKCmJvZHkK
`),
			shape: "application/octet-stream",
		},
		{
			name: "top-level message/rfc822",
			raw: crlf(`Content-Type: message/rfc822

Subject: wrapped

inner body
`),
			shape:  "message/rfc822{text/plain}",
			bodies: map[string]string{"1": "Subject: wrapped\r\n\r\ninner body\r\n", "1.1": "inner body\r\n"},
		},
		{
			name: "boundary that prefixes another and transport padding",
			raw: crlf(`Content-Type: multipart/mixed; boundary=ab

--ab 	
Content-Type: multipart/mixed; boundary=abc

--abc

x
--abc--
--ab--  
`),
			shape:  "multipart/mixed[multipart/mixed[text/plain]]",
			bodies: map[string]string{"1.1": "x"},
		},
		{
			name: "inner multipart left open is closed by the outer delimiter",
			raw: crlf(`Content-Type: multipart/mixed; boundary=o

--o
Content-Type: multipart/alternative; boundary=i

--i

a
--o

b
--o--
`),
			shape:  "multipart/mixed[multipart/alternative[text/plain],text/plain]",
			bodies: map[string]string{"1.1": "a", "2": "b"},
		},
		{
			name: "invalid content type defaults to text/plain",
			raw: crlf(`Content-Type: garbage

x
`),
			shape: "text/plain",
			check: func(t *testing.T, m *Message) {
				if !reflect.DeepEqual(m.Root.Params, []Param{{"charset", "us-ascii"}}) {
					t.Errorf("params = %v", m.Root.Params)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.raw)
			if got := shape(&m.Root); got != tc.shape {
				t.Fatalf("shape\n got %s\nwant %s", got, tc.shape)
			}
			for sec, want := range tc.bodies {
				p, ok := m.Find(parseSection(t, sec))
				if want == "" && !ok && sec != "" {
					continue
				}
				if !ok {
					t.Errorf("section %q not found", sec)
					continue
				}
				if got := tc.raw[p.BodyStart:p.End]; got != want {
					t.Errorf("BODY[%s] = %q, want %q", sec, got, want)
				}
			}
			for sec, want := range tc.headers {
				p, ok := m.Find(parseSection(t, sec))
				if !ok {
					t.Errorf("section %q not found", sec)
					continue
				}
				if got := tc.raw[p.HeaderStart:p.BodyStart]; got != want {
					t.Errorf("BODY[%s.MIME] = %q, want %q", sec, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestFind(t *testing.T) {
	multi := mustParse(t, crlf(mixedMessage))
	single := mustParse(t, crlf(simpleMessage))
	cases := []struct {
		name    string
		m       *Message
		section string
		want    string // shape of the part found, "" for not found
	}{
		{"root", multi, "", shape(&multi.Root)},
		{"first child", multi, "1", "multipart/alternative[text/plain,text/html]"},
		{"grandchild", multi, "1.2", "text/html"},
		{"message part", multi, "3", "message/rfc822{multipart/mixed[text/plain,image/png]}"},
		{"inside message", multi, "3.2", "image/png"},
		{"past the end", multi, "4", ""},
		{"zero", multi, "0", ""},
		{"below a leaf", multi, "2.1", ""},
		{"single part 1", single, "1", "text/plain"},
		{"single part 2", single, "2", ""},
		{"single part 1.1", single, "1.1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.m.Find(parseSection(t, tc.section))
			got := ""
			if ok {
				got = shape(p)
			}
			if got != tc.want {
				t.Errorf("Find(%q) = %q, want %q", tc.section, got, tc.want)
			}
		})
	}
}

func TestWalkSections(t *testing.T) {
	m := mustParse(t, crlf(mixedMessage))
	var got []string
	m.Walk(func(sec []int, p *Part) bool {
		var s []string
		for _, n := range sec {
			s = append(s, string(rune('0'+n)))
		}
		got = append(got, strings.Join(s, ".")+"="+p.Type+"/"+p.Subtype)
		return true
	})
	want := []string{
		"1=multipart/alternative", "1.1=text/plain", "1.2=text/html",
		"2=application/pdf", "3=message/rfc822", "3.1=text/plain", "3.2=image/png",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk visited\n %v\nwant\n %v", got, want)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	m := mustParse(t, crlf(mixedMessage))
	good, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{mixedMessage, simpleMessage} {
		b, err := Marshal(mustParse(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `\u003c`) || !strings.Contains(string(b), "<") {
			t.Errorf("Marshal escapes HTML characters: %s", b)
		}
	}
	cases := []struct {
		name string
		data string
	}{
		{"not json", "{"},
		{"other version", strings.Replace(string(good), `"v":1`, `"v":99`, 1)},
		{"no version", `{"size":3,"root":{"type":"text","sub":"plain","end":3,"size":3}}`},
		{"offsets outside the message", `{"v":1,"size":3,"root":{"type":"text","sub":"plain","end":30,"size":30}}`},
		{"size mismatch", `{"v":1,"size":3,"root":{"type":"text","sub":"plain","end":3,"size":2}}`},
		{"child outside parent", `{"v":1,"size":10,"root":{"type":"multipart","sub":"mixed","bs":2,"end":10,"size":8,"parts":[{"type":"text","sub":"plain","hs":1,"bs":3,"end":4,"size":1}]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Unmarshal([]byte(tc.data)); err == nil {
				t.Errorf("Unmarshal accepted %s", tc.data)
			}
		})
	}
}
