package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// maildirFlags maps Maildir info letters to IMAP system flags (the
// Maildir convention, https://cr.yp.to/proto/maildir.html); mbsync 1.4
// syncs system flags only, not keywords.
var maildirFlags = map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}

// mbsyncRun is one mbsync setup: a config syncing every folder of a
// mailport account (far, IMAP over loopback) with a Maildir tree (near).
type mbsyncRun struct {
	bin, config, home string
	inbox, root       string // Maildir of INBOX; root of the other folders
}

func newMbsync(t *testing.T, bin, imapAddr, user string) *mbsyncRun {
	t.Helper()
	dir := t.TempDir()
	host, port := hostPort(t, imapAddr)
	m := &mbsyncRun{bin: bin, home: dir, config: filepath.Join(dir, "mbsyncrc"),
		inbox: filepath.Join(dir, "inbox"), root: filepath.Join(dir, "mail")}
	// SSLType None: loopback, where mailport allows plaintext LOGIN
	// (AuthMechs LOGIN tells mbsync it may send it unencrypted).
	// Create/Expunge/Sync all both ways: a full two-way sync. mbsync uses
	// COMPRESS=DEFLATE when offered (see TestIMAPCompressNoEmptyFlush).
	rc := fmt.Sprintf(`IMAPAccount mailport
Host %s
Port %s
User %s
Pass %s
SSLType None
AuthMechs LOGIN
Timeout 60

IMAPStore far
Account mailport

MaildirStore near
Path %s/
Inbox %s
SubFolders Verbatim

Channel all
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
Sync All
SyncState *
`, host, port, user, userPassword, m.root, m.inbox)
	if err := os.MkdirAll(m.root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.config, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

// sync runs mbsync on every channel and fails the test when it does.
func (m *mbsyncRun) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), imapDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.bin, "-c", m.config, "-a")
	cmd.Env = append(os.Environ(), "HOME="+m.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync -a: %v\n%s", err, out)
	}
	t.Logf("mbsync -a:\n%s", out)
}

// maildir returns the Maildir directory of an IMAP folder.
func (m *mbsyncRun) maildir(folder string) string {
	if folder == "INBOX" {
		return m.inbox
	}
	return filepath.Join(m.root, filepath.FromSlash(folder))
}

// maildirMessage is one message file of a Maildir.
type maildirMessage struct {
	Path  string
	Body  []byte // CRLF line ends, as IMAP has them
	Flags []string
}

// readMaildir reads every message of a Maildir's new/ and cur/.
func readMaildir(t *testing.T, dir string) []maildirMessage {
	t.Helper()
	var out []maildirMessage
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("read Maildir %s: %v", dir, err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, sub, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var flags []string
			if _, info, ok := strings.Cut(e.Name(), ":2,"); ok {
				for i := 0; i < len(info); i++ {
					if f, ok := maildirFlags[info[i]]; ok {
						flags = append(flags, f)
					}
				}
			}
			sort.Strings(flags)
			out = append(out, maildirMessage{Path: p, Body: withoutTUID(toCRLF(b)), Flags: flags})
		}
	}
	return out
}

// withoutTUID removes the "X-TUID:" field mbsync adds as the last header
// field of messages it stores (its own marker for finding a message again
// in a store that cannot report new UIDs; 1.4 adds it even with UIDPLUS's
// APPENDUID); the rest is the message.
func withoutTUID(msg []byte) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return msg
	}
	start := bytes.LastIndex(msg[:end], []byte("\r\n")) + 2
	if !bytes.HasPrefix(msg[start:], []byte("X-TUID: ")) {
		return msg
	}
	return append(msg[:start:start], msg[end+2:]...)
}

