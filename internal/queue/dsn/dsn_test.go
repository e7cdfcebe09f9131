package dsn

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestComposeParseRoundTrip(t *testing.T) {
	arrival := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	orig := []byte("From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: hello\r\n\r\nsecret body text\r\n")
	m := &Message{
		ReportingMTA: "mx.example.test",
		From:         "MAILER-DAEMON@mx.example.test",
		To:           "alice@example.test",
		ArrivalDate:  arrival,
		Recipients: []Recipient{
			{FinalRecipient: "bob@remote.test", Action: Failed, Status: "5.1.1", RemoteMTA: "mx.remote.test",
				DiagnosticCode: "550 5.1.1 no such user", LastAttemptDate: arrival.Add(time.Minute)},
			{FinalRecipient: "carol@remote.test", Action: Delayed, Status: "4.2.0", WillRetryUntil: arrival.Add(5 * 24 * time.Hour)},
			{FinalRecipient: "dan@remote.test", Action: Failed, Status: "bogus"},
		},
		OriginalHeader: orig,
	}
	raw, err := m.Compose()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("secret body text")) {
		t.Error("the report carries the original body")
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the report")
	}
	rep, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	if rep.ReportingMTA != "mx.example.test" || rep.ArrivalDate == "" || rep.To != "<alice@example.test>" {
		t.Errorf("per-message fields: %+v", rep)
	}
	want := []ParsedRecipient{
		{"bob@remote.test", Failed, "5.1.1", "mx.remote.test", "550 5.1.1 no such user", ""},
		{"carol@remote.test", Delayed, "4.2.0", "", "", ""},
		{"dan@remote.test", Failed, "5.0.0", "", "", ""},
	}
	if len(rep.Recipients) != len(want) {
		t.Fatalf("recipients: %+v", rep.Recipients)
	}
	for i, w := range want {
		if rep.Recipients[i] != w {
			t.Errorf("recipient %d: got %+v, want %+v", i, rep.Recipients[i], w)
		}
	}
	if !strings.Contains(string(rep.OriginalHeader), "Subject: hello") || strings.Contains(string(rep.OriginalHeader), "secret") {
		t.Errorf("original header: %q", rep.OriginalHeader)
	}
	if !strings.Contains(rep.HumanText, "<bob@remote.test>") || !strings.Contains(rep.HumanText, "550 5.1.1 no such user") {
		t.Errorf("human text: %q", rep.HumanText)
	}
	if rep.Subject != "Undelivered Mail Returned to Sender" {
		t.Errorf("subject %q", rep.Subject)
	}
	if !bytes.Contains(raw, []byte("\r\nAuto-Submitted: auto-replied\r\n")) {
		t.Error("no Auto-Submitted header")
	}
}

// A remote reply with line breaks must not add fields or parts.
func TestComposeInjection(t *testing.T) {
	m := &Message{
		ReportingMTA: "mx.example.test",
		From:         "MAILER-DAEMON@mx.example.test",
		To:           "alice@example.test\r\nBcc: victim@example.test",
		Recipients: []Recipient{{FinalRecipient: "bob@remote.test", Action: Failed, Status: "5.0.0",
			DiagnosticCode: "550 bad\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; evil@x.test"}},
		OriginalHeader: []byte("Subject: x\r\n"),
	}
	raw, err := m.Compose()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("\r\nBcc:")) {
		t.Error("header injected through To")
	}
	rep, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].Action != Failed || !strings.Contains(rep.Recipients[0].DiagnosticCode, "Action: delivered") {
		t.Errorf("recipients after injection attempt: %+v", rep.Recipients)
	}
}

func TestComposeErrorsAndLimits(t *testing.T) {
	if _, err := (&Message{ReportingMTA: "h", From: "f@h", To: "t@h"}).Compose(); err == nil {
		t.Error("no recipients: no error")
	}
	if _, err := (&Message{Recipients: []Recipient{{FinalRecipient: "a@b", Action: Failed}}}).Compose(); err == nil {
		t.Error("missing From/To: no error")
	}
	big := bytes.Repeat([]byte("X-Filler: "+strings.Repeat("a", 70)+"\r\n"), 2000)
	m := &Message{ReportingMTA: "h.test", From: "f@h.test", To: "t@h.test", OriginalHeader: big,
		Recipients: []Recipient{{FinalRecipient: "a@b.test", Action: Failed, Status: "5.0.0", DiagnosticCode: strings.Repeat("é", 2000)}}}
	raw, err := m.Compose()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.OriginalHeader) > MaxHeaderBytes || !bytes.HasSuffix(rep.OriginalHeader, []byte("\r\n")) {
		t.Errorf("original header %d bytes", len(rep.OriginalHeader))
	}
	if d := rep.Recipients[0].DiagnosticCode; len(d) > maxFieldLen || !strings.HasSuffix(d, "é") {
		t.Errorf("diagnostic not cut at a rune boundary: %d bytes", len(d))
	}
}

