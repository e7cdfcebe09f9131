package imapd

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPythonIMAPLib drives the server with Python's imaplib, an
// independent client (Debian's /usr/bin/python3, see DESIGN.md section 6).
func TestPythonIMAPLib(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	ts := newTestServer(t)
	host, port, _ := net.SplitHostPort(ts.addr)
	out, err := exec.Command(python, "testdata/imaplib_client.py", host, port, testUser, testPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	var got struct {
		Login   string
		List    []string
		Append  []string
		Select  []string
		Search  string
		Fetch   string
		Store   string
		Copy    string
		Expunge []string
		Status  string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Login != "OK" || got.Copy != "OK" {
		t.Fatalf("%+v", got)
	}
	if !slices.Contains(got.List, `(\HasNoChildren \Sent) "/" Sent`) {
		t.Errorf("list %q", got.List)
	}
	if got.Append[0] != "OK" || !strings.Contains(got.Append[1], "[APPENDUID ") {
		t.Errorf("append %q", got.Append)
	}
	if got.Select[1] != "1" || got.Search != "1" {
		t.Errorf("select %q search %q", got.Select, got.Search)
	}
	if !strings.Contains(got.Fetch, "Hello from Python.") {
		t.Errorf("fetch %q", got.Fetch)
	}
	if !strings.Contains(got.Store, `\Deleted`) || !slices.Equal(got.Expunge, []string{"1"}) {
		t.Errorf("store %q expunge %q", got.Store, got.Expunge)
	}
	if got.Status != "Archive (MESSAGES 1)" {
		t.Errorf("status %q", got.Status)
	}
}