// systemFlags keeps the flags mbsync syncs.
func systemFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		for _, sf := range maildirFlags {
			if f == sf {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

// compareFolder requires a server folder and its Maildir to hold the same
// messages, byte for byte, with the same flags.
func compareFolder(t *testing.T, c *imapclient.Client, m *mbsyncRun, folder string) []serverMessage {
	t.Helper()
	server := mailboxContents(t, c, folder)
	for i := range server {
		// mbsync marks what it APPENDs the same way.
		server[i].Body = withoutTUID(server[i].Body)
	}
	local := readMaildir(t, m.maildir(folder))
	if len(server) != len(local) {
		t.Errorf("%s: %d messages on the server, %d in the Maildir", folder, len(server), len(local))
	}
	sort.Slice(local, func(i, j int) bool { return bytes.Compare(local[i].Body, local[j].Body) < 0 })
	matched := make([]bool, len(local))
	for _, s := range server {
		i := sort.Search(len(local), func(i int) bool { return bytes.Compare(local[i].Body, s.Body) >= 0 })
		for i < len(local) && matched[i] {
			i++
		}
		if i >= len(local) || !bytes.Equal(local[i].Body, s.Body) {
			t.Errorf("%s: server UID %d (%d bytes, %q) has no identical Maildir message%s", folder, s.UID, len(s.Body), headerValue(s.Body, "Subject"), describeDiff(s.Body, local))
			continue
		}
		matched[i] = true
		if want := systemFlags(s.Flags); !slices.Equal(local[i].Flags, want) {
			t.Errorf("%s: UID %d has flags %v on the server, %v in the Maildir (%s)", folder, s.UID, want, local[i].Flags, filepath.Base(local[i].Path))
		}
	}
	return server
}

// describeDiff explains how the Maildir copy with the same Message-ID
// differs from a server message.
func describeDiff(server []byte, local []maildirMessage) string {
	id := headerValue(server, "Message-ID")
	for _, l := range local {
		if id == "" || headerValue(l.Body, "Message-ID") != id {
			continue
		}
		i := 0
		for i < len(server) && i < len(l.Body) && server[i] == l.Body[i] {
			i++
		}
		return fmt.Sprintf("; the Maildir copy %s (%d bytes) differs at offset %d: server %q, Maildir %q",
			filepath.Base(l.Path), len(l.Body), i, server[i:min(i+40, len(server))], l.Body[i:min(i+40, len(l.Body))])
	}
	return "; no Maildir message has its Message-ID"
}

// setMaildirFlags renames a Maildir message to carry exactly flags
// (letters), moving it to cur/ as a mail reader does.
func setMaildirFlags(t *testing.T, msg maildirMessage, letters string) {
	t.Helper()
	base, _, _ := strings.Cut(filepath.Base(msg.Path), ":2,")
	dst := filepath.Join(filepath.Dir(filepath.Dir(msg.Path)), "cur", base+":2,"+letters)
	if err := os.Rename(msg.Path, dst); err != nil {
		t.Fatal(err)
	}
}

// findMaildir returns the Maildir message whose body contains s.
func findMaildir(t *testing.T, msgs []maildirMessage, s string) maildirMessage {
	t.Helper()
	for _, m := range msgs {
		if bytes.Contains(m.Body, []byte(s)) {
			return m
		}
	}
	t.Fatalf("no Maildir message contains %q", s)
	return maildirMessage{}
}

// writeMaildir adds a new message (LF line ends, as a local program
// writes it) to a Maildir, creating the Maildir when needed.
func writeMaildir(t *testing.T, dir, name, content string) {
	t.Helper()
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(content, "\r\n", "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// TestIMAPMbsyncTwoWay is a full two-way sync with isync's mbsync, a real
// mail client: real corpus messages go from the server to a Maildir, flag
// changes, deletions, new messages and a new folder go from the Maildir to
// the server, then server-side changes go back. After each sync every
// folder is compared message by message, byte for byte, flags included.
func TestIMAPMbsyncTwoWay(t *testing.T) {
	t.Parallel()
	bin := requirePeer(t, "mbsync", "isync")
	ts := startServer(t, nil, "sync")
	user := "sync@" + testDomain
	smtpAddr := ts.addr(t, "smtp")
	corpus := loadIMAPCorpus(t)
	for _, m := range corpus {
		if err := smtpSend(smtpAddr, "sender@remote.test", user, m.Data); err != nil {
			t.Fatalf("deliver %s: %v", m.Name, err)
		}
	}
	c := imapLogin(t, ts.addr(t, "imap"), user, nil)

	// Server-side state before the first sync: flags, a move, a nested
	// folder with a copy.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	storeFlags(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen)
	storeFlags(t, c, imap.UIDSetNum(3), imap.StoreFlagsAdd, imap.FlagFlagged, imap.FlagAnswered, "$Keyword")
	storeFlags(t, c, imap.UIDSetNum(5), imap.StoreFlagsAdd, imap.FlagDraft)
	if err := c.Create("Lists/Old", nil).Wait(); err != nil {
		t.Fatalf("CREATE Lists/Old: %v", err)
	}
	if _, err := c.Copy(imap.UIDSetNum(7), "Lists/Old").Wait(); err != nil {
		t.Fatalf("UID COPY 7 Lists/Old: %v", err)
	}
	if _, err := c.Move(imap.UIDSetNum(8, 9), "Archive").Wait(); err != nil {
		t.Fatalf("UID MOVE 8:9 Archive: %v", err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	folders := []string{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash", "Lists/Old"}

	ms := newMbsync(t, bin, ts.addr(t, "imap"), user)

	// 1. Server to Maildir.
	ms.sync(t)
	for _, f := range folders {
		compareFolder(t, c, ms, f)
	}
	inbox := readMaildir(t, ms.inbox)
	if len(inbox) != len(corpus)-2 {
		t.Fatalf("first sync: %d messages in the INBOX Maildir, want %d", len(inbox), len(corpus)-2)
	}
	if t.Failed() {
		t.FailNow()
	}

	// 2. Maildir to server: flags, a deleted file, a trashed message, a new
	// message and a new folder.
	flagged := findMaildir(t, inbox, headerValue(corpus[1].Data, "Message-ID"))
	setMaildirFlags(t, flagged, "FS")
	deleted := findMaildir(t, inbox, headerValue(corpus[10].Data, "Message-ID"))
	if err := os.Remove(deleted.Path); err != nil {
		t.Fatal(err)
	}
	trashed := findMaildir(t, inbox, headerValue(corpus[11].Data, "Message-ID"))
	setMaildirFlags(t, trashed, "ST")
	unseen := findMaildir(t, inbox, headerValue(corpus[0].Data, "Message-ID"))
	setMaildirFlags(t, unseen, "") // \Seen removed locally
	newLocal := testMessage("me@example.test", user, "written into the Maildir", "A message from the near side.")
	writeMaildir(t, ms.inbox, "1764064800.M1P1.e2e", newLocal)
	projects := testMessage("me@example.test", user, "first of Projects", "A message in a folder made locally.")
	writeMaildir(t, ms.maildir("Projects"), "1764064801.M2P1.e2e", projects)

	ms.sync(t)
	folders = append(folders, "Projects")
	var serverInbox []serverMessage
	for _, f := range folders {
		got := compareFolder(t, c, ms, f) // X-TUID removed
		if f == "INBOX" {
			serverInbox = got
		}
	}
	// The changes themselves, on the server.
	wantInbox := len(corpus) - 2 - 2 + 1
	if len(serverInbox) != wantInbox {
		t.Errorf("INBOX on the server has %d messages after the Maildir changes, want %d", len(serverInbox), wantInbox)
	}
	byMessageID := func(msgs []serverMessage, id string) *serverMessage {
		for i := range msgs {
			if bytes.Contains(msgs[i].Body, []byte(id)) {
				return &msgs[i]
			}
		}
		return nil
	}
	if m := byMessageID(serverInbox, headerValue(corpus[1].Data, "Message-ID")); m == nil || !slices.Equal(m.Flags, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("message flagged in the Maildir: %+v on the server, want \\Flagged \\Seen", flagsOf(m))
	}
	if m := byMessageID(serverInbox, headerValue(corpus[0].Data, "Message-ID")); m == nil || len(m.Flags) != 0 {
		t.Errorf("message unflagged in the Maildir: %v on the server, want no flags", flagsOf(m))
	}
	for _, gone := range []int{10, 11} {
		if m := byMessageID(serverInbox, headerValue(corpus[gone].Data, "Message-ID")); m != nil {
			t.Errorf("%s was deleted in the Maildir but the server still has UID %d %v", corpus[gone].Name, m.UID, m.Flags)
		}
	}
	if m := byMessageID(serverInbox, "<written-into-the-Maildir@e2e.test>"); m == nil || !bytes.Equal(withoutTUID(m.Body), []byte(newLocal)) {
		t.Errorf("the message written into the Maildir is not on the server byte for byte: %+v", m)
	} else if m.UID <= imap.UID(len(corpus)) {
		t.Errorf("the appended message got UID %d, not above the delivered ones", m.UID)
	}
	if got := mailboxContents(t, c, "Projects"); len(got) != 1 || !bytes.Equal(withoutTUID(got[0].Body), []byte(projects)) {
		t.Errorf("Projects on the server = %d messages, want the one written locally", len(got))
	}
	if t.Failed() {
		t.FailNow()
	}

	// 3. Server to Maildir again: flags, an expunge, an APPEND, a delivery
	// and a move.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	storeFlags(t, c, imap.UIDSetNum(2), imap.StoreFlagsDel, imap.FlagFlagged)
	storeFlags(t, c, imap.UIDSetNum(4), imap.StoreFlagsAdd, imap.FlagAnswered, imap.FlagSeen)
	storeFlags(t, c, imap.UIDSetNum(6), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.UIDExpunge(imap.UIDSetNum(6)).Close(); err != nil {
		t.Fatalf("UID EXPUNGE 6: %v", err)
	}
	if _, err := c.Move(imap.UIDSetNum(13), "Archive").Wait(); err != nil {
		t.Fatalf("UID MOVE 13 Archive: %v", err)
	}
	appended := []byte(testMessage("me@example.test", user, "appended on the server", "Appended over IMAP."))
	app := c.Append("Lists/Old", int64(len(appended)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	if _, err := app.Write(appended); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatalf("APPEND Lists/Old: %v", err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := smtpSend(smtpAddr, "sender@remote.test", user, []byte(testMessage("sender@remote.test", user, "late delivery", "Delivered between syncs."))); err != nil {
		t.Fatal(err)
	}

	ms.sync(t)
	for _, f := range folders {
		compareFolder(t, c, ms, f)
	}
	if n := len(readMaildir(t, ms.maildir("Lists/Old"))); n != 2 {
		t.Errorf("Lists/Old Maildir has %d messages, want 2", n)
	}
	if n := len(readMaildir(t, ms.maildir("Archive"))); n != 3 {
		t.Errorf("Archive Maildir has %d messages, want 3", n)
	}

	// 4. A sync without changes changes nothing.
	before := readMaildir(t, ms.inbox)
	ms.sync(t)
	after := readMaildir(t, ms.inbox)
	if len(before) != len(after) {
		t.Errorf("an idle sync changed the INBOX Maildir from %d to %d messages", len(before), len(after))
	}
	compareFolder(t, c, ms, "INBOX")
}

func flagsOf(m *serverMessage) any {
	if m == nil {
		return "<missing>"
	}
	return m.Flags
}

// storeFlags runs UID STORE (or STORE for a sequence set) silently.
func storeFlags(t *testing.T, c *imapclient.Client, set imap.NumSet, op imap.StoreFlagsOp, flags ...imap.Flag) {
	t.Helper()
	if err := c.Store(set, &imap.StoreFlags{Op: op, Flags: flags, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("STORE %v %v %v: %v", set, op, flags, err)
	}
}
