package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// imaplibResult is what testdata/imap_session.py prints.
type imaplibResult struct {
	Welcome           string   `json:"welcome"`
	CapsBefore        []string `json:"caps_before"`
	StartTLS          string   `json:"starttls"`
	TLS               bool     `json:"tls"`
	Login             string   `json:"login"`
	List              []string `json:"list"`
	SelectExists      int      `json:"select_exists"`
	SearchAll         []string `json:"search_all"`
	SearchFrom        []string `json:"search_from"`
	SearchSubjectUTF8 []string `json:"search_subject_utf8"`
	SearchBodyUTF8    []string `json:"search_body_utf8"`
	RFC822First       string   `json:"rfc822_1"`
	Subject2          string   `json:"subject_2"`
	BodyStructure3    []string `json:"bodystructure_3"`
	FlagsAfterFetch   []string `json:"flags_after_fetch"`
	Store             []string `json:"store"`
	Copy              []string `json:"copy"`
	Expunge           []string `json:"expunge"`
	SearchFlagged     []string `json:"search_flagged"`
	StatusArchive     string   `json:"status_archive"`
	Final             []string `json:"final"`
	Logout            string   `json:"logout"`
}

// utf8Message has an RFC 2047 subject and an 8-bit UTF-8 body, for
// SEARCH CHARSET UTF-8 with literals.
const utf8Message = "From: <sender@remote.test>\r\n" +
	"To: <py@example.test>\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n" +
	"Message-ID: <utf8-python@e2e.test>\r\n" +
	"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Die Straße ist lang und gerade.\r\n"

// TestIMAPPythonImaplib drives the whole server with Python's imaplib
// (Debian's python3) over plain loopback, STARTTLS and IMAPS: LOGIN, LIST,
// SELECT, SEARCH (with CHARSET UTF-8 literals), FETCH (RFC822, HEADER
// fields, BODYSTRUCTURE), STORE, COPY and EXPUNGE.
func TestIMAPPythonImaplib(t *testing.T) {
	py := debianPython(t)
	corpus := loadIMAPCorpus(t)
	var multipart []byte
	for _, m := range corpus {
		if isMultipart(m.Data) {
			multipart = m.Data
			break
		}
	}
	tests := []struct{ mode, listener string }{
		{"plain", "imap"},
		{"starttls", "imap"},
		{"imaps", "imaps"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, nil, "py")
			user := "py@" + testDomain
			first := []byte(testMessage("sender@remote.test", user, "imaplib first", "First body.\r\n.dot line"))
			for _, msg := range [][]byte{first, []byte(utf8Message), multipart} {
				if err := smtpSend(ts.addr(t, "smtp"), "sender@remote.test", user, msg); err != nil {
					t.Fatalf("deliver: %v", err)
				}
			}
			host, port := hostPort(t, ts.addr(t, tc.listener))
			out, err := exec.Command(py, "testdata/imap_session.py", tc.mode, host, port, user, userPassword).Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("imap_session.py %s: %v\nstdout: %s\nstderr: %s", tc.mode, err, out, stderr)
			}
			var r imaplibResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("decode script output %q: %v", out, err)
			}
			checkImaplibResult(t, tc.mode, r, first)
		})
	}
}

