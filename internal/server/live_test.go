package server

import (
	"net/smtp"
	"strings"
	"testing"
)

// TestApplyLimits: a new SMTP session announces the SIZE Apply set, and
// the queue's next attempt uses the smarthost Apply set.
func TestApplyLimits(t *testing.T) {
	s := startTestServer(t, nil)
	cfg := s.Running()
	cfg.Limits.MaxMessageBytes = 12345678
	cfg.Queue.Smarthost = "relay.example.net:2525"
	run, err := s.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if run.Limits.MaxMessageBytes != 12345678 || run.Queue.Smarthost != cfg.Queue.Smarthost {
		t.Fatalf("running = %+v %+v", run.Limits, run.Queue)
	}
	c, err := smtp.Dial(s.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, size := c.Extension("SIZE"); !ok || strings.TrimSpace(size) != "12345678" {
		t.Fatalf("SIZE = %v %q, want 12345678", ok, size)
	}
	sh := s.Queue().Routing().Smarthost
	if sh == nil || sh.Host != "relay.example.net" || sh.Port != 2525 {
		t.Fatalf("queue smarthost = %+v", sh)
	}
	// Keys not live stay as started.
	cfg.Limits.IMAPConnsPerIP = 7
	if run, _ := s.Apply(cfg); run.Limits.IMAPConnsPerIP == 7 {
		t.Fatal("imap_max_connections_per_ip applied live")
	}
}
