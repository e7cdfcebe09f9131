package server

import (
	"os"
	"path/filepath"
	"testing"

	"mailport/internal/config"
	"mailport/internal/queue"
)

func TestSmarthost(t *testing.T) {
	if sh, err := smarthost(config.Queue{}); sh != nil || err != nil {
		t.Fatalf("no smarthost: %v, %v", sh, err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sh, err := smarthost(config.Queue{Smarthost: "relay.example.net:587", SmarthostUsername: "me", SmarthostPasswordFile: pw})
	if err != nil {
		t.Fatal(err)
	}
	want := queue.Smarthost{Host: "relay.example.net", Port: 587, Username: "me", Password: "s3cret", TLS: queue.TLSStartTLS}
	if *sh != want {
		t.Fatalf("smarthost = %+v, want %+v", *sh, want)
	}
	for _, bad := range []config.Queue{
		{Smarthost: "relay.example.net"},
		{Smarthost: "relay.example.net:0"},
		{Smarthost: "relay.example.net:25", SmarthostUsername: "me", SmarthostPasswordFile: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := smarthost(bad); err == nil {
			t.Errorf("smarthost(%+v) accepted", bad)
		}
	}
}
