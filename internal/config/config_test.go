package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := Default("mx.example.test")
	c.PortsBase = 10000
	c.ListenAddress = "127.0.0.1"
	c.DNS.Servers = []string{"127.0.0.1:5353"}
	c.Listeners = map[string]string{"imap": "off", "smtp": "127.0.0.1:0"}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hostname != c.Hostname || got.PortsBase != 10000 || got.DNS.Servers[0] != "127.0.0.1:5353" || got.Queue.SMTPPort != 25 {
		t.Fatalf("round trip: %+v", got)
	}
	if got.ListenAddr("imap") != "" || got.ListenAddr("smtp") != "127.0.0.1:0" {
		t.Fatalf("listener overrides: imap %q smtp %q", got.ListenAddr("imap"), got.ListenAddr("smtp"))
	}
	if got.ListenAddr("pop3") != "127.0.0.1:10110" || got.ListenAddr("submissions") != "127.0.0.1:10465" {
		t.Fatalf("ports base: %q %q", got.ListenAddr("pop3"), got.ListenAddr("submissions"))
	}
	if got.Path("tls/cert.pem") != filepath.Join(got.Dir, "tls/cert.pem") || got.Path("/abs") != "/abs" {
		t.Fatalf("Path: %q", got.Path("tls/cert.pem"))
	}
}

func TestOldFileKeepsNewDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("hostname = \"a.test\"\n[limits]\nmax_connections_per_ip = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxConnsPerIP != 7 || c.Limits.IMAPConnsPerUser != 20 || c.Limits.IMAPConnsPerIP != 50 || c.Limits.MaxMessageBytes != 50<<20 {
		t.Fatalf("limits: %+v", c.Limits)
	}
}

func TestDefaultPorts(t *testing.T) {
	c := Default("mx.example.test")
	want := map[string]string{"smtp": ":25", "submission": ":587", "submissions": ":465", "imap": ":143",
		"imaps": ":993", "pop3": ":110", "pop3s": ":995", "managesieve": ":4190", "http": ":80", "https": ":443"}
	for name, addr := range want {
		if got := c.ListenAddr(name); got != addr {
			t.Errorf("%s: %q, want %q", name, got, addr)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cases := map[string]string{
		"":                                       "mailport init",
		"hostname = \"\"\n":                      "hostname is empty",
		"hostname = \"a.test\"\nbogus = 1\n":     "unknown key",
		"hostname = \"a.test\"\nports_base = -1": "ports_base",
		"hostname = \"a.test\"\n[database]\ndriver = \"oracle\"\n":                                     "not supported",
		"hostname = \"a.test\"\nlisten_address = \"nope\"\n":                                           "listen_address",
		"hostname = \"a.test\"\n[listeners]\nfoo = \"127.0.0.1:1\"\n":                                  "unknown listener",
		"hostname = \"a.test\"\n[listeners]\nsmtp = \"no-port\"\n":                                     "listener smtp",
		"hostname = \"a.test\"\nhostname = \"b.test\"\n":                                               "mailport.toml",
		"hostname = \"a.test\"\n[queue]\nsmarthost = \"relay.test\"\n":                                 "want host:port",
		"hostname = \"a.test\"\n[queue]\nsmarthost = \"relay.test:587\"\nsmarthost_tls = \"maybe\"\n":  "smarthost_tls",
		"hostname = \"a.test\"\n[queue]\nsmarthost = \"relay.test:587\"\nsmarthost_username = \"u\"\n": "go together",
		"hostname = \"a.test\"\n[submission]\nmax_recipients = -1\n":                                   "submission.max_recipients",
		"hostname = \"a.test\"\n[queue]\nsource_address = \"x\"\n":                                     "source_address",
		"hostname = \"a.test\"\n[queue]\ndelay_warning = \"soon\"\n":                                   "queue.delay_warning",
		"hostname = \"a.test\"\n[queue]\ndelay_warning = \"-1h\"\n":                                    "queue.delay_warning",
		"hostname = \"mail_server.test\"\n":                                                            "config: hostname: invalid value",
		"hostname = \"localhost\"\n":                                                                   "config: hostname: invalid value",
		"hostname = \"xn--a.test\"\n":                                                                  "config: hostname: invalid value",
	}
	for content, want := range cases {
		dir := t.TempDir()
		if content != "" {
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want error containing %q", content, err, want)
		}
	}
}

// TestLoadNormalizesHostname: a hostname written by hand in U-labels or
// upper case is used in canonical form (lower case, A-labels), as init
// writes it; one that is no host name is an error naming the key.
func TestLoadNormalizesHostname(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("hostname = \"Mail.Bücher.example.\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil || c.Hostname != "mail.xn--bcher-kva.example" {
		t.Fatalf("Load = %q, %v; want mail.xn--bcher-kva.example", c.Hostname, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("hostname = \"mail..example\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ke *KeyError
	if _, err := Load(dir); !errors.As(err, &ke) || ke.Key != "hostname" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load with a bad hostname = %v; want a KeyError for hostname", err)
	}
}

func TestSubmissionLimits(t *testing.T) {
	cases := []struct {
		name            string
		file            string
		perHour, maxRcp int
	}{
		{"defaults", "hostname = \"a.test\"\n", 500, 100},
		{"both set", "hostname = \"a.test\"\n[submission]\nmax_messages_per_hour = 20\nmax_recipients = 5\n", 20, 5},
		{"one set", "hostname = \"a.test\"\n[submission]\nmax_recipients = 7\n", 500, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Submission.MaxMessagesPerHour != tc.perHour || c.Submission.MaxRecipients != tc.maxRcp {
				t.Errorf("got %+v, want %d per hour and %d recipients", c.Submission, tc.perHour, tc.maxRcp)
			}
		})
	}
}

func TestDelayWarning(t *testing.T) {
	cases := []struct {
		name string
		file string
		want time.Duration
	}{
		{"default", "hostname = \"a.test\"\n", 4 * time.Hour},
		{"set", "hostname = \"a.test\"\n[queue]\ndelay_warning = \"90m\"\n", 90 * time.Minute},
		{"off", "hostname = \"a.test\"\n[queue]\ndelay_warning = \"0\"\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := c.Queue.DelayWarningDuration(); err != nil || d != tc.want {
				t.Errorf("delay warning %v, %v; want %v", d, err, tc.want)
			}
		})
	}
}