func TestValidStatus(t *testing.T) {
	for s, want := range map[string]bool{"5.1.1": true, "4.4.7": true, "2.0.0": true, "5.1.10": true,
		"3.0.0": false, "5.1": false, "5.a.1": false, "5.1.1000": false, "": false, "5..1": false} {
		if ValidStatus(s) != want {
			t.Errorf("ValidStatus(%q) = %v", s, !want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"not report":   "Content-Type: text/plain\r\n\r\nhi\r\n",
		"other report": "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
		"no status":    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
		"bad group":    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; h\r\n\r\nAction: failed\r\n--b--\r\n",
	} {
		if _, err := Parse(strings.NewReader(raw)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// Status carries the class the action implies (RFC 3464 section 2.3.4):
// a "delayed" group is transient 4.x.x and a "failed" one permanent
// 5.x.x, whatever status was recorded.
func TestStatusClassFollowsAction(t *testing.T) {
	cases := []struct {
		action Action
		status string
		want   string
	}{
		{Delayed, "4.4.1", "4.4.1"},
		{Delayed, "5.1.1", "4.0.0"},
		{Delayed, "", "4.0.0"},
		{Failed, "5.7.1", "5.7.1"},
		{Failed, "4.7.1", "5.0.0"},
		{Delivered, "5.0.0", "2.0.0"},
	}
	for _, tc := range cases {
		if got := statusOrDefault(Recipient{Action: tc.action, Status: tc.status}); got != tc.want {
			t.Errorf("%s with %q: %s, want %s", tc.action, tc.status, got, tc.want)
		}
	}
}

// The RFC 3461 parameters come back: ENVID as Original-Envelope-Id,
// ORCPT as Original-Recipient (with its type), and for RET=FULL the
// whole message as message/rfc822 (8bit when it is not 7-bit).
func TestComposeEnvelopeIDOriginalRecipientAndFullMessage(t *testing.T) {
	original := []byte("Subject: hello\r\nFrom: a@h.test\r\n\r\nbody line caf\xc3\xa9\r\n")
	m := &Message{ReportingMTA: "h.test", From: "MAILER-DAEMON@h.test", To: "a@h.test", OriginalEnvelopeID: "QQ314159",
		Recipients: []Recipient{
			{OriginalRecipientType: "RFC822", OriginalRecipient: "list@h.test", FinalRecipient: "b@remote.test", Action: Failed, Status: "5.1.1"},
			{FinalRecipient: "c@remote.test", Action: Relayed, Status: "2.0.0"},
		},
		OriginalHeader: []byte("Subject: hello\r\n"), OriginalMessage: original}
	raw, err := m.Compose()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OriginalEnvelopeID != "QQ314159" {
		t.Errorf("Original-Envelope-Id %q", rep.OriginalEnvelopeID)
	}
	if got := rep.Recipients[0].OriginalRecipient; got != "rfc822; list@h.test" {
		t.Errorf("Original-Recipient %q", got)
	}
	if rep.Recipients[1].OriginalRecipient != "" || rep.Recipients[1].Action != Relayed {
		t.Errorf("second recipient %+v", rep.Recipients[1])
	}
	if !bytes.Equal(rep.OriginalMessage, original) || rep.OriginalHeader != nil {
		t.Errorf("returned message %q, header part %q", rep.OriginalMessage, rep.OriginalHeader)
	}
	if !bytes.Contains(raw, []byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n")) {
		t.Error("the 8-bit message part is not declared 8bit")
	}
	if !strings.Contains(rep.HumanText, "c@remote.test") || !strings.Contains(rep.HumanText, "passed on") {
		t.Errorf("human text does not tell of the relayed recipient: %q", rep.HumanText)
	}
}
