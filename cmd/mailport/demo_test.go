package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailport/internal/testutil"
)

// freePortsBase finds a base N where every listener's N+port is free now.
func freePortsBase(t *testing.T) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(30000)
		free := true
		for _, p := range []int{25, 587, 465, 143, 993, 110, 995, 4190, 80, 443} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// runDemo starts `mailport demo` and waits for its banner.
func runDemo(t *testing.T, dir string, base int) (stdout *testutil.SyncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data", dir, "--ports-base", fmt.Sprint(base)}, strings.NewReader(""), stdout, stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "mailport demo is running") {
		select {
		case code := <-done:
			t.Fatalf("demo exited %d early: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo did not start: stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stdout, func() int { cancel(); return <-done }
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mailport-demo")
	base := freePortsBase(t)
	out, stop := runDemo(t, dir, base)
	banner := out.String()
	for _, want := range []string{"smtp", fmt.Sprintf("127.0.0.1:%d", base+25), "pop3", "demo@example.test", "MasterAdmin: login admin"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", base+25))
	if err != nil {
		t.Fatal(err)
	}
	greeting, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || !strings.HasPrefix(greeting, "220 ") {
		t.Fatalf("SMTP greeting %q, %v", greeting, err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("demo exit %d after SIGINT-like cancel", code)
	}
	// The port is free again after a graceful stop.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+25))
	if err != nil {
		t.Fatalf("SMTP port still bound after shutdown: %v", err)
	}
	ln.Close()

	// A second run reuses the directory and its credentials.
	creds, err := os.ReadFile(filepath.Join(dir, demoCredFile))
	if err != nil {
		t.Fatal(err)
	}
	out2, stop2 := runDemo(t, dir, base)
	if !strings.Contains(out2.String(), strings.TrimSpace(string(creds))) {
		t.Errorf("second run shows other credentials:\n%s", out2.String())
	}
	if code := stop2(); code != 0 {
		t.Fatalf("second demo exit %d", code)
	}
}
