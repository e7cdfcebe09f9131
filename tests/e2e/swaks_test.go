package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailport/internal/config"
)

// swaksMaxMessage is the message size limit of the swaks test server:
// small, so the oversize case needs no large transfer.
const swaksMaxMessage = 64 << 10

// TestSwaks drives the MX listener of a whole in-process server with swaks,
// an SMTP client independent of ours: a delivery ends in the mailbox (read
// back over POP3), and every refusal carries its RFC 3463 enhanced code.
func TestSwaks(t *testing.T) {
	swaks := requirePeer(t, "swaks", "swaks")
	mailboxes := []string{"swlocal", "swplus", "swtls", "swbarelf", "swbarecr", "swsmuggle", "swsmuggled", "swbig"}
	ts := startServer(t, func(c *config.Config) { c.Limits.MaxMessageBytes = swaksMaxMessage }, mailboxes...)
	host, port := hostPort(t, ts.addr(t, "smtp"))
	pop3 := ts.addr(t, "pop3")
	dir := t.TempDir()
	dataFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return "@" + p
	}
	raw := func(to, subject, body string) string {
		// With --no-data-fixup swaks sends the file byte for byte and
		// then one CRLF, which completes the final "." line (checked
		// against a byte-capturing server when this test was written:
		// swaks 20201014 keeps bare LF and bare CR as they are).
		return "From: <sender@remote.test>\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n."
	}

	tests := []struct {
		name string
		args []string
		// exit is swaks's exit status: 0 sent, 24 no recipient accepted,
		// 26 refused after the data (swaks(1) EXIT CODES).
		exit int
		// reply is a server reply the transcript must show ("<** " marks
		// an error reply, "<~ " a reply inside TLS).
		reply string
		// mailbox and inbox: the local part to read over POP3 and the
		// subjects it must then hold (none for a refusal).
		mailbox string
		inbox   []string
	}{
		{
			name:    "local delivery",
			args:    []string{"--to", "swlocal@example.test", "--header", "Subject: swaks local delivery", "--body", "Hello from swaks."},
			reply:   "<-  250 ",
			mailbox: "swlocal", inbox: []string{"Subject: swaks local delivery"},
		},
		{
			name:    "plus address in other case",
			args:    []string{"--to", "SWPlus+Tag@Example.TEST", "--header", "Subject: swaks plus address"},
			reply:   "<-  250 ",
			mailbox: "swplus", inbox: []string{"Subject: swaks plus address"},
		},
		{
			name:  "unknown user",
			args:  []string{"--to", "nobody@example.test"},
			exit:  24,
			reply: "<** 550 5.1.1",
		},
		{
			name:  "relay to another domain",
			args:  []string{"--to", "victim@other.test"},
			exit:  24,
			reply: "<** 554 5.7.1",
		},
		{
			name:  "percent hack",
			args:  []string{"--to", "victim%other.test@example.test"},
			exit:  24,
			reply: "<** 554 5.7.1",
		},
		{
			name:  "quoted local part with @",
			args:  []string{"--to", `"victim@other.test"@example.test`},
			exit:  24,
			reply: "<** 554 5.7.1",
		},
		{
			name:  "source route through us",
			args:  []string{"--to", "@example.test:victim@other.test"},
			exit:  24,
			reply: "<** 554 5.7.1",
		},
		{
			name:    "STARTTLS",
			args:    []string{"--tls", "--to", "swtls@example.test", "--header", "Subject: swaks over TLS"},
			reply:   "<~  250 ",
			mailbox: "swtls", inbox: []string{"Subject: swaks over TLS"},
		},
		{
			name: "bare LF in data",
			args: []string{"--to", "swbarelf@example.test", "--no-data-fixup",
				"--data", dataFile("barelf.eml", raw("swbarelf@example.test", "bare LF", "line one\nline two"))},
			exit:    26,
			reply:   "<** 5",
			mailbox: "swbarelf",
		},
		{
			name: "bare CR in data",
			args: []string{"--to", "swbarecr@example.test", "--no-data-fixup",
				"--data", dataFile("barecr.eml", raw("swbarecr@example.test", "bare CR", "line one\rline two"))},
			exit:    26,
			reply:   "<** 5",
			mailbox: "swbarecr",
		},
		{
			// SMTP smuggling: a second message hidden behind an end of
			// data made of bare LFs must not be delivered, and neither
			// may the outer one.
			name: "smuggled message behind LF.LF",
			args: []string{"--to", "swsmuggle@example.test", "--no-data-fixup",
				"--data", dataFile("smuggle.eml", raw("swsmuggle@example.test", "outer",
					"outer body\n.\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<swsmuggled@example.test>\r\nDATA\r\n"+
						"Subject: smuggled\r\n\r\nsmuggled body"))},
			exit:    26,
			reply:   "<** 5",
			mailbox: "swsmuggled",
		},
		{
			name: "oversize message",
			args: []string{"--to", "swbig@example.test", "--header", "Subject: too big",
				"--body", dataFile("big.txt", strings.Repeat(strings.Repeat("x", 76)+"\r\n", 2*swaksMaxMessage/78))},
			exit:    26,
			reply:   "<** 552 5.3.4",
			mailbox: "swbig",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--server", host, "--port", port, "--helo", "client.e2e.test",
				"--from", "sender@remote.test", "--timeout", "30"}, tc.args...)
			out, err := exec.Command(swaks, args...).CombinedOutput()
			exit := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("run swaks: %v", err)
			}
			if exit != tc.exit {
				t.Errorf("swaks exit status %d, want %d", exit, tc.exit)
			}
			if !strings.Contains(string(out), tc.reply) {
				t.Errorf("transcript lacks %q", tc.reply)
			}
			if t.Failed() {
				t.Logf("swaks %q:\n%s", args, out)
			}
			if tc.mailbox == "" {
				return
			}
			msgs := pop3Messages(t, pop3, tc.mailbox+"@"+testDomain, userPassword)
			if len(msgs) != len(tc.inbox) {
				t.Fatalf("mailbox %s holds %d messages, want %d", tc.mailbox, len(msgs), len(tc.inbox))
			}
			for i, want := range tc.inbox {
				for _, w := range []string{want, "Return-Path: <sender@remote.test>", "Received: "} {
					if !strings.Contains(msgs[i], w) {
						t.Errorf("message %d lacks %q:\n%s", i+1, w, msgs[i])
					}
				}
			}
		})
	}
	// The refused transactions left nothing anywhere.
	for _, mb := range []string{"swbarelf", "swbarecr", "swsmuggle", "swsmuggled", "swbig"} {
		if msgs := pop3Messages(t, pop3, mb+"@"+testDomain, userPassword); len(msgs) != 0 {
			t.Errorf("mailbox %s holds %d messages after refused deliveries, want 0", mb, len(msgs))
		}
	}
}
