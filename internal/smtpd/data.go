package smtpd

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-smtp"

	"mailport/internal/delivery"
)

// lineEndingReader passes the message through while checking it: every CR
// must be followed by LF and every LF preceded by CR (RFC 5321 section
// 2.3.8: no bare CR or LF in SMTP text). Refusing such messages, rather
// than repairing them, is what keeps a message from hiding an end of data
// that another MTA would see (SMTP smuggling). It also bounds line length
// for BDAT, where go-smtp does not, and gives go-smtp's errors their
// delivery meaning.
type lineEndingReader struct {
	r       io.Reader
	maxLine int // octets including CRLF; 0 = no limit
	lineLen int
	prevCR  bool
	err     error
}

func (l *lineEndingReader) fail(e *delivery.Error) (int, error) {
	l.err = e
	return 0, e
}

func (l *lineEndingReader) Read(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(b)
	for _, c := range b[:n] {
		switch {
		case l.prevCR && c != '\n':
			return l.fail(delivery.ErrorBareLineEnding(errors.New("bare CR in message")))
		case c == '\n' && !l.prevCR:
			return l.fail(delivery.ErrorBareLineEnding(errors.New("bare LF in message")))
		}
		l.prevCR = c == '\r'
		if c == '\n' {
			l.lineLen = 0
		} else if c != '\r' {
			l.lineLen++
			if l.maxLine > 0 && l.lineLen > l.maxLine-2 {
				return l.fail(lineTooLong(l.maxLine))
			}
		}
	}
	switch {
	case err == nil:
	case err == io.EOF:
		if l.prevCR {
			return l.fail(delivery.ErrorBareLineEnding(errors.New("bare CR at end of message")))
		}
	case errors.Is(err, smtp.ErrDataTooLarge):
		return l.fail(delivery.ErrorTooLarge(err))
	case errors.Is(err, smtp.ErrTooLongLine):
		return l.fail(lineTooLong(l.maxLine))
	default:
		l.err = err
	}
	return n, err
}

// lineTooLong is the answer RFC 5321 section 4.5.3.1.10 suggests for a
// line over the limit of section 4.5.3.1.6.
func lineTooLong(max int) *delivery.Error {
	return &delivery.Error{Code: 500, Enhanced: [3]int{5, 5, 2},
		Message: fmt.Sprintf("line too long (at most %d octets including CRLF)", max)}
}
