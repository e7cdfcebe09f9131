package api

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailport/internal/config"
	"mailport/internal/store"
)

func (e *env) settings(t *testing.T, r req) (Settings, resp) {
	t.Helper()
	got := e.do(r)
	var st Settings
	if got.status == 200 {
		got.json(t, &st)
	}
	return st, got
}

func TestUpdateSettings(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.dir, config.FileName)
	// A comment someone added by hand survives the edit.
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append([]byte("# keep me\n"), orig...), 0o600); err != nil {
		t.Fatal(err)
	}

	st, r := e.settings(t, req{method: "GET", path: "/api/v1/settings", auth: "admin"})
	if r.status != 200 || len(st.RestartRequired) != 0 || st.Limits.MaxRecipients != 100 {
		t.Fatalf("GET before: %d %s", r.status, r.body)
	}
	before := e.auditCount()
	st, r = e.settings(t, req{method: "PATCH", path: "/api/v1/settings", auth: "admin", body: map[string]any{
		"limits":     map[string]any{"max_recipients": 250, "smtp_timeout_seconds": 120},
		"submission": map[string]any{"max_messages_per_hour": 1000},
		"queue":      map[string]any{"smarthost": "relay.example.net:587", "smarthost_tls": "tls"},
	}})
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	wantRestart := []string{"limits.max_recipients", "limits.smtp_timeout_seconds", "queue.smarthost", "queue.smarthost_tls", "submission.max_messages_per_hour"}
	if st.Limits.MaxRecipients != 250 || st.Limits.SMTPTimeoutSecs != 120 || st.Limits.MaxLineLength != 2000 ||
		st.Submission.MaxMessagesPerHour != 1000 || st.Queue.Smarthost != "relay.example.net:587" || !slices.Equal(st.RestartRequired, wantRestart) {
		t.Errorf("PATCH answer %+v", st)
	}
	if got, _ := e.settings(t, req{method: "GET", path: "/api/v1/settings", auth: "admin"}); !slices.Equal(got.RestartRequired, wantRestart) || got.Limits.MaxRecipients != 250 {
		t.Errorf("GET after PATCH %+v", got)
	}
	saved, err := config.Load(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Limits.MaxRecipients != 250 || saved.Queue.SmarthostTLS != "tls" || saved.Database.DSN != "mailport.db" || saved.TLS.CertFile != "tls/cert.pem" {
		t.Errorf("mailport.toml after PATCH: %+v", saved)
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "# keep me\n") {
		t.Errorf("the file lost its comment:\n%s", b)
	}

	es, err := e.st.ListAudit(context.Background(), store.AuditFilter{AllDomains: true, Limit: 1})
	if err != nil || len(es) != 1 || e.auditCount() != before+1 {
		t.Fatalf("audit: %v %d entries", err, e.auditCount()-before)
	}
	var b4, after ServerSettings
	json.Unmarshal(es[0].Before, &b4)
	json.Unmarshal(es[0].After, &after)
	if es[0].Action != "settings.update" || es[0].Actor != "admin" || es[0].Domain != "" || b4.Limits.MaxRecipients != 100 || after.Limits.MaxRecipients != 250 {
		t.Errorf("audit entry %+v: %s -> %s", es[0], es[0].Before, es[0].After)
	}

	// Back to the running value: no restart needed for it any more.
	st, _ = e.settings(t, req{method: "PATCH", path: "/api/v1/settings", auth: "admin", body: map[string]any{"limits": map[string]any{"max_recipients": 100}}})
	if slices.Contains(st.RestartRequired, "limits.max_recipients") || !slices.Contains(st.RestartRequired, "queue.smarthost") {
		t.Errorf("restart_required after restoring a value: %v", st.RestartRequired)
	}
	// An empty patch changes and records nothing.
	n := e.auditCount()
	if _, r := e.settings(t, req{method: "PATCH", path: "/api/v1/settings", auth: "admin", body: map[string]any{}}); r.status != 200 || e.auditCount() != n {
		t.Errorf("empty PATCH: %d, %d audit entries", r.status, e.auditCount()-n)
	}
}

