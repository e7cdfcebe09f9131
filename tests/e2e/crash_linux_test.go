package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/config"
	"mailport/internal/server"
)

const (
	crashRounds  = 5
	crashClients = 8
	// crashMinAcks is how many 250s a round waits for before it picks
	// its random moment to kill: a kill before any load proves nothing.
	crashMinAcks = 30
	crashUser    = "crash@" + testDomain
)

// TestCrashSIGKILL is acceptance point 4: the built binary runs as a child
// process under SMTP load from several clients and is killed with SIGKILL
// at a random moment, several times. After every kill the data directory
// is opened the way a restart opens it, and every message that got a 250
// must be there and readable in full, and the database must pass the
// store's integrity check; then the server must start again, show those
// messages over POP3 and accept mail.
func TestCrashSIGKILL(t *testing.T) {
	bin := mailportBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	runCLI(t, "", "init", "--data", dir, "--hostname", "mx.crash.test", "--admin-password-file", writeFile(t, "admin.pw", adminPassword))
	runCLI(t, "", "domain", "add", testDomain, "--data", dir)
	runCLI(t, userPassword, "user", "add", crashUser, "--password-stdin", "--data", dir)

	// Fixed loopback ports (the child is restarted on the same ones); the
	// listeners this test does not use are off.
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = map[string]string{}
	for name := range config.StandardPorts {
		cfg.Listeners[name] = "off"
	}
	smtpAddr, pop3Addr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	cfg.Listeners["smtp"], cfg.Listeners["pop3"] = smtpAddr, pop3Addr
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}

	acked := &ackSet{ids: map[string]bool{}}
	for round := 1; round <= crashRounds; round++ {
		child := startChild(t, bin, dir, smtpAddr, round)
		if round > 1 {
			// What the last kill left is served after the restart.
			if n := pop3Count(t, pop3Addr); n < acked.len() {
				t.Fatalf("round %d: POP3 shows %d messages after restart, %d got a 250", round, n, acked.len())
			}
		}
		before := acked.len()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for client := range crashClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sendUntilStopped(smtpAddr, fmt.Sprintf("r%d-c%d", round, client), stop, acked)
			}()
		}
		deadline := time.Now().Add(30 * time.Second)
		for acked.len()-before < crashMinAcks {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				child.kill()
				t.Fatalf("round %d: only %d messages accepted in 30s; server log:\n%s", round, acked.len()-before, child.logText())
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		child.kill()
		close(stop)
		wg.Wait()
		t.Logf("round %d: killed with SIGKILL after %d acknowledged messages (%d in all)", round, acked.len()-before, acked.len())
		verifyStored(t, cfg, acked.snapshot())
	}

	// The server comes back once more, accepts mail and stops cleanly.
	child := startChild(t, bin, dir, smtpAddr, crashRounds+1)
	const last = "final"
	if err := sendOne(smtpAddr, last); err != nil {
		t.Fatalf("delivery after the last restart: %v; log:\n%s", err, child.logText())
	}
	acked.add(last)
	if n := pop3Count(t, pop3Addr); n < acked.len() {
		t.Fatalf("POP3 shows %d messages, %d got a 250", n, acked.len())
	}
	if err := child.terminate(); err != nil {
		t.Fatalf("graceful stop: %v; log:\n%s", err, child.logText())
	}
	verifyStored(t, cfg, acked.snapshot())
}

// ackSet holds the ids of the messages that got a 250.
type ackSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *ackSet) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids[id] = true
}

func (a *ackSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func (a *ackSet) snapshot() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]bool, len(a.ids))
	for k := range a.ids {
		m[k] = true
	}
	return m
}

// crashMessage is the message with id: the id is its Subject and
// Message-ID, and its body ends with a marker so a truncated copy shows.
func crashMessage(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <load@remote.test>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@crash.test>\r\n\r\n", crashUser, id, id)
	lines := 20 + len(id)%40
	for i := range lines {
		fmt.Fprintf(&b, "%s line %d of a message sent under load before a SIGKILL\r\n", id, i)
	}
	fmt.Fprintf(&b, "end-of-%s\r\n", id)
	return b.String()
}

