package dsn

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, whatever a remote server sends back.
func FuzzParse(f *testing.F) {
	m := &Message{ReportingMTA: "h.test", From: "f@h.test", To: "t@h.test", OriginalHeader: []byte("Subject: x\r\n"),
		Recipients: []Recipient{{FinalRecipient: "a@b.test", Action: Failed, Status: "5.1.1", DiagnosticCode: "550 no"}}}
	raw, err := m.Compose()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: x\r\n\r\n\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(bytes.NewReader(data))
		if err == nil && rep.ReportingMTA == "" {
			t.Error("parsed a report without Reporting-MTA")
		}
	})
}