func checkImaplibResult(t *testing.T, mode string, r imaplibResult, first []byte) {
	t.Helper()
	if !strings.HasPrefix(r.Welcome, "* OK") {
		t.Errorf("greeting %q", r.Welcome)
	}
	if mode == "plain" || mode == "starttls" {
		if !slices.Contains(r.CapsBefore, "STARTTLS") {
			t.Errorf("capabilities before TLS %v lack STARTTLS", r.CapsBefore)
		}
	}
	if mode == "starttls" && r.StartTLS != "OK" {
		t.Errorf("STARTTLS = %q", r.StartTLS)
	}
	if want := mode != "plain"; r.TLS != want {
		t.Errorf("session in TLS = %v, want %v", r.TLS, want)
	}
	if r.Login != "OK" || r.Logout != "BYE" {
		t.Errorf("LOGIN %q, LOGOUT %q", r.Login, r.Logout)
	}
	var names []string
	for _, l := range r.List {
		// (attrs) "/" name
		i := strings.LastIndex(l, `"/" `)
		if i < 0 {
			t.Errorf("LIST line %q without the \"/\" delimiter", l)
			continue
		}
		names = append(names, strings.Trim(l[i+4:], `"`))
	}
	for _, want := range []string{"INBOX", "Archive", "Sent", "Trash", "Junk", "Drafts"} {
		if !slices.Contains(names, want) {
			t.Errorf("LIST %q lacks %s", r.List, want)
		}
	}
	if r.SelectExists != 3 {
		t.Errorf("SELECT INBOX: %d EXISTS, want 3", r.SelectExists)
	}
	searches := []struct {
		name      string
		got, want []string
	}{
		{"ALL", r.SearchAll, []string{"1", "2", "3"}},
		{"FROM sender@remote.test", r.SearchFrom, []string{"1", "2"}},
		{"CHARSET UTF-8 SUBJECT {Köln}", r.SearchSubjectUTF8, []string{"2"}},
		{"CHARSET UTF-8 BODY {Straße}", r.SearchBodyUTF8, []string{"2"}},
		{"FLAGGED after the expunge", r.SearchFlagged, []string{"1"}},
	}
	for _, s := range searches {
		if !slices.Equal(s.got, s.want) {
			t.Errorf("SEARCH %s = %v, want %v", s.name, s.got, s.want)
		}
	}
	rfc822, err := base64.StdEncoding.DecodeString(r.RFC822First)
	if err != nil || !deliveredAs(rfc822, first) {
		t.Errorf("FETCH 1 RFC822 = %q (%v), want the delivered message under trace fields", rfc822, err)
	}
	subj, _ := base64.StdEncoding.DecodeString(r.Subject2)
	if want := "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n\r\n"; string(subj) != want {
		t.Errorf("BODY.PEEK[HEADER.FIELDS (SUBJECT)] of 2 = %q, want %q", subj, want)
	}
	bs := strings.Join(r.BodyStructure3, " ")
	if !strings.Contains(bs, "BODYSTRUCTURE ((") || !strings.Contains(strings.ToUpper(bs), `"ALTERNATIVE"`) && !strings.Contains(strings.ToUpper(bs), `"MIXED"`) && !strings.Contains(strings.ToUpper(bs), `"RELATED"`) {
		t.Errorf("BODYSTRUCTURE of the multipart message 3 = %q, want a multipart body", bs)
	}
	// RFC822 (not PEEK) set \Seen on 1 only.
	wantFlags := []string{`1 (FLAGS (\Seen))`, `2 (FLAGS ())`, `3 (FLAGS ())`}
	if !slices.Equal(r.FlagsAfterFetch, wantFlags) {
		t.Errorf("FETCH 1:3 FLAGS = %q, want %q", r.FlagsAfterFetch, wantFlags)
	}
	if len(r.Store) != 1 || r.Store[0] != `2 (FLAGS (\Flagged))` {
		t.Errorf("STORE 2 +FLAGS (\\Flagged) = %q", r.Store)
	}
	if len(r.Copy) < 1 || r.Copy[0] != "OK" || !strings.Contains(strings.Join(r.Copy, " "), "COPYUID") {
		t.Errorf("COPY 1:2 Archive = %q, want OK [COPYUID ...] (RFC 4315)", r.Copy)
	}
	if !slices.Equal(r.Expunge, []string{"1"}) {
		t.Errorf("EXPUNGE = %q, want [1]", r.Expunge)
	}
	if !strings.Contains(r.StatusArchive, "MESSAGES 2") {
		t.Errorf("STATUS Archive = %q, want MESSAGES 2", r.StatusArchive)
	}
	wantFinal := []string{`1 (UID 2 FLAGS (\Flagged))`, `2 (UID 3 FLAGS ())`}
	if !slices.Equal(normalizeFetchOrder(r.Final), wantFinal) {
		t.Errorf("FETCH 1:* (UID FLAGS) = %q, want %q", r.Final, wantFinal)
	}
}

var (
	fetchSeqRe   = regexp.MustCompile(`^(\d+) \(`)
	fetchUIDRe   = regexp.MustCompile(`\bUID (\d+)`)
	fetchFlagsRe = regexp.MustCompile(`\bFLAGS \(([^)]*)\)`)
)

// normalizeFetchOrder rewrites each "N (... UID u ... FLAGS (f) ...)" as
// "N (UID u FLAGS (f))": RFC 9051 lets the server order FETCH items.
func normalizeFetchOrder(lines []string) []string {
	var out []string
	for _, l := range lines {
		seq, uid, flags := fetchSeqRe.FindStringSubmatch(l), fetchUIDRe.FindStringSubmatch(l), fetchFlagsRe.FindStringSubmatch(l)
		if seq == nil || uid == nil || flags == nil {
			out = append(out, l)
			continue
		}
		out = append(out, fmt.Sprintf("%s (UID %s FLAGS (%s))", seq[1], uid[1], flags[1]))
	}
	return out
}