// sendUntilStopped delivers messages named prefix-N over connections of a
// few messages each until stop is closed, recording those that got a 250.
// Errors are expected (the server is killed under it); it reconnects.
func sendUntilStopped(addr, prefix string, stop <-chan struct{}, acked *ackSet) {
	n := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := dialSMTP(addr)
		if err != nil {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		for range 5 {
			id := fmt.Sprintf("%s-%d", prefix, n)
			n++
			if err := sendOn(c, id); err != nil {
				break
			}
			acked.add(id)
		}
		c.Close()
	}
}

func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = 20 * time.Second
	c.SubmissionTimeout = 20 * time.Second
	if err := c.Hello("load.remote.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// sendOn sends message id in one transaction; nil means the server
// answered 250 to the final dot.
func sendOn(c *smtp.Client, id string) error {
	if err := c.Mail("load@remote.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt(crashUser, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, crashMessage(id)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func sendOne(addr, id string) error {
	c, err := dialSMTP(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := sendOn(c, id); err != nil {
		return err
	}
	return c.Quit()
}

// verifyStored opens the data directory as a restart does (SQLite recovers
// its WAL) and checks the database's integrity and that every acknowledged
// message is in the INBOX with its whole content readable from its blob.
func verifyStored(t *testing.T, cfg config.Config, acked map[string]bool) {
	t.Helper()
	ctx := context.Background()
	core, err := server.OpenCore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open the data directory after the crash: %v", err)
	}
	defer core.Close()
	if err := core.Store.Check(ctx); err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	acct, err := core.Store.GetAccountByAddress(ctx, crashUser)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := core.Store.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := core.Store.ListMessages(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, m := range msgs {
		id, err := readCrashMessage(core, m.BlobID, m.Size)
		if err != nil {
			t.Errorf("message UID %d: %v", m.UID, err)
			continue
		}
		stored[id] = true
	}
	missing := 0
	for id := range acked {
		if !stored[id] {
			if missing < 10 {
				t.Errorf("message %s got a 250 but is not stored", id)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages lost (%d stored)", missing, len(acked), len(msgs))
	}
}

// readCrashMessage reads a stored message in full and returns its id,
// checking the content is the message sent with that id, untruncated.
func readCrashMessage(core *server.Core, blobID string, size int64) (string, error) {
	f, err := core.Blobs.Open(blobID)
	if err != nil {
		return "", fmt.Errorf("open blob %s: %w", blobID, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("read blob %s: %w", blobID, err)
	}
	if int64(len(data)) != size {
		return "", fmt.Errorf("blob %s has %d bytes, the database says %d", blobID, len(data), size)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("parse blob %s: %w", blobID, err)
	}
	id := msg.Header.Get("Subject")
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return "", err
	}
	if want := crashMessage(id); !strings.HasSuffix(want, string(body)) || !strings.HasSuffix(string(body), "end-of-"+id+"\r\n") {
		return "", fmt.Errorf("blob %s: body of %q differs from what was sent", blobID, id)
	}
	return id, nil
}

// child is `mailport serve` running as a child process.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startChild(t *testing.T, bin, dir, smtpAddr string, round int) *child {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("serve-%d.log", round))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data", dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the test binary dies, the server dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start mailport serve: %v", err)
	}
	logFile.Close()
	c := &child{t: t, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(c.kill)

	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", smtpAddr, time.Second)
		if err == nil {
			conn.Close()
			return c
		}
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("mailport serve (start %d) exited: %v; log:\n%s", round, err, c.logText())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailport serve (start %d) does not listen on %s after 20s; log:\n%s", round, smtpAddr, c.logText())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone. Killing a
// process that has already exited is a no-op.
func (c *child) kill() {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Errorf("SIGKILL: %v", err)
	}
	err := <-c.done
	c.done <- err
}

// terminate stops the server with SIGTERM and returns its exit error.
func (c *child) terminate() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(30 * time.Second):
		return errors.New("still running 30s after SIGTERM")
	}
}

func (c *child) logText() string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return err.Error()
	}
	const max = 8000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago (the kernel's choice for port 0).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pop3Count logs in over POP3 and returns STAT's message count.
func pop3Count(t *testing.T, addr string) int {
	t.Helper()
	c := dialLine(t, addr)
	c.popOK("")
	c.popOK("USER " + crashUser)
	c.popOK("PASS " + userPassword)
	stat := c.popOK("STAT")
	var n int
	var size int64
	if _, err := fmt.Sscanf(stat, "+OK %d %d", &n, &size); err != nil {
		t.Fatalf("STAT reply %q: %v", stat, err)
	}
	c.popOK("QUIT")
	return n
}
