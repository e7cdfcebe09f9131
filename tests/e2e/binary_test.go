package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The mailport binary is built once per test run, into a directory that
// TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// mailportBinary builds cmd/mailport (go build) and returns its path.
func mailportBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "mailport-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "mailport")
		out, err := exec.Command("go", "build", "-o", binPath, "mailport/cmd/mailport").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build mailport/cmd/mailport: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runCLI runs `mailport ARGS...` with stdin and requires exit status 0.
func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(mailportBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mailport %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// writeFile writes content to a new file in t.TempDir() and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
