// Package dsn composes and parses delivery status notifications: the
// multipart/report messages of RFC 3464 (with RFC 6522 for the report
// container) that tell a sender what became of a message.
//
// Everything that goes into a notification may come from a remote server
// (the diagnostic text) or from the original message (its header), so every
// field is cleaned of line breaks before it is written: a hostile reply must
// not be able to add header fields or MIME parts to the report.
package dsn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"
)

// Action is the Action field of a per-recipient group (RFC 3464 section
// 2.3.3).
type Action string

// The actions of RFC 3464 section 2.3.3.
const (
	Failed    Action = "failed"
	Delayed   Action = "delayed"
	Delivered Action = "delivered"
	Relayed   Action = "relayed"
	Expanded  Action = "expanded"
)

// Limits on what a notification carries.
const (
	// MaxHeaderBytes bounds the original header section included as
	// text/rfc822-headers; longer headers are cut at a line boundary.
	MaxHeaderBytes = 64 << 10
	// maxFieldLen bounds one field value (a remote reply can be long).
	maxFieldLen = 900
)

// Recipient is the per-recipient part of a report (RFC 3464 section 2.3).
type Recipient struct {
	// OriginalRecipient and its type ("rfc822", "utf-8") are the ORCPT
	// parameter the sender gave with RCPT (RFC 3461 section 4.2), ""
	// when none was given; written as Original-Recipient (RFC 3464
	// section 2.3.1).
	OriginalRecipientType string
	OriginalRecipient     string
	// FinalRecipient is the address the delivery was attempted to.
	FinalRecipient string
	Action         Action
	// Status is the RFC 3463 enhanced code, e.g. "5.1.1".
	Status string
	// RemoteMTA is the host that gave the answer, if any.
	RemoteMTA string
	// DiagnosticCode is the SMTP reply from the remote MTA, e.g.
	// "550 5.1.1 no such user"; written with diagnostic type "smtp".
	DiagnosticCode  string
	LastAttemptDate time.Time
	// WillRetryUntil is for Action Delayed (RFC 3464 section 2.3.9).
	WillRetryUntil time.Time
}

// Message is a notification to compose.
type Message struct {
	// ReportingMTA is the host name of the MTA writing the report.
	ReportingMTA string
	// From is the address the notification comes from, e.g.
	// "MAILER-DAEMON@mx.example.test"; To is the original envelope sender.
	From string
	To   string
	// Date of the report; MessageID is generated when empty.
	Date      time.Time
	MessageID string
	// ArrivalDate is when the original message was accepted.
	ArrivalDate time.Time
	// OriginalEnvelopeID is the ENVID of RFC 3461, when known.
	OriginalEnvelopeID string
	Recipients         []Recipient
	// OriginalHeader is the header section of the original message; it
	// is returned as text/rfc822-headers (RFC 6522 section 3).
	OriginalHeader []byte
	// OriginalMessage, when set, is the whole original message (RET=FULL,
	// RFC 3461 section 4.3), returned as message/rfc822 instead of
	// OriginalHeader.
	OriginalMessage []byte
}

