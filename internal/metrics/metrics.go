// Package metrics holds mailport's Prometheus metrics, served at /metrics
// on the HTTP port. One package so every server counts the same way.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is one registry with the counters the servers update.
type Metrics struct {
	Registry *prometheus.Registry

	// Connections counts accepted connections by protocol (smtp, submission, pop3, imap, ...).
	Connections *prometheus.CounterVec
	// ActiveConnections is the number of open connections by protocol.
	ActiveConnections *prometheus.GaugeVec
	// MessagesAccepted counts messages accepted by protocol listener.
	MessagesAccepted *prometheus.CounterVec
	// MessagesRejected counts refused messages and recipients by reason
	// (relay_denied, unknown_recipient, over_quota, too_large, bare_lf, ...).
	MessagesRejected *prometheus.CounterVec
	// DeliveryLatency is the time from end of DATA to durable storage.
	DeliveryLatency prometheus.Histogram
	// AuthFailures counts failed logins by protocol.
	AuthFailures *prometheus.CounterVec
}

// New returns a fresh registry with Go and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_connections_total", Help: "Connections accepted, by protocol.",
		}, []string{"protocol"}),
		ActiveConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mailport_connections_active", Help: "Open connections, by protocol.",
		}, []string{"protocol"}),
		MessagesAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_messages_accepted_total", Help: "Messages accepted, by protocol.",
		}, []string{"protocol"}),
		MessagesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_messages_rejected_total", Help: "Messages or recipients refused, by reason.",
		}, []string{"reason"}),
		DeliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mailport_delivery_latency_seconds",
			Help:    "Time from the end of DATA until the message is durably stored.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailport_auth_failures_total", Help: "Failed authentications, by protocol.",
		}, []string{"protocol"}),
	}
	r.MustRegister(m.Connections, m.ActiveConnections, m.MessagesAccepted, m.MessagesRejected,
		m.DeliveryLatency, m.AuthFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
