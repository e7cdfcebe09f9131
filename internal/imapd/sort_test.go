package imapd

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/imapd/wire"
)

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in    string
		want  string
		refwd bool
	}{
		{"", "", false},
		{"Re: apple", "APPLE", true},
		{"[list] Banana (fwd)", "BANANA", true},
		{"Fwd: Re: [x] apple", "APPLE", true},
		{"RE:   re: FW: Hello", "HELLO", true},
		{"[PATCH] fix it", "FIX IT", false},
		{"[only]", "[ONLY]", false},
		{"[fwd: Re: test]", "TEST", true},
		{"[Fwd: plain]", "PLAIN", false},
		{"Re: [list] Re: x", "X", true},
		{"  spaced   out\tsubject  ", "SPACED OUT SUBJECT", false},
		{"=?UTF-8?Q?Re=3A_caf=C3=A9?=", "CAFé", true},
		{"re [tag]: foo", "FOO", true},
		{"Rex: no", "REX: NO", false},
		{"Re: Re: (fwd) (fwd)", "", true},
		{"subject (FWD)  (fwd)", "SUBJECT", true},
	}
	for _, tc := range tests {
		got, refwd := baseSubject(tc.in)
		if got != tc.want || refwd != tc.refwd {
			t.Errorf("baseSubject(%q) = %q, %v; want %q, %v", tc.in, got, refwd, tc.want, tc.refwd)
		}
	}
}

func sortFixture(t *testing.T) *fixtureBox {
	b := newFixtureBox(t)
	day := func(d int) fixtureOpt { return withDate(time.Date(2024, 3, d, 9, 0, 0, 0, time.UTC)) }
	b.add("From: Zed <z@example.org>\nTo: amy@example.org\nSubject: Re: apple\nDate: Tue, 5 Mar 2024 10:00:00 +0000\n\n"+strings.Repeat("x", 1000)+"\n", day(3))
	b.add("From: \"Bob\" <bob@example.org>\nTo: zoe@example.org\nCc: carl@example.org\nSubject: [list] Banana (fwd)\nDate: Fri, 1 Mar 2024 10:00:00 +0000\n\n"+strings.Repeat("x", 100)+"\n", day(1))
	b.add("From: alice@example.org\nTo: Mike <mike@example.org>\nSubject: Fwd: Re: [x] apple\n\n"+strings.Repeat("x", 3000)+"\n", day(2))
	b.add("From: =?UTF-8?Q?=C3=81rp=C3=A1d?= <arpad@example.org>\nSubject: cherry\nDate: not a date\n\n"+strings.Repeat("x", 500)+"\n", day(4))
	return b
}

func TestSortMessages(t *testing.T) {
	b := sortFixture(t)
	msgs := b.messages()
	tests := []struct {
		criteria string
		want     []uint32
	}{
		{"SUBJECT", []uint32{1, 3, 2, 4}},
		{"REVERSE SUBJECT", []uint32{4, 2, 1, 3}},
		{"DATE", []uint32{2, 3, 4, 1}},
		{"REVERSE DATE", []uint32{1, 4, 3, 2}},
		{"ARRIVAL", []uint32{2, 3, 1, 4}},
		{"FROM", []uint32{3, 4, 2, 1}},
		{"TO", []uint32{4, 1, 3, 2}},
		{"CC", []uint32{1, 3, 4, 2}},
		{"REVERSE CC", []uint32{2, 1, 3, 4}},
		{"SIZE", []uint32{2, 4, 1, 3}},
		{"DISPLAYFROM", []uint32{3, 2, 1, 4}},
		{"DISPLAYTO", []uint32{4, 1, 3, 2}},
		{"SUBJECT DATE", []uint32{3, 1, 2, 4}},
		{"SUBJECT REVERSE DATE", []uint32{1, 3, 2, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.criteria, func(t *testing.T) {
			args := parseCommand(t, "a SORT ("+tc.criteria+") UTF-8 ALL").Args.(*wire.SortArgs)
			got, err := sortMessages(b.loader(), msgs, args.Criteria)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(got), tc.want) {
				t.Errorf("got %v, want %v", seqsOf(got), tc.want)
			}
		})
	}
	if _, err := sortMessages(b.loader(), msgs, []wire.SortCriterion{{Key: "COLOR"}}); err == nil {
		t.Error("unknown criterion: no error")
	}
}

// TestSortE2E drives SORT through a real session.
func TestSortE2E(t *testing.T) {
	ts := newTestServer(t)
	ts.deliver("INBOX", "From: zed@example.org\nSubject: Re: apple\nDate: Tue, 5 Mar 2024 10:00:00 +0000\n\nx\n")
	ts.deliver("INBOX", "From: bob@example.org\nSubject: banana\nDate: Fri, 1 Mar 2024 10:00:00 +0000\n\nx\n", `\Seen`)
	ts.deliver("INBOX", "From: alice@example.org\nSubject: [list] Apple\nDate: Sat, 2 Mar 2024 10:00:00 +0000\n\nx\n")
	c := ts.conn().login()
	c.selectInbox()
	c.cmd("a1 SORT (SUBJECT) UTF-8 ALL").ok().xuntagged("* SORT 1 3 2")
	c.cmd("a2 SORT (REVERSE DATE) UTF-8 ALL").ok().xuntagged("* SORT 1 3 2")
	c.cmd("a3 UID SORT (FROM) UTF-8 UNSEEN").ok().xuntagged("* SORT 3 1")
	c.cmd("a4 SORT (DISPLAYFROM) UTF-8 ALL").ok().xuntagged("* SORT 3 2 1")
}