// Compose returns the notification as a message with CRLF line ends.
func (m *Message) Compose() ([]byte, error) {
	if len(m.Recipients) == 0 {
		return nil, errors.New("dsn: no recipients to report")
	}
	if m.ReportingMTA == "" || m.From == "" || m.To == "" {
		return nil, errors.New("dsn: reporting MTA, From and To are required")
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msgID := m.MessageID
	if msgID == "" {
		msgID = "<" + randomToken() + "@" + clean(m.ReportingMTA) + ">"
	}
	boundary := "dsn-" + randomToken()

	subject := "Delivery Status Notification (Success)"
	switch {
	case m.has(Failed):
		subject = "Undelivered Mail Returned to Sender"
	case m.has(Delayed):
		subject = "Delayed Mail (still being retried)"
	}

	var b bytes.Buffer
	hdr := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	hdr("From", "Mail Delivery System <"+clean(m.From)+">")
	hdr("To", "<"+clean(m.To)+">")
	hdr("Subject", subject)
	hdr("Date", date.Format(time.RFC1123Z))
	hdr("Message-ID", clean(msgID))
	// RFC 3834 section 5: automatic responses say so, so that no
	// auto-responder answers a bounce.
	hdr("Auto-Submitted", "auto-replied")
	hdr("MIME-Version", "1.0")
	// RFC 6522 section 3 / RFC 3464 section 2: the report container.
	hdr("Content-Type", `multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	b.WriteString("\r\nThis is a MIME-encapsulated delivery status notification.\r\n")

	// Part 1: the human-readable explanation.
	fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.humanText()))
	qp.Close()
	b.WriteString("\r\n")

	// Part 2: the machine-readable status (RFC 3464 section 2.1). An
	// address that is not ASCII needs the utf-8 address type and the
	// message/global-delivery-status type of RFC 6533 section 6.
	global := false
	for _, r := range m.Recipients {
		if !isASCII(r.FinalRecipient) || !isASCII(r.OriginalRecipient) {
			global = true
		}
	}
	ct := "message/delivery-status"
	if global {
		ct = "message/global-delivery-status"
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary, ct)
	b.Write(m.statusFields())

	// Part 3: the original header (RFC 6522 section 3), or the whole
	// message when the sender asked for it with RET=FULL.
	switch {
	case len(m.OriginalMessage) > 0:
		b.Write(messagePart(boundary, m.OriginalMessage))
	case len(m.OriginalHeader) > 0:
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
		b.Write(headerSection(m.OriginalHeader))
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// has reports whether some recipient is reported with action a.
func (m *Message) has(a Action) bool {
	for _, r := range m.Recipients {
		if r.Action == a {
			return true
		}
	}
	return false
}

// messagePart is the report's third part holding the whole original
// message: message/rfc822, or message/global (RFC 6532 section 3.7) when
// its header is not ASCII; 8bit when its content is not 7-bit (RFC 2046
// section 5.2.1 allows no other encoding for a message part).
func messagePart(boundary string, msg []byte) []byte {
	var b bytes.Buffer
	ct := "message/rfc822"
	if !isASCII(string(headerSection(msg))) {
		ct = "message/global"
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s\r\n", boundary, ct)
	if !isASCII(string(msg)) {
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n")
	b.Write(msg)
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		// The boundary must start a line of its own (RFC 2046
		// section 5.1.1).
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// actionIntro is what the human-readable part says in front of the
// recipients of each action, in the order the part lists them.
var actionIntro = []struct {
	action Action
	intro  string
}{
	{Failed, "Your message could not be delivered to one or more recipients.\r\nIt has not been delivered to:"},
	{Delayed, "Your message has not been delivered yet to the recipients below.\r\nThe mail system will keep trying; you do not need to send it again."},
	{Delivered, "Your message was delivered to the mailboxes of the recipients below."},
	{Relayed, "Your message was passed on to the recipients below by a mail system that\r\nsends no delivery notifications, so you may not hear of it again."},
	// RFC 3464 section 2.3.3: the address was an alias or list that
	// forwards to several recipients, each of which reports no further.
	{Expanded, "Your message reached the addresses below, each of which passes it on to\r\nseveral recipients; you will not hear of its delivery to each of them."},
}

func (m *Message) humanText() string {
	var t strings.Builder
	fmt.Fprintf(&t, "This is the mail system at host %s.\r\n\r\n", clean(m.ReportingMTA))
	byAction := map[Action][]Recipient{}
	for _, r := range m.Recipients {
		byAction[r.Action] = append(byAction[r.Action], r)
	}
	for _, a := range actionIntro {
		rs := byAction[a.action]
		if len(rs) == 0 {
			continue
		}
		t.WriteString(a.intro + "\r\n\r\n")
		for _, r := range rs {
			fmt.Fprintf(&t, "<%s>: %s\r\n", clean(r.FinalRecipient), describe(r))
			if r.Action == Delayed && !r.WillRetryUntil.IsZero() {
				fmt.Fprintf(&t, "    The server keeps trying until %s.\r\n", r.WillRetryUntil.UTC().Format(time.RFC1123Z))
			}
		}
		t.WriteString("\r\n")
	}
	if len(m.OriginalMessage) > 0 {
		t.WriteString("The technical report and your message are attached.\r\n")
	} else {
		t.WriteString("The technical report and the header of your message are attached.\r\n")
	}
	return t.String()
}

func describe(r Recipient) string {
	s := "status " + clean(r.Status)
	if r.RemoteMTA != "" {
		s += " from " + clean(r.RemoteMTA)
	}
	if r.DiagnosticCode != "" {
		s += ": " + clean(r.DiagnosticCode)
	}
	return s
}

// statusFields writes the per-message group and one group per recipient,
// separated by blank lines (RFC 3464 section 2.1).
func (m *Message) statusFields() []byte {
	var b bytes.Buffer
	f := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	// RFC 3464 section 2.2: per-message fields.
	f("Reporting-MTA", "dns; "+clean(m.ReportingMTA))
	if m.OriginalEnvelopeID != "" {
		f("Original-Envelope-Id", clean(m.OriginalEnvelopeID))
	}
	if !m.ArrivalDate.IsZero() {
		f("Arrival-Date", m.ArrivalDate.Format(time.RFC1123Z))
	}
	for _, r := range m.Recipients {
		b.WriteString("\r\n")
		// RFC 3464 section 2.3.2: address type "rfc822", or "utf-8"
		// for internationalized addresses (RFC 6533 section 3).
		if r.OriginalRecipient != "" {
			// RFC 3464 section 2.3.1: the ORCPT as the sender gave
			// it, with its address type.
			f("Original-Recipient", strings.ToLower(clean(r.OriginalRecipientType))+"; "+clean(r.OriginalRecipient))
		}
		typ := "rfc822"
		if !isASCII(r.FinalRecipient) {
			typ = "utf-8"
		}
		f("Final-Recipient", typ+"; "+clean(r.FinalRecipient))
		f("Action", string(r.Action))
		f("Status", statusOrDefault(r))
		if r.RemoteMTA != "" {
			f("Remote-MTA", "dns; "+clean(r.RemoteMTA))
		}
		if r.DiagnosticCode != "" {
			f("Diagnostic-Code", "smtp; "+clean(r.DiagnosticCode))
		}
		if !r.LastAttemptDate.IsZero() {
			f("Last-Attempt-Date", r.LastAttemptDate.Format(time.RFC1123Z))
		}
		if r.Action == Delayed && !r.WillRetryUntil.IsZero() {
			f("Will-Retry-Until", r.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
	return b.Bytes()
}

// statusOrDefault returns the recipient's status when it is a valid RFC
// 3463 code of the class its action implies, else the generic code for
// the action (RFC 3464 section 2.3.4 makes Status mandatory, and a
// "delayed" report carries a transient 4.x.x, a "failed" one a permanent
// 5.x.x).
func statusOrDefault(r Recipient) string {
	class := "2"
	switch r.Action {
	case Failed:
		class = "5"
	case Delayed:
		class = "4"
	}
	if ValidStatus(r.Status) && r.Status[:1] == class {
		return r.Status
	}
	return class + ".0.0"
}

// ValidStatus reports whether s is an RFC 3463 status code: class 2, 4
// or 5, subject 0-999, detail 0-999.
func ValidStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// headerSection returns the header of msg up to its blank line, at most
// MaxHeaderBytes, cut at a line end, with CRLF line ends.
func headerSection(msg []byte) []byte {
	end := len(msg)
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		end = i + 2
	} else if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		end = i + 1
	}
	h := msg[:end]
	if len(h) > MaxHeaderBytes {
		h = h[:MaxHeaderBytes]
		if i := bytes.LastIndexByte(h, '\n'); i >= 0 {
			h = h[:i+1]
		}
	}
	// Normalise line ends so a bare LF in a stored header cannot end up
	// as a lone LF in the report.
	lines := bytes.Split(bytes.TrimRight(h, "\r\n"), []byte("\n"))
	var out bytes.Buffer
	for _, l := range lines {
		out.Write(bytes.TrimRight(l, "\r"))
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// clean makes s safe as one header field value: line breaks and other
// control characters become spaces and the length is bounded.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxFieldLen {
		s = s[:maxFieldLen]
		// Do not leave half a UTF-8 sequence at the end.
		for len(s) > 0 && s[len(s)-1]&0xc0 == 0x80 {
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0xc0 {
			s = s[:len(s)-1]
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func randomToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
