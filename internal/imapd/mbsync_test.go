package imapd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailport/internal/store"
)

// TestMbsync runs isync's mbsync, a real mail client, for a two-way sync
// between the server and a local Maildir, and checks message by message:
// server to local, local to server (a new message, a flag), and
// expunges both ways.
func TestMbsync(t *testing.T) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync (isync) not installed")
	}
	ts := newTestServer(t)
	for _, s := range []string{"alpha", "beta", "gamma"} {
		ts.deliver("INBOX", testMessage(s))
	}
	ts.deliver("Archive", testMessage("archived"))

	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	host, port, _ := net.SplitHostPort(ts.addr)
	cfg := fmt.Sprintf(`IMAPAccount mp
Host %s
Port %s
User %s
Pass "%s"
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore remote
Account mp

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, host, port, testUser, testPassword, local, local)
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		cmd := exec.Command(mbsync, "-c", cfgFile, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	localMessages := func(folder string) map[string]string { // subject -> file name
		t.Helper()
		out := map[string]string{}
		for _, sub := range []string{"cur", "new"} {
			entries, _ := os.ReadDir(filepath.Join(local, folder, sub))
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(local, folder, sub, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if s, ok := strings.CutPrefix(line, "Subject: "); ok {
						out[strings.TrimSpace(s)] = filepath.Join(sub, e.Name())
					}
				}
			}
		}
		return out
	}
	serverMessages := func(folder string) map[string][]string { // subject -> flags
		t.Helper()
		ctx := context.Background()
		msgs, err := ts.st.ListMessages(ctx, ts.mailbox(folder).ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, m := range msgs {
			f, err := ts.blobs.Open(m.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, m.Size)
			if _, err := f.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			f.Close()
			for _, line := range strings.Split(string(b), "\r\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					out[s] = m.Flags
				}
			}
		}
		return out
	}
	keys := func(m map[string]string) []string {
		var k []string
		for s := range m {
			k = append(k, s)
		}
		slices.Sort(k)
		return k
	}

	// Server to local.
	run()
	if got := keys(localMessages("INBOX")); !slices.Equal(got, []string{"alpha", "beta", "gamma"}) {
		t.Fatalf("local INBOX after first sync: %v", got)
	}
	if got := keys(localMessages("Archive")); !slices.Equal(got, []string{"archived"}) {
		t.Fatalf("local Archive: %v", got)
	}

	// Local to server: a new message, \Seen on beta; the server deletes gamma.
	newFile := filepath.Join(local, "INBOX", "new", "1700000000.1_1.localhost")
	if err := os.WriteFile(newFile, []byte(crlfText(testMessage("written locally"))), 0o600); err != nil {
		t.Fatal(err)
	}
	beta := localMessages("INBOX")["beta"]
	// Maildir: the info suffix ":2,FLAGS" holds the flags; S is \Seen.
	seenName := filepath.Join("cur", filepath.Base(beta))
	if !strings.Contains(seenName, ":2,") {
		seenName += ":2,"
	}
	seenName += "S"
	if err := os.Rename(filepath.Join(local, "INBOX", beta), filepath.Join(local, "INBOX", seenName)); err != nil {
		t.Fatal(err)
	}
	c := ts.conn().login()
	c.cmd("a SELECT INBOX").ok()
	c.cmd(`b UID STORE 3 +FLAGS.SILENT (\Deleted)`).ok()
	c.cmd("c EXPUNGE").ok()
	run()

	server := serverMessages("INBOX")
	var serverSubjects []string
	for s := range server {
		serverSubjects = append(serverSubjects, s)
	}
	slices.Sort(serverSubjects)
	if !slices.Equal(serverSubjects, []string{"alpha", "beta", "written locally"}) {
		t.Fatalf("server INBOX after second sync: %v", server)
	}
	if !slices.Contains(server["beta"], store.FlagSeen) {
		t.Fatalf("\\Seen of beta not synced: %v", server)
	}
	if got := keys(localMessages("INBOX")); !slices.Equal(got, []string{"alpha", "beta", "written locally"}) {
		t.Fatalf("local INBOX after second sync: %v", got)
	}
	// A third run changes nothing.
	run()
	if got := serverMessages("INBOX"); len(got) != 3 {
		t.Fatalf("third sync changed the server: %v", got)
	}
}
