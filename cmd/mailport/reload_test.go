package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailport/internal/config"
)

// ehloSize opens a new SMTP session and returns the SIZE it announces.
func ehloSize(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "EHLO client.test\r\n")
	size := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line[4:]), "SIZE "); ok {
			size = v
		}
		if line[3] == ' ' {
			return size
		}
	}
}

// TestReloadOnSIGHUP: an administrator edits mailport.toml and sends
// SIGHUP; new SMTP sessions get the new message size limit at once, and a
// file that does not load leaves the running settings alone.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mailport-demo")
	base := freePortsBase(t)
	_, stop := runDemo(t, dir, base)
	defer stop()
	smtp := fmt.Sprintf("127.0.0.1:%d", base+25)
	before := ehloSize(t, smtp)
	if before == "" || before == "12345678" {
		t.Fatalf("SIZE before the reload: %q", before)
	}
	if _, err := config.Edit(dir, []config.Setting{{Section: "limits", Key: "max_message_bytes", Value: int64(12345678)}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSize(t, smtp, "12345678")

	// A broken file is refused with a log line; mailport keeps running
	// and a later good file applies.
	good, err := os.ReadFile(filepath.Join(dir, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte("[limits\nmax_message_bytes = x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if got := ehloSize(t, smtp); got != "12345678" {
		t.Fatalf("SIZE %q after a broken file, want the running 12345678", got)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Edit(dir, []config.Setting{{Section: "limits", Key: "max_message_bytes", Value: int64(7654321)}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSize(t, smtp, "7654321")
}

// waitSize waits until new SMTP sessions announce SIZE want.
func waitSize(t *testing.T, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for ehloSize(t, addr) != want {
		if time.Now().After(deadline) {
			t.Fatalf("SIZE %s not announced after SIGHUP", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
