package imapd

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"mailport/internal/imapd/wire"
)

// threadFixture holds reply chains, a missing parent with one and with
// two replies, a subject-only reply, messages without and with a
// duplicate Message-ID, and two unrelated messages with one subject.
func threadFixture(t *testing.T) *fixtureBox {
	b := newFixtureBox(t)
	msgs := []struct{ id, refs, subject, date string }{
		{"Message-ID: <a@x>", "", "topic", "1 Mar 2024 10:00"},
		{"Message-ID: <b@x>", "References: <a@x>", "Re: topic", "2 Mar 2024 10:00"},
		{"Message-ID: <c@x>", "References: <a@x>\n <b@x>", "Re: topic", "3 Mar 2024 10:00"},
		{"Message-ID: <d@x>", "In-Reply-To: <a@x> (Anna's message)", "Re: topic", "2 Mar 2024 12:00"},
		{"Message-ID: <e@x>", "References: <missing@x>", "other", "5 Mar 2024 10:00"},
		{"Message-ID: <f@x>", "References: <gone@x>", "orphan thread", "6 Mar 2024 10:00"},
		{"Message-ID: <g@x>", "References: <gone@x>", "Re: orphan thread", "7 Mar 2024 10:00"},
		{"Message-ID: <h@x>", "", "Re: other", "8 Mar 2024 10:00"},
		{"", "", "solo", "4 Mar 2024 10:00"},
		{"Message-ID: <a@x>", "", "dup", "9 Mar 2024 10:00"},
		{"Message-ID: <k@x>", "", "solo", "10 Mar 2024 10:00"},
	}
	for _, m := range msgs {
		var raw strings.Builder
		for _, h := range []string{m.id, m.refs, "Subject: " + m.subject, "Date: " + m.date + " +0000"} {
			if h != "" {
				raw.WriteString(h + "\n")
			}
		}
		raw.WriteString("\nbody\n")
		b.add(raw.String())
	}
	return b
}

func threadString(t *testing.T, b *fixtureBox, msgs []message, algorithm string, useUID bool) string {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := wire.NewWriter(bw)
	if err := writeThread(w, b.loader(), msgs, algorithm, useUID); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestThread(t *testing.T) {
	b := threadFixture(t)
	msgs := b.messages()
	tests := []struct {
		algorithm string
		want      string
	}{
		// RFC 5256 section 3: 2 and 4 answer 1, 3 answers 2; 5 lost its
		// parent (a dummy with one child, promoted); 6 and 7 share a
		// missing parent (a dummy kept at the root); 8 joins 5 by
		// subject; 9 and 11 share a subject, neither a reply, so a dummy
		// holds both; 10's duplicate Message-ID is replaced.
		{"REFERENCES", "* THREAD (1 (2 3)(4))((9)(11))(5 8)((6)(7))(10)\r\n"},
		{"references", "* THREAD (1 (2 3)(4))((9)(11))(5 8)((6)(7))(10)\r\n"},
		// Runs of one base subject, ordered by sent date; threads by the
		// date of their first message.
		{"ORDEREDSUBJECT", "* THREAD (1 (2)(4)(3))(9 11)(5 8)(6 7)(10)\r\n"},
	}
	for _, tc := range tests {
		if got := threadString(t, b, msgs, tc.algorithm, false); got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.algorithm, got, tc.want)
		}
	}

	// UID THREAD numbers by UID; a subset (the search result) threads
	// on its own.
	sub := []message{msgs[0], msgs[2], msgs[9]}
	for i := range sub {
		sub[i].Seq = uint32(i + 1)
	}
	if got, want := threadString(t, b, sub, "REFERENCES", true), "* THREAD (1 3)(10)\r\n"; got != want {
		t.Errorf("UID subset: got %q, want %q", got, want)
	}
	if got, want := threadString(t, b, sub, "REFERENCES", false), "* THREAD (1 2)(3)\r\n"; got != want {
		t.Errorf("seq subset: got %q, want %q", got, want)
	}
	if got, want := threadString(t, b, nil, "ORDEREDSUBJECT", false), "* THREAD\r\n"; got != want {
		t.Errorf("empty: got %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := writeThread(wire.NewWriter(bufio.NewWriter(&buf)), b.loader(), msgs, "JWZ", false); err == nil {
		t.Error("unknown algorithm: no error")
	}
}

// TestThreadLoops: References that contradict each other never create a
// loop, and a long reply chain is written inline.
func TestThreadLoops(t *testing.T) {
	b := newFixtureBox(t)
	b.add("Message-ID: <1@x>\nReferences: <2@x>\nSubject: a\n\nx\n")
	b.add("Message-ID: <2@x>\nReferences: <1@x>\nSubject: a\n\nx\n")
	b.add("Message-ID: <3@x>\nReferences: <3@x>\nSubject: b\n\nx\n")
	const chain = 300
	for i := range chain {
		b.add(fmt.Sprintf("Message-ID: <c%d@x>\nReferences: <c%d@x>\nSubject: chain\nDate: 1 Apr 2024 10:%02d:%02d +0000\n\nx\n", i, i-1, i/60, i%60))
	}
	msgs := b.messages()
	got := threadString(t, b, msgs, "REFERENCES", false)
	var want strings.Builder
	want.WriteString("* THREAD (")
	for i := range chain {
		if i > 0 {
			want.WriteByte(' ')
		}
		fmt.Fprint(&want, i+4)
	}
	want.WriteString(")")
	// Messages 1 and 2 end up in one thread (which one is the parent
	// depends on the order of linking), 3 alone.
	if !strings.Contains(got, "(1 2)") && !strings.Contains(got, "(2 1)") {
		t.Errorf("1 and 2 not threaded together: %q", got)
	}
	if !strings.Contains(got, "(3)") || !strings.Contains(got, want.String()[len("* THREAD "):]) {
		t.Errorf("got %q", got)
	}
}

// TestThreadE2E drives THREAD through a real session.
func TestThreadE2E(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", "Message-ID: <1@x>\nSubject: hello\nDate: Fri, 1 Mar 2024 10:00:00 +0000\n\nx\n")
	ts.deliver("INBOX", "Message-ID: <2@x>\nIn-Reply-To: <1@x>\nSubject: Re: hello\nDate: Fri, 1 Mar 2024 11:00:00 +0000\n\nx\n")
	ts.deliver("INBOX", "Message-ID: <3@x>\nSubject: other\nDate: Fri, 1 Mar 2024 09:00:00 +0000\n\nx\n")
	ts.deliver("INBOX", "Message-ID: <4@x>\nReferences: <1@x>\nSubject: Re: hello\nDate: Fri, 1 Mar 2024 12:00:00 +0000\n\nx\n")
	c := ts.conn().login()
	c.selectInbox()
	c.cmd("a1 THREAD REFERENCES UTF-8 ALL").ok().xuntagged("* THREAD (3)(1 (2)(4))")
	c.cmd("a2 THREAD ORDEREDSUBJECT UTF-8 ALL").ok().xuntagged("* THREAD (3)(1 (2)(4))")
	c.cmd("a3 UID THREAD REFERENCES UTF-8 NOT UID 2").ok().xuntagged("* THREAD (3)(1 4)")
}
