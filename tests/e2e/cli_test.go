package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailport/internal/config"
	"mailport/internal/server"
)

// TestCLICreatedUsersReceiveMail sets a data directory up with the built
// binary only (init, domain add, user add, alias add, domain-alias add),
// starts the whole server on it and checks that mail to the mailbox, to
// the alias and to the domain alias lands in the mailbox, read over POP3
// with the password given to the CLI.
func TestCLICreatedUsersReceiveMail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	pwFile := writeFile(t, "admin.pw", adminPassword+"\n")
	const password = "cli-Created-Secret-5173"

	runCLI(t, "", "init", "--data", dir, "--hostname", "mx.cli.test", "--admin-password-file", pwFile)
	runCLI(t, "", "domain", "add", testDomain, "--data", dir)
	runCLI(t, password+"\n", "user", "add", "cliuser@"+testDomain, "--password-stdin", "--data", dir)
	runCLI(t, "", "alias", "add", "team@"+testDomain, "cliuser@"+testDomain, "--data", dir)
	runCLI(t, "", "domain-alias", "add", "alias.test", testDomain, "--data", dir)
	if out := runCLI(t, "", "user", "list", "--data", dir); !strings.Contains(out, "cliuser@"+testDomain) {
		t.Fatalf("user list does not show the new mailbox:\n%s", out)
	}

	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = loopbackListeners()
	logBuf := &syncBuffer{}
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		t.Fatalf("server.Start on the CLI's data directory: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})

	rcpts := []string{"cliuser@" + testDomain, "team@" + testDomain, "cliuser@alias.test"}
	for _, to := range rcpts {
		rawDeliver(t, srv.Addr("smtp"), "sender@remote.test", to, testMessage("sender@remote.test", to, "to "+to, "hello"))
	}
	msgs := pop3Messages(t, srv.Addr("pop3"), "cliuser@"+testDomain, password)
	if len(msgs) != len(rcpts) {
		t.Fatalf("mailbox holds %d messages, want %d", len(msgs), len(rcpts))
	}
	for i, to := range rcpts {
		if !strings.Contains(msgs[i], "Subject: to "+to) {
			t.Errorf("message %d is not the one sent to %s:\n%s", i+1, to, msgs[i])
		}
	}
}
