package wire

import (
	"errors"
	"fmt"
)

// ParseError is a problem with a command the client sent. The session
// answers it with a tagged (or, when Tag is "", untagged) Status response:
//
//	tag BAD [Code] Msg
//
// When Fatal is false the reader has already skipped the rest of the bad
// command (including the bytes of any non-synchronizing literal in it), so
// the session writes the reply and reads the next command. When Fatal is
// true the stream can no longer be trusted (a line beyond MaxLineLength, a
// non-synchronizing literal too large to skip): the session writes the
// reply, then "* BYE" and closes the connection.
type ParseError struct {
	Tag     string // the command's tag, "" if it was not read
	Command string // the command name (upper case) if it was read
	// Status is "BAD" for syntax errors and "NO" for a well-formed command
	// refused because of a limit (an APPEND literal larger than
	// MaxLiteralSize is "NO [TOOBIG]", RFC 9051 section 7.1).
	Status string
	Code   string // response code without brackets, e.g. "TOOBIG"; "" for none
	Msg    string // human-readable text for the response
	Fatal  bool
	// LiteralSize is the announced size when the error is a refused
	// literal, else 0.
	LiteralSize int64
}

func (e *ParseError) Error() string {
	s := "imap: " + e.Msg
	if e.Command != "" {
		s = "imap " + e.Command + ": " + e.Msg
	}
	if e.Fatal {
		s += " (fatal)"
	}
	return s
}

// badf returns a recoverable syntax error.
func badf(format string, args ...any) *ParseError {
	return &ParseError{Status: "BAD", Msg: fmt.Sprintf(format, args...)}
}

// AsParseError returns err as a *ParseError when it is one.
func AsParseError(err error) (*ParseError, bool) {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}

// ErrSASLCancel is returned by ReadSASLResponse when the client sends "*"
// to cancel an AUTHENTICATE exchange (RFC 9051 section 6.2.2); the session
// answers "tag BAD" (cancelled).
var ErrSASLCancel = errors.New("imap: authentication cancelled by client")
