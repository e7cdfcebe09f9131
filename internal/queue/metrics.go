package queue

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what the queue does. internal/metrics is shared by every
// server; the queue keeps its own collectors and registers them on the
// registry it is given, so it needs no change there.
type Metrics struct {
	// Queued counts messages accepted by Enqueue.
	Queued prometheus.Counter
	// Recipients counts per-recipient outcomes of delivery attempts:
	// result = delivered, deferred or failed.
	Recipients *prometheus.CounterVec
	// Connections counts SMTP connections to remote hosts by result (ok,
	// error) and tls (yes, no).
	Connections *prometheus.CounterVec
	// Bounces counts DSNs queued (failure and delay notices), and those
	// dropped because the message had a null sender or NOTIFY asked for
	// none (result = sent, dropped).
	Bounces *prometheus.CounterVec
}

// NewMetrics creates the queue's collectors and registers them with reg
// (for mailport, the registry served at /metrics).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Queued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mailport_queue_messages_queued_total", Help: "Messages added to the outbound queue.",
		}),
		Recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_queue_recipient_attempts_total", Help: "Outbound recipient delivery attempts, by result.",
		}, []string{"result"}),
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_queue_connections_total", Help: "SMTP connections to remote hosts, by result and TLS use.",
		}, []string{"result", "tls"}),
		Bounces: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_queue_bounces_total", Help: "Delivery status notifications queued or dropped.",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.Queued, m.Recipients, m.Connections, m.Bounces)
	}
	return m
}

// The helpers below accept a nil *Metrics (metrics are optional).

func (m *Metrics) queued() {
	if m != nil {
		m.Queued.Inc()
	}
}

func (m *Metrics) recipient(result string) {
	if m != nil {
		m.Recipients.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) connection(ok, tls bool) {
	if m == nil {
		return
	}
	r, t := "error", "no"
	if ok {
		r = "ok"
	}
	if tls {
		t = "yes"
	}
	m.Connections.WithLabelValues(r, t).Inc()
}

func (m *Metrics) bounce(result string) {
	if m != nil {
		m.Bounces.WithLabelValues(result).Inc()
	}
}
