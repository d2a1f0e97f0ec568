// Package metrics defines aepsflow's Prometheus metrics. They live on a registry owned by the
// process (no package-level state), exposed at GET /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every instrument.
type Metrics struct {
	Registry *prometheus.Registry
	// Callbacks counts inbound callbacks by source (eko, partner), action and outcome.
	Callbacks *prometheus.CounterVec
	// CallbackSeconds is the latency of callback handling, by source and action.
	CallbackSeconds *prometheus.HistogramVec
	// OutboxDeliveries counts relay deliveries by kind and result (ok, error).
	OutboxDeliveries *prometheus.CounterVec
	// Refusals counts callbacks refused before they were handled, by source, reason
	// (rate_limit) and whether the request was stored.
	Refusals *prometheus.CounterVec
	// RateLimitClients is the number of client addresses a callback URL's limiter tracks.
	RateLimitClients *prometheus.GaugeVec
	// RetentionDeleted counts rows retention deleted, by table; RetentionFailures its failed runs.
	RetentionDeleted  *prometheus.CounterVec
	RetentionFailures *prometheus.CounterVec
	// RetentionLastSuccess is when retention last completed a run (Unix seconds), and
	// RetentionRunSeconds how long that run took.
	RetentionLastSuccess prometheus.Gauge
	RetentionRunSeconds  prometheus.Gauge
	// Inquiries counts Transaction Inquiry calls by result: ok, or the eko/inquiry error kind
	// (signature is Eko's 403: our key or clock is wrong, and every inquiry will fail).
	Inquiries *prometheus.CounterVec
}

// New builds the metrics on a fresh registry with the Go and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aepsflow_callbacks_total", Help: "Inbound callbacks by source, action and outcome.",
		}, []string{"source", "action", "outcome"}),
		CallbackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aepsflow_callback_seconds", Help: "Time to answer a callback.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source", "action"}),
		OutboxDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aepsflow_outbox_deliveries_total", Help: "Outbox deliveries to Temporal by kind and result.",
		}, []string{"kind", "result"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aepsflow_callbacks_refused_total", Help: "Callbacks refused before handling, by source, reason and whether the request was stored.",
		}, []string{"source", "reason", "stored"}),
		RateLimitClients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aepsflow_rate_limit_clients", Help: "Client addresses tracked by a callback URL's rate limiter.",
		}, []string{"source"}),
		RetentionDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aepsflow_retention_deleted_total", Help: "Rows deleted by retention, by table.",
		}, []string{"table"}),
		RetentionFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aepsflow_retention_failures_total", Help: "Retention runs that stopped on an error, by table.",
		}, []string{"table"}),
		RetentionLastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aepsflow_retention_last_success_timestamp_seconds", Help: "When retention last completed a run (Unix time).",
		}),
		RetentionRunSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aepsflow_retention_last_run_duration_seconds", Help: "How long the last completed retention run took.",
		}),
	}
	m.Inquiries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aepsflow_inquiries_total", Help: "Transaction Inquiry calls to Eko by result (ok, or the error kind: signature is HTTP 403).",
	}, []string{"result"})
	r.MustRegister(m.Inquiries)
	r.MustRegister(m.RetentionDeleted, m.RetentionFailures, m.RetentionLastSuccess, m.RetentionRunSeconds)
	r.MustRegister(m.Callbacks, m.CallbackSeconds, m.OutboxDeliveries, m.Refusals, m.RateLimitClients,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe records one callback's outcome and latency. A nil *Metrics records nothing, so code
// paths (and tests) without metrics need no checks.
func (m *Metrics) Observe(source, action, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if action == "" {
		action = "unknown"
	}
	m.Callbacks.WithLabelValues(source, action, outcome).Inc()
	m.CallbackSeconds.WithLabelValues(source, action).Observe(took.Seconds())
}

// Delivered records one outbox delivery; result is ok, error (retried) or undeliverable (set
// aside, its transaction flagged).
func (m *Metrics) Delivered(kind, result string) {
	if m == nil {
		return
	}
	m.OutboxDeliveries.WithLabelValues(kind, result).Inc()
}

// Refused records one callback refused before handling (reason rate_limit), stored or only
// counted.
func (m *Metrics) Refused(source, reason string, stored bool) {
	if m == nil {
		return
	}
	m.Refusals.WithLabelValues(source, reason, strconv.FormatBool(stored)).Inc()
}

// TrackedClients records how many client addresses a callback URL's limiter tracks.
func (m *Metrics) TrackedClients(source string, n int) {
	if m == nil {
		return
	}
	m.RateLimitClients.WithLabelValues(source).Set(float64(n))
}

// Pruned records n rows deleted from table by retention.
func (m *Metrics) Pruned(table string, n int64) {
	if m == nil {
		return
	}
	m.RetentionDeleted.WithLabelValues(table).Add(float64(n))
}

// PruneFailed records a retention run stopped by an error on table.
func (m *Metrics) PruneFailed(table string) {
	if m == nil {
		return
	}
	m.RetentionFailures.WithLabelValues(table).Inc()
}

// PruneSucceeded records a completed retention run.
func (m *Metrics) PruneSucceeded(at time.Time, took time.Duration) {
	if m == nil {
		return
	}
	m.RetentionLastSuccess.Set(float64(at.Unix()))
	m.RetentionRunSeconds.Set(took.Seconds())
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Inquired records one Transaction Inquiry call's result.
func (m *Metrics) Inquired(result string) {
	if m == nil {
		return
	}
	m.Inquiries.WithLabelValues(result).Inc()
}