// Every key PATCH /settings accepts lands at the key of the same name in
// mailport.toml, and GET shows it back.
func TestSettingsKeysMatchTheFile(t *testing.T) {
	e := newEnv(t)
	patch := map[string]any{
		"limits": map[string]any{
			"max_message_bytes": 1001, "max_recipients": 1002, "max_line_length": 1003, "max_connections_per_ip": 1004,
			"imap_max_connections_per_ip": 1005, "imap_max_connections_per_user": 1006, "smtp_timeout_seconds": 1007,
			"pop3_timeout_seconds": 1008, "imap_idle_timeout_minutes": 1009, "shutdown_wait_seconds": 1010,
		},
		"submission": map[string]any{"max_messages_per_hour": 1011, "max_recipients": 1012},
		"queue": map[string]any{"smtp_port": 1013, "source_address": "192.0.2.14", "smarthost": "relay.example:1015", "smarthost_tls": "none",
			"delay_warning": "90m"},
	}
	st, r := e.settings(t, req{method: "PATCH", path: "/api/v1/settings", auth: "admin", body: patch})
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	saved, err := config.Load(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := flatten(SettingsFromConfig(saved))
	if err != nil {
		t.Fatal(err)
	}
	got, err := flatten(st.ServerSettings)
	if err != nil {
		t.Fatal(err)
	}
	asked, err := flatten(patch)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range asked {
		if got[k] != v || want[k] != v {
			t.Errorf("%s: asked %v, answered %v, stored %v", k, v, got[k], want[k])
		}
	}
	if len(st.RestartRequired) != len(asked) {
		t.Errorf("restart_required %v, want the %d keys changed", st.RestartRequired, len(asked))
	}
}

// A refused value is a 422 at its field, and the file is left alone.
func TestUpdateSettingsRefused(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.dir, config.FileName)
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"queue": map[string]any{"source_address": "nope"}}, "body.queue.source_address"},
		{map[string]any{"queue": map[string]any{"smarthost": "relay.example"}}, "body.queue.smarthost"},
		{map[string]any{"queue": map[string]any{"smarthost": "relay.example:99999"}}, "body.queue.smarthost"},
		{map[string]any{"queue": map[string]any{"smarthost_tls": "maybe"}}, "body.queue.smarthost_tls"},
		{map[string]any{"queue": map[string]any{"delay_warning": "soon"}}, "body.queue.delay_warning"},
		{map[string]any{"limits": map[string]any{"max_recipients": -1}}, "body.limits.max_recipients"},
		{map[string]any{"queue": map[string]any{"smtp_port": 0}}, "body.queue.smtp_port"},
		{map[string]any{"queue": map[string]any{"smarthost_password_file": "/etc/shadow"}}, "body.queue.smarthost_password_file"},
		{map[string]any{"database": map[string]any{"dsn": "other.db"}}, "body.database"},
	} {
		n := e.auditCount()
		r := e.do(req{method: "PATCH", path: "/api/v1/settings", auth: "admin", body: tc.body})
		var eb ErrorBody
		json.Unmarshal(r.body, &eb)
		if r.status != 422 || eb.Error.Fields[tc.field] == "" {
			t.Errorf("%v: %d %s, want 422 at %s", tc.body, r.status, r.body, tc.field)
		}
		if e.auditCount() != n {
			t.Errorf("%v: audited", tc.body)
		}
	}
	if now, _ := os.ReadFile(file); string(now) != string(orig) {
		t.Errorf("mailport.toml changed:\n%s", now)
	}
	if st, _ := e.settings(t, req{method: "GET", path: "/api/v1/settings", auth: "admin"}); len(st.RestartRequired) != 0 {
		t.Errorf("restart_required after refused changes: %v", st.RestartRequired)
	}
}
