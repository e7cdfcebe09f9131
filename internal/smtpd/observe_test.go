package smtpd

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"mailport/internal/delivery"
	"mailport/internal/metrics"
	"mailport/internal/testutil"
)

// value reads a counter or gauge.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestLogsAndMetrics(t *testing.T) {
	w := newWorld(t)
	var logs testutil.SyncBuffer
	cfg := w.config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	cfg.Metrics = m
	cfg.Deliverer = delivery.NewDeliverer(delivery.Config{Hostname: "mx.example.test", Store: w.st, Blobs: w.blobs,
		Committer: w.com, Logger: quiet, Metrics: m})
	s, addr := start(t, cfg, false)

	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<x@remote.test>", 554, "")
	c.cmd("RCPT TO:<nobody@example.test>", 550, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd("bare\nLF\r\n.", 550, "")
	c.cmd("MAIL FROM:<sender@remote.test>", 250, "")
	c.cmd("RCPT TO:<alice@example.test>", 250, "")
	c.cmd("DATA", 354, "")
	c.cmd(msg+".", 250, "")
	c.cmd("QUIT", 221, "")
	waitConns(t, s, 0)

	for reason, want := range map[string]float64{"relay_denied": 1, "unknown_recipient": 1, "bare_lf": 1} {
		if got := value(t, m.MessagesRejected.WithLabelValues(reason)); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
	if got := value(t, m.MessagesAccepted.WithLabelValues("smtp")); got != 1 {
		t.Errorf("accepted = %v", got)
	}
	if got := value(t, m.Connections.WithLabelValues("smtp")); got != 1 {
		t.Errorf("connections = %v", got)
	}
	if got := value(t, m.ActiveConnections.WithLabelValues("smtp")); got != 0 {
		t.Errorf("active connections = %v", got)
	}
	var h dto.Metric
	if err := m.DeliveryLatency.Write(&h); err != nil || h.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("delivery latency observed %d times, want 1 (%v)", h.GetHistogram().GetSampleCount(), err)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 6 {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, "cid=") || !strings.Contains(l, "remote=127.0.0.1") {
			t.Errorf("log line without connection id: %s", l)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.ReadTimeout = 100 * time.Millisecond
	_, addr := start(t, cfg, false)
	c := dialRaw(t, addr)
	c.cmd("EHLO client.test", 250, "")
	// Say nothing: the server gives up with 421 and closes.
	c.expect(421, "4.4.2")
	if !c.closed() {
		t.Error("idle connection left open")
	}
}
