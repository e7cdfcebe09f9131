package mime

import (
	"reflect"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	type A = Address
	cases := []struct {
		name string
		in   string
		want []Address
	}{
		{"empty", "  ", nil},
		{"bare addr-spec", "user@example.com", []A{{Mailbox: "user", Host: "example.com"}}},
		{"name-addr", `John Doe <john@example.com>`, []A{{Name: "John Doe", Mailbox: "john", Host: "example.com"}}},
		{"quoted name with comma", `"Doe, John" <john@example.com>, jane@example.org`,
			[]A{{Name: "Doe, John", Mailbox: "john", Host: "example.com"}, {Mailbox: "jane", Host: "example.org"}}},
		{"encoded word kept raw", `=?utf-8?q?J=C3=B6rg?= <j@example.com>`,
			[]A{{Name: "=?utf-8?q?J=C3=B6rg?=", Mailbox: "j", Host: "example.com"}}},
		{"comment as name", `john@example.com (John Doe)`, []A{{Name: "John Doe", Mailbox: "john", Host: "example.com"}}},
		{"source route", `<@relay1.example,@relay2.example:user@example.com>`,
			[]A{{Adl: "@relay1.example,@relay2.example", Mailbox: "user", Host: "example.com"}}},
		{"group", `Team: a@example.com, "B" <b@example.com>; c@example.com`,
			[]A{{Mailbox: "Team"}, {Mailbox: "a", Host: "example.com"}, {Name: "B", Mailbox: "b", Host: "example.com"}, {}, {Mailbox: "c", Host: "example.com"}}},
		{"empty group", `undisclosed-recipients:;`, []A{{Mailbox: "undisclosed-recipients"}, {}}},
		{"unterminated group", `list: a@b`, []A{{Mailbox: "list"}, {Mailbox: "a", Host: "b"}, {}}},
		{"no domain", `postmaster`, []A{{Mailbox: "postmaster", Host: MissingDomain}}},
		{"words only", `Undisclosed recipients`, []A{{Name: "Undisclosed recipients", Mailbox: MissingMailbox, Host: MissingDomain}}},
		{"null address dropped", `<>`, nil},
		{"unclosed angle", `Bob <bob@example.com`, []A{{Name: "Bob", Mailbox: "bob", Host: "example.com"}}},
		{"junk after angle", `Bob <bob@example.com> junk, x@y`, []A{{Name: "Bob", Mailbox: "bob", Host: "example.com"}, {Mailbox: "x", Host: "y"}}},
		{"quoted local part", `"john doe"@example.com`, []A{{Mailbox: "john doe", Host: "example.com"}}},
		{"domain literal", `user@[192.0.2.1]`, []A{{Mailbox: "user", Host: "[192.0.2.1]"}}},
		{"unclosed quote", `"Bob <bob@example.com>`, []A{{Mailbox: "Bob <bob@example.com>", Host: MissingDomain}}},
		{"double commas", `a@b,, ,c@d`, []A{{Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}}},
		{"dotted name", `John Q. Public <jqp@example.com>`, []A{{Name: "John Q. Public", Mailbox: "jqp", Host: "example.com"}}},
		{"unicode name (RFC 6532)", `Jörg <j@exämple.de>`, []A{{Name: "Jörg", Mailbox: "j", Host: "exämple.de"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseAddressList(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseAddressList(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
			for i, a := range got {
				// Only real group markers may look like them.
				if a.Host == "" && !(i < len(tc.want) && tc.want[i].Host == "") {
					t.Errorf("address %d looks like a group marker: %+v", i, a)
				}
			}
		})
	}
}

func TestEnvelopeDefaults(t *testing.T) {
	cases := []struct {
		name               string
		header             string
		wantSender, wantRT string // mailbox of the first address
	}{
		{"absent", "From: f@x\r\n", "f", "f"},
		{"empty", "From: f@x\r\nSender:\r\nReply-To:  \r\n", "f", "f"},
		{"present", "From: f@x\r\nSender: s@x\r\nReply-To: r@x\r\n", "s", "r"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.header+"\r\nbody\r\n")
			e := m.Envelope
			if len(e.Sender) != 1 || e.Sender[0].Mailbox != tc.wantSender || len(e.ReplyTo) != 1 || e.ReplyTo[0].Mailbox != tc.wantRT {
				t.Errorf("sender %+v reply-to %+v", e.Sender, e.ReplyTo)
			}
		})
	}
}

func TestEnvelopeFirstFieldWins(t *testing.T) {
	m := mustParse(t, "Subject: first\r\nSubject: second\r\nIn-Reply-To: <a@b>\r\nMessage-ID:\r\n <id@host>\r\n\r\n")
	e := m.Envelope
	if e.Subject != "first" || e.InReplyTo != "<a@b>" || e.MessageID != "<id@host>" {
		t.Errorf("envelope = %+v", e)
	}
}
