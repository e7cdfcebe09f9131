package delivery

import (
	"context"
	"errors"
	"fmt"

	"mailport/internal/directory"
)

// Error is a delivery failure with its SMTP meaning: the reply code, the
// enhanced status code of RFC 3463 and the text shown to the client. Err is
// the cause, kept for logs and errors.Is; it is never shown to clients.
type Error struct {
	Code     int
	Enhanced [3]int
	Message  string
	Err      error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the sender should try again later (4xx).
func (e *Error) Temporary() bool { return e.Code/100 == 4 }

func newError(code int, class, subject, detail int, msg string, cause error) *Error {
	return &Error{Code: code, Enhanced: [3]int{class, subject, detail}, Message: msg, Err: cause}
}

// ErrorLocal is the answer to a failure of our own (storage, I/O): the
// message is not lost, the sender retries (RFC 3463 4.3.0, other or
// undefined mail system status).
func ErrorLocal(cause error) *Error {
	return newError(451, 4, 3, 0, "local error in processing, try again later", cause)
}

// ErrorMailboxFull is RFC 3463 4.2.2, mailbox full.
func ErrorMailboxFull(cause error) *Error {
	return newError(452, 4, 2, 2, "mailbox full", cause)
}

// ErrorTooLarge is RFC 1870 section 6.2 (552) with RFC 3463 5.3.4, message
// too big for system.
func ErrorTooLarge(cause error) *Error {
	return newError(552, 5, 3, 4, "message exceeds the size limit", cause)
}

// ErrorBareLineEnding refuses a message with a CR or LF that is not part
// of a CRLF pair. RFC 5321 section 2.3.8 forbids them in SMTP text; they
// are what SMTP smuggling is made of, so they are refused rather than
// repaired (RFC 3463 5.6.0, other media error).
func ErrorBareLineEnding(cause error) *Error {
	return newError(550, 5, 6, 0, "bare LF/CR not allowed, see RFC 5321 section 2.3.8", cause)
}

// AsError returns the *Error in err's chain, or, for any other error, the
// local-failure answer (451 4.3.0) wrapping it. Cancellation of the
// caller's context is a local, temporary failure too. nil stays nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrorLocal(err)
}

// RecipientError maps an address-resolution error of directory.Resolve to
// its SMTP answer at RCPT time.
func RecipientError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrRelayDenied):
		// RFC 5321 section 3.6.2: an MX that is not a relay refuses
		// every domain that is not its own.
		return newError(554, 5, 7, 1, "relay access denied", err)
	case errors.Is(err, directory.ErrUnknownRecipient):
		return newError(550, 5, 1, 1, "no such user here", err)
	case errors.Is(err, directory.ErrDisabled):
		return newError(550, 5, 2, 1, "mailbox disabled, not accepting messages", err)
	case errors.Is(err, directory.ErrLoop):
		return newError(550, 5, 4, 6, "routing loop detected (alias loop or chain too deep)", err)
	case errors.Is(err, directory.ErrInvalidAddress), errors.Is(err, directory.ErrInvalidDomain):
		return newError(501, 5, 1, 3, "bad recipient address syntax", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ErrorLocal(err)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrorLocal(err)
}
