package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailport/internal/blob"
)

// TestSIGKILLChild is the process TestSIGKILL kills: it queues messages,
// prints each id once Enqueue has returned, then delivers until killed.
func TestSIGKILLChild(t *testing.T) {
	dir := os.Getenv("QUEUE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestSIGKILL")
	}
	port, _ := strconv.Atoi(os.Getenv("QUEUE_CRASH_PORT"))
	bs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeDNS()
	f.addIP("remote.test", "127.0.0.1")
	q, err := New(Config{Dir: dir, Blobs: bs, Resolver: f, Hostname: "mx.local.test", SMTPPort: port,
		Backoff: func(int) time.Duration { return 0 }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		body := fmt.Sprintf("Message-ID: <crash-%d@local.test>\r\nSubject: crash test\r\n\r\nbody %d\r\n", i, i)
		id, err := q.Enqueue(context.Background(), "alice@local.test", []string{"bob@remote.test"}, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("QUEUED %d %s\n", i, id)
	}
	q.Run(context.Background())
}

// A SIGKILL while messages are queued and one is mid-delivery loses
// nothing: after restart every message is delivered (at least once).
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.dataStarted = make(chan struct{}, 100)
	mx.dataRelease = make(chan struct{})
	mx.ready()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLChild$", "-test.v")
	cmd.Env = append(os.Environ(), "QUEUE_CRASH_DIR="+dir, "QUEUE_CRASH_PORT="+strconv.Itoa(mx.port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	queued := 0
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`^QUEUED \d+ [0-9a-f]+$`)
	for queued < 5 && sc.Scan() {
		if re.MatchString(sc.Text()) {
			queued++
		}
	}
	if queued != 5 {
		t.Fatalf("child queued %d messages", queued)
	}
	// The child is inside a DATA exchange: kill it there.
	select {
	case <-mx.dataStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("child never started a delivery")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(mx.dataRelease)

	e := newEnv(t, mx.port)
	e.cfg.Dir = dir
	e.cfg.Blobs, err = blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e.dns.addIP("remote.test", "127.0.0.1")
	e.cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	q := e.open()
	l, err := q.List(context.Background())
	if err != nil || len(l) == 0 {
		t.Fatalf("after SIGKILL: %d entries, %v", len(l), err)
	}
	e.run(q)
	waitEmpty(t, q)
	seen := map[string]bool{}
	for _, m := range mx.messages() {
		if id := regexp.MustCompile(`crash-\d+`).Find(m.data); id != nil {
			seen[string(id)] = true
		}
	}
	for i := range 5 {
		if !seen[fmt.Sprintf("crash-%d", i)] {
			t.Errorf("message crash-%d lost", i)
		}
	}
}
