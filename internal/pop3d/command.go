package pop3d

import (
	"errors"
	"strings"
)

// Limits of the command grammar. RFC 1939 section 3 gives 3-4 character
// keywords and at most 40 characters per argument; RFC 2449 section 4
// raises the whole line to 255 octets. No command takes more than two
// arguments (TOP msg n, AUTH mechanism initial-response).
const (
	maxKeywordLength = 16
	maxArgs          = 2
)

// Errors of parseCommand; their text is sent to the client after "-ERR ".
var (
	errEmptyCommand   = errors.New("empty command")
	errBadKeyword     = errors.New("malformed command keyword")
	errBadCharacter   = errors.New("control character in command")
	errTooManyArgs    = errors.New("too many arguments")
	errEmptyPassArg   = errors.New("PASS needs a password")
	errKeywordTooLong = errors.New("command keyword too long")
)

// parseCommand splits one command line (CRLF already removed) into an upper
// case keyword and its arguments. It does no I/O so it can be fuzzed and
// table-tested on its own.
//
// RFC 1939 section 3: a case-insensitive keyword, then arguments each
// separated by a single space. Runs of spaces and trailing spaces are
// tolerated because some clients send them. PASS is special: RFC 1939
// section 7 notes that a password may contain spaces, so everything after
// "PASS " is one argument.
func parseCommand(line string) (cmd string, args []string, err error) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return "", nil, errBadCharacter
		}
	}
	keyword, rest, _ := strings.Cut(line, " ")
	if keyword == "" {
		if strings.TrimLeft(line, " ") == "" {
			return "", nil, errEmptyCommand
		}
		return "", nil, errBadKeyword
	}
	if len(keyword) > maxKeywordLength {
		return "", nil, errKeywordTooLong
	}
	for i := 0; i < len(keyword); i++ {
		c := keyword[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "", nil, errBadKeyword
		}
	}
	cmd = strings.ToUpper(keyword)
	if cmd == "PASS" {
		if rest == "" {
			return "", nil, errEmptyPassArg
		}
		return cmd, []string{rest}, nil
	}
	for f := range strings.SplitSeq(rest, " ") {
		if f == "" {
			continue
		}
		if len(args) == maxArgs {
			return "", nil, errTooManyArgs
		}
		args = append(args, f)
	}
	return cmd, args, nil
}
