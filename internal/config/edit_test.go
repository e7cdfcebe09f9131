package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A line edit keeps the comments, the layout and every other key.
func TestEditKeepsTheFile(t *testing.T) {
	file := `# my server
hostname = "mx.example.test" # the public name
ports_base = 10000

[limits]
# raised for the mailing lists
max_recipients = 100   # per message
  max_line_length = 2000

[queue]
smtp_port = 25

[database]
driver = "sqlite"
dsn = "mailport.db"
`
	dir := writeFile(t, file)
	c, err := Edit(dir, []Setting{
		{"limits", "max_recipients", 500},
		{"limits", "max_line_length", int64(4000)},
		{"limits", "max_connections_per_ip", 7},     // not in the file yet
		{"submission", "max_recipients", 50},        // no such table yet
		{"queue", "smarthost", "relay.example:587"}, // a string
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# my server
hostname = "mx.example.test" # the public name
ports_base = 10000

[limits]
max_connections_per_ip = 7
# raised for the mailing lists
max_recipients = 500
  max_line_length = 4000

[queue]
smarthost = "relay.example:587"
smtp_port = 25

[database]
driver = "sqlite"
dsn = "mailport.db"

[submission]
max_recipients = 50
`
	if got := readFile(t, dir); got != want {
		t.Errorf("file after Edit:\n%s\nwant:\n%s", got, want)
	}
	if c.Limits.MaxRecipients != 500 || c.Limits.MaxLineLength != 4000 || c.Limits.MaxConnsPerIP != 7 ||
		c.Submission.MaxRecipients != 50 || c.Queue.Smarthost != "relay.example:587" || c.PortsBase != 10000 {
		t.Errorf("returned config %+v", c)
	}
	if loaded, err := Load(dir); err != nil || loaded.Limits.MaxRecipients != 500 {
		t.Errorf("Load after Edit: %v %+v", err, loaded.Limits)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}
}

// A layout the line edit cannot follow is written anew with the same
// values.
func TestEditRewritesOtherLayouts(t *testing.T) {
	for name, file := range map[string]string{
		"inline table": "hostname = \"mx.example.test\"\nlimits = { max_recipients = 100, max_line_length = 2000 }\n",
		"dotted keys":  "hostname = \"mx.example.test\"\nlimits.max_recipients = 100\nlimits.max_line_length = 2000\n",
		"quoted key":   "hostname = \"mx.example.test\"\n[limits]\n\"max_recipients\" = 100\nmax_line_length = 2000\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFile(t, file)
			c, err := Edit(dir, []Setting{{"limits", "max_recipients", 300}})
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []Config{c, loaded} {
				if got.Limits.MaxRecipients != 300 || got.Limits.MaxLineLength != 2000 || got.Hostname != "mx.example.test" {
					t.Errorf("limits %+v, hostname %q", got.Limits, got.Hostname)
				}
			}
		})
	}
}

// A value Validate refuses is reported at its key, and the file is left
// as it was.
func TestEditRefusesInvalidValues(t *testing.T) {
	file := "hostname = \"mx.example.test\"\n[queue]\nsmtp_port = 25\n"
	for _, tc := range []struct {
		settings []Setting
		key      string
	}{
		{[]Setting{{"queue", "source_address", "not-an-ip"}}, "queue.source_address"},
		{[]Setting{{"queue", "smarthost", "relay.example"}}, "queue.smarthost"},
		{[]Setting{{"queue", "smarthost", "relay.example:0"}}, "queue.smarthost"},
		{[]Setting{{"queue", "smarthost", "relay.example:587"}, {"queue", "smarthost_tls", "maybe"}}, "queue.smarthost_tls"},
		{[]Setting{{"queue", "smtp_port", 70000}}, "queue.smtp_port"},
		{[]Setting{{"limits", "max_recipients", -1}}, "limits.max_recipients"},
		{[]Setting{{"submission", "max_messages_per_hour", -5}}, "submission.max_messages_per_hour"},
	} {
		dir := writeFile(t, file)
		_, err := Edit(dir, tc.settings)
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key || !errors.Is(err, ErrInvalid) {
			t.Errorf("%v = %v: want a KeyError at %s", tc.settings, err, tc.key)
		}
		if got := readFile(t, dir); got != file {
			t.Errorf("%v: file changed to\n%s", tc.settings, got)
		}
	}
}

func TestEditErrors(t *testing.T) {
	if _, err := Edit(t.TempDir(), []Setting{{"limits", "max_recipients", 1}}); err == nil || !strings.Contains(err.Error(), "mailport init") {
		t.Errorf("no file: %v", err)
	}
	dir := writeFile(t, "hostname = \"\"\n")
	if _, err := Edit(dir, []Setting{{"limits", "max_recipients", 1}}); err == nil || !strings.Contains(err.Error(), "fix it by hand") {
		t.Errorf("invalid file: %v", err)
	}
	dir = writeFile(t, "hostname = \"mx.example.test\"\n")
	if _, err := Edit(dir, []Setting{{"limits", "max_recipients", 1.5}}); err == nil {
		t.Error("a float value was accepted")
	}
}
