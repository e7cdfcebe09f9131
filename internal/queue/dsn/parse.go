package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"

	"github.com/emersion/go-message"
)

// Limits for Parse: a report is small; anything bigger is not one of ours.
const (
	maxParseBytes  = 1 << 20
	maxRecipGroups = 1000
)

// Report is a parsed notification: what a receiver of a DSN (or a test)
// needs from it.
type Report struct {
	// Subject and To are the header fields of the report message.
	Subject string
	To      string
	// ReportingMTA and ArrivalDate are per-message fields, with their
	// type prefix ("dns; ") removed from ReportingMTA.
	ReportingMTA string
	ArrivalDate  string
	// OriginalEnvelopeID is the ENVID the report carries back (RFC 3464
	// section 2.2.1).
	OriginalEnvelopeID string
	Recipients         []ParsedRecipient
	// HumanText is the decoded first part.
	HumanText string
	// OriginalHeader is the text/rfc822-headers part, if any.
	OriginalHeader []byte
	// OriginalMessage is the message/rfc822 (or message/global) part,
	// if any: the whole message returned for RET=FULL.
	OriginalMessage []byte
}

// ParsedRecipient is one per-recipient group, with type prefixes ("rfc822;",
// "dns;", "smtp;") removed.
type ParsedRecipient struct {
	FinalRecipient string
	Action         Action
	Status         string
	RemoteMTA      string
	DiagnosticCode string
	// OriginalRecipient keeps its type: "rfc822; a@example.org".
	OriginalRecipient string
}

// Parse reads a multipart/report; report-type=delivery-status message
// (RFC 3464 section 2, RFC 6522 section 3).
func Parse(r io.Reader) (*Report, error) {
	e, err := message.Read(io.LimitReader(r, maxParseBytes))
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("dsn: read message: %w", err)
	}
	mt, params, err := e.Header.ContentType()
	if err != nil {
		return nil, fmt.Errorf("dsn: content type: %w", err)
	}
	if mt != "multipart/report" || !strings.EqualFold(params["report-type"], "delivery-status") {
		return nil, fmt.Errorf("dsn: not a delivery status report (%s; report-type=%s)", mt, params["report-type"])
	}
	rep := &Report{Subject: e.Header.Get("Subject"), To: e.Header.Get("To")}
	mr := e.MultipartReader()
	if mr == nil {
		return nil, errors.New("dsn: report is not multipart")
	}
	sawStatus := false
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return nil, fmt.Errorf("dsn: part %d: %w", i+1, err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return nil, fmt.Errorf("dsn: part %d: %w", i+1, err)
		}
		switch {
		case i == 0:
			rep.HumanText = string(body)
		case pt == "message/delivery-status" || pt == "message/global-delivery-status":
			if err := rep.parseStatus(body); err != nil {
				return nil, err
			}
			sawStatus = true
		case pt == "text/rfc822-headers" || pt == "message/global-headers":
			rep.OriginalHeader = body
		case pt == "message/rfc822" || pt == "message/global":
			rep.OriginalMessage = body
		}
	}
	if !sawStatus {
		return nil, errors.New("dsn: no message/delivery-status part")
	}
	return rep, nil
}

// parseStatus reads the groups of RFC 3464 section 2.1: one per-message
// group, then one group per recipient, separated by blank lines.
func (rep *Report) parseStatus(body []byte) error {
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	first := true
	for {
		// Skip the blank lines between groups.
		for {
			b, err := tr.R.Peek(1)
			if err != nil || (b[0] != '\r' && b[0] != '\n') {
				break
			}
			tr.R.ReadByte()
		}
		if _, err := tr.R.Peek(1); err != nil {
			break
		}
		h, err := tr.ReadMIMEHeader()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("dsn: status fields: %w", err)
		}
		if first {
			rep.ReportingMTA = afterType(h.Get("Reporting-MTA"))
			rep.ArrivalDate = h.Get("Arrival-Date")
			rep.OriginalEnvelopeID = strings.TrimSpace(h.Get("Original-Envelope-Id"))
			if rep.ReportingMTA == "" {
				return errors.New("dsn: per-message fields lack Reporting-MTA")
			}
			first = false
		} else if len(h) > 0 {
			if len(rep.Recipients) >= maxRecipGroups {
				return errors.New("dsn: too many recipient groups")
			}
			r := ParsedRecipient{
				OriginalRecipient: strings.TrimSpace(h.Get("Original-Recipient")),
				FinalRecipient:    afterType(h.Get("Final-Recipient")),
				Action:            Action(strings.ToLower(strings.TrimSpace(h.Get("Action")))),
				Status:            strings.TrimSpace(h.Get("Status")),
				RemoteMTA:         afterType(h.Get("Remote-MTA")),
				DiagnosticCode:    afterType(h.Get("Diagnostic-Code")),
			}
			// RFC 3464 section 2.3: Final-Recipient, Action and Status
			// are required in every recipient group.
			if r.FinalRecipient == "" || r.Action == "" || !ValidStatus(r.Status) {
				return fmt.Errorf("dsn: recipient group %d lacks Final-Recipient, Action or a valid Status", len(rep.Recipients)+1)
			}
			rep.Recipients = append(rep.Recipients, r)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if first {
		return errors.New("dsn: empty delivery-status part")
	}
	return nil
}

// afterType strips the "type;" prefix of an address or diagnostic field.
func afterType(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}
