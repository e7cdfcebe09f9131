package testutil

import (
	"encoding/base64"
	"strings"
	"testing"
)

// SASLChallenges answers a server's SASL challenges, lines "+ base64"
// (IMAP AUTHENTICATE, RFC 9051 section 6.2.2; POP3 AUTH, RFC 5034
// section 4), with step's answers in base64 (written by write, without
// CRLF), and returns the first line that is not a challenge: the
// command's result.
func SASLChallenges(t testing.TB, step func(challenge string) (string, error), readLine func() string, write func(line string)) string {
	t.Helper()
	for {
		line := readLine()
		data, ok := strings.CutPrefix(line, "+ ")
		if !ok {
			return line
		}
		msg, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatalf("challenge %q: %v", line, err)
		}
		resp, err := step(string(msg))
		if err != nil {
			t.Fatalf("client refused %q: %v", msg, err)
		}
		write(base64.StdEncoding.EncodeToString([]byte(resp)))
	}
}
