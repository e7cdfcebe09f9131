package delivery

import (
	"context"
	"strings"
)

// receivedStage builds the trace fields the delivering MTA adds
// (RFC 5321 section 4.4): Return-Path with the reverse-path, and a Received
// field naming the client, us, the protocol and the delivery id.
type receivedStage struct {
	hostname string
}

func (receivedStage) Name() string { return "received" }

func (s receivedStage) Process(_ context.Context, d *Delivery) error {
	env := d.Envelope
	var b strings.Builder
	// RFC 5321 section 4.4: "When the delivery SMTP server makes the
	// 'final delivery' of a message, it inserts a return-path line at the
	// beginning of the mail data."
	b.WriteString("Return-Path: <")
	b.WriteString(headerSafe(env.MailFrom, 256))
	b.WriteString(">\r\n")
	if len(d.Header) == 0 {
		d.returnPathLen = b.Len()
	}

	// Received: from Extended-Domain by Domain With ID For ; date-time
	// (RFC 5321 section 4.4, Stamp). Extended-Domain is the EHLO name
	// followed by the TCP-info comment: reverse name if known and the
	// address literal.
	b.WriteString("Received: from ")
	helo := headerSafe(env.Helo, 255)
	if helo == "" {
		helo = "unknown"
	}
	b.WriteString(helo)
	b.WriteString(" (")
	if rn := headerSafe(env.ReverseName, 255); rn != "" {
		b.WriteString(rn)
		b.WriteString(" ")
	}
	b.WriteString(addressLiteral(env))
	b.WriteString(")\r\n\tby ")
	b.WriteString(headerSafe(s.hostname, 255))
	b.WriteString(" (mailport) with ")
	b.WriteString(protocolName(env))
	b.WriteString(" id ")
	b.WriteString(d.ID)
	if len(env.RcptTo) == 1 {
		// Only with a single recipient: naming one of several would
		// disclose the others' copies' recipients (RFC 5321 section
		// 7.2 on blind copies).
		b.WriteString("\r\n\tfor <")
		b.WriteString(headerSafe(env.RcptTo[0], 256))
		b.WriteString(">")
	}
	b.WriteString(";\r\n\t")
	// RFC 5322 section 3.3 date-time.
	b.WriteString(d.ReceivedAt.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	d.Header = append(d.Header, b.String()...)
	return nil
}

func addressLiteral(env *Envelope) string {
	if !env.RemoteIP.IsValid() {
		return "[unknown]"
	}
	ip := env.RemoteIP.Unmap()
	// RFC 5321 section 4.1.3: IPv6 literals carry the "IPv6:" tag.
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}

// protocolName is the "with" value: ESMTP with S for TLS and A for an
// authenticated client (RFC 3848 section 2), UTF8SMTP variants when the
// client used SMTPUTF8 (RFC 6531 section 3.7.3), plain SMTP after HELO.
func protocolName(env *Envelope) string {
	p := "SMTP"
	if env.UTF8 {
		p = "UTF8SMTP"
	} else if env.ESMTP {
		p = "ESMTP"
	}
	if env.TLS {
		p += "S"
	}
	if env.AuthUser != "" {
		p += "A"
	}
	if p == "SMTPS" || p == "SMTPA" || p == "SMTPSA" {
		// The "S"/"A" forms exist only for ESMTP; HELO cannot
		// negotiate TLS or AUTH, so this only happens for bad input.
		p = "E" + p
	}
	return p
}

// headerSafe keeps client-supplied text from breaking the header: only
// printable characters survive (no CR, LF, controls), parentheses and
// backslashes that would end or escape the comment become "_", and the
// text is cut at max octets.
func headerSafe(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x21 || r == 0x7f || r == 0xfffd:
			b.WriteByte('_')
		case r == '(' || r == ')' || r == '\\' || r == '<' || r == '>' || r == ';':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
		if b.Len() >= max {
			break
		}
	}
	return b.String()
}
