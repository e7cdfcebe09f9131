package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pop3Result is what testdata/pop3_session.py prints.
type pop3Result struct {
	Welcome     string   `json:"welcome"`
	Capa        []string `json:"capa"`
	TLS         bool     `json:"tls"`
	Stat        []int64  `json:"stat"`
	List        []string `json:"list"`
	UIDL        []string `json:"uidl"`
	Retr1       string   `json:"retr1"`
	Retr1Octets int64    `json:"retr1_octets"`
	Top2        []string `json:"top2"`
	Dele1       string   `json:"dele1"`
	Quit1       string   `json:"quit1"`
	StatAfter   []int64  `json:"stat_after"`
	UIDLAfter   []string `json:"uidl_after"`
	BadLogin    string   `json:"bad_login"`
}

// TestPythonPoplib drives POP3 with Python's poplib (an independent
// client) in the three ways a client reaches the server: plain USER/PASS
// on loopback, STLS (RFC 2595) and implicit TLS (RFC 8314).
func TestPythonPoplib(t *testing.T) {
	py := debianPython(t)
	tests := []struct {
		mode     string
		listener string
	}{
		{"plain", "pop3"},
		{"stls", "pop3"},
		{"pop3s", "pop3s"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			// A server each: the failed login at the end of the script
			// starts the per-IP back-off, which must not slow the others.
			ts := startServer(t, nil, "pop")
			user := "pop@" + testDomain
			smtpAddr := ts.addr(t, "smtp")
			for i := 1; i <= 3; i++ {
				subject := fmt.Sprintf("poplib %s message %d", tc.mode, i)
				body := fmt.Sprintf("Body of message %d.\r\n.A line that starts with a dot.", i)
				rawDeliver(t, smtpAddr, "sender@remote.test", user, testMessage("sender@remote.test", user, subject, body))
			}
			host, port := hostPort(t, ts.addr(t, tc.listener))
			cmd := exec.Command(py, "testdata/pop3_session.py", tc.mode, host, port, user, userPassword)
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("pop3_session.py %s: %v\nstdout: %s\nstderr: %s", tc.mode, err, out, stderr)
			}
			var r pop3Result
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("decode script output %q: %v", out, err)
			}
			checkPoplibResult(t, tc.mode, r)
		})
	}
}

func checkPoplibResult(t *testing.T, mode string, r pop3Result) {
	t.Helper()
	if !strings.HasPrefix(r.Welcome, "+OK") {
		t.Errorf("greeting %q, want +OK", r.Welcome)
	}
	if want := mode != "plain"; r.TLS != want {
		t.Errorf("session in TLS = %v, want %v", r.TLS, want)
	}
	for _, c := range []string{"UIDL", "TOP", "USER"} {
		if !slices.Contains(r.Capa, c) {
			t.Errorf("CAPA %v lacks %s (RFC 2449)", r.Capa, c)
		}
	}
	if mode == "plain" && !slices.Contains(r.Capa, "STLS") {
		t.Errorf("CAPA %v lacks STLS before TLS (RFC 2595 section 4)", r.Capa)
	}

	// STAT, LIST: three messages whose sizes add up (RFC 1939 section 5).
	if len(r.Stat) != 2 || r.Stat[0] != 3 {
		t.Fatalf("STAT = %v, want 3 messages", r.Stat)
	}
	if len(r.List) != 3 {
		t.Fatalf("LIST = %q, want 3 entries", r.List)
	}
	var sum, size1 int64
	for i, l := range r.List {
		var n int
		var size int64
		if _, err := fmt.Sscanf(l, "%d %d", &n, &size); err != nil || n != i+1 {
			t.Fatalf("LIST line %q: want \"%d SIZE\" (%v)", l, i+1, err)
		}
		if i == 0 {
			size1 = size
		}
		sum += size
	}
	if sum != r.Stat[1] {
		t.Errorf("LIST sizes add up to %d, STAT says %d", sum, r.Stat[1])
	}

	// UIDL: one unique id per message (RFC 1939 section 7).
	uids := uidlIDs(t, r.UIDL)
	if len(uids) != 3 || uids[0] == uids[1] || uids[1] == uids[2] || uids[0] == uids[2] {
		t.Errorf("UIDL = %q, want 3 distinct ids", r.UIDL)
	}

	// RETR 1: the first message, with the trace fields delivery adds, and
	// exactly as many octets as LIST announced.
	for _, want := range []string{
		"Subject: poplib " + mode + " message 1",
		"Return-Path: <sender@remote.test>",
		"Received: ",
		"Body of message 1.",
		"\r\n.A line that starts with a dot.",
	} {
		if !strings.Contains(r.Retr1, want) {
			t.Errorf("RETR 1 lacks %q:\n%s", want, r.Retr1)
		}
	}
	if r.Retr1Octets != size1 {
		t.Errorf("RETR 1 returned %d octets, LIST said %d (RFC 1939 section 5: exact size)", r.Retr1Octets, size1)
	}

	// TOP 2 0: the header of message 2 and the blank line, no body.
	top := strings.Join(r.Top2, "\r\n")
	if !strings.Contains(top, "Subject: poplib "+mode+" message 2") || strings.Contains(top, "Body of message 2") {
		t.Errorf("TOP 2 0 = %q, want the header of message 2 only", r.Top2)
	}
	if len(r.Top2) == 0 || r.Top2[len(r.Top2)-1] != "" {
		t.Errorf("TOP 2 0 does not end with the blank line after the header: %q", r.Top2)
	}

	if !strings.HasPrefix(r.Dele1, "+OK") || !strings.HasPrefix(r.Quit1, "+OK") {
		t.Errorf("DELE 1 = %q, QUIT = %q; want +OK", r.Dele1, r.Quit1)
	}
	// The next session sees the deletion (applied at QUIT, RFC 1939
	// section 6) and the same UIDs for the messages left.
	if len(r.StatAfter) != 2 || r.StatAfter[0] != 2 || r.StatAfter[1] != r.Stat[1]-size1 {
		t.Errorf("STAT after DELE 1 = %v, want [2 %d]", r.StatAfter, r.Stat[1]-size1)
	}
	if after := uidlIDs(t, r.UIDLAfter); len(uids) == 3 && !slices.Equal(after, uids[1:]) {
		t.Errorf("UIDL after DELE 1 = %q, want the ids %q", r.UIDLAfter, uids[1:])
	}
	if !strings.HasPrefix(r.BadLogin, "b'-ERR") && !strings.HasPrefix(r.BadLogin, "-ERR") {
		t.Errorf("wrong password answered %q, want -ERR", r.BadLogin)
	}
}

// uidlIDs takes "N ID" lines and returns the ids, checking N counts from 1.
func uidlIDs(t *testing.T, lines []string) []string {
	t.Helper()
	var ids []string
	for i, l := range lines {
		n, id, ok := strings.Cut(l, " ")
		if !ok || n != strconv.Itoa(i+1) || id == "" {
			t.Errorf("UIDL line %q: want \"%d ID\"", l, i+1)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}
