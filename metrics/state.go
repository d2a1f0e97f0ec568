package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is what aepsflow reads from PostgreSQL at scrape time.
type State struct {
	OutboxPending   int
	OutboxOldest    time.Duration
	NeedsReview     int
	OpenOldest      time.Duration // the oldest transaction not final yet (0: none open)
	Flagged         int
	WebhookBacklog  int           // events neither acknowledged nor set aside
	WebhookOldest   time.Duration // the oldest of them
	WebhookSetAside int           // past WEBHOOK_DEADLINE, waiting for an operator's re-send
	// ReconciliationMismatches of the latest run; nil when none ran.
	ReconciliationMismatches *int
}

// stateCollector reads State once per scrape. A failed read exports aepsflow_state_up 0 and no
// value, so that an alert never reads a stale or made-up number (no -1 sentinels).
type stateCollector struct {
	read func(context.Context) (State, error)
	up   *prometheus.Desc
	defs []stateGauge
	reco *prometheus.Desc
}

type stateGauge struct {
	desc  *prometheus.Desc
	value func(State) float64
}

// StateFunc registers the gauges read from PostgreSQL at scrape time (2 s budget).
func (m *Metrics) StateFunc(read func(context.Context) (State, error)) {
	g := func(name, help string, v func(State) float64) stateGauge {
		return stateGauge{prometheus.NewDesc(name, help, nil, nil), v}
	}
	c := &stateCollector{
		read: read,
		up:   prometheus.NewDesc("aepsflow_state_up", "1 when the gauges read from PostgreSQL could be read at this scrape, else 0 (and they are absent).", nil, nil),
		defs: []stateGauge{
			g("aepsflow_outbox_pending", "Undelivered outbox entries.", func(s State) float64 { return float64(s.OutboxPending) }),
			g("aepsflow_outbox_oldest_seconds", "Age of the oldest undelivered outbox entry (0: none).", func(s State) float64 { return s.OutboxOldest.Seconds() }),
			g("aepsflow_transactions_needs_review", "Transactions in needs_review, waiting for an operator.", func(s State) float64 { return float64(s.NeedsReview) }),
			g("aepsflow_transactions_open_oldest_seconds", "Age of the oldest transaction not in a final state (0: none open).", func(s State) float64 { return s.OpenOldest.Seconds() }),
			g("aepsflow_transactions_flagged", "Transactions flagged for an operator (contradicting or late reports, undeliverable entries, unacknowledged events).", func(s State) float64 { return float64(s.Flagged) }),
			g("aepsflow_webhook_backlog", "Events to the platform not acknowledged yet and still retried.", func(s State) float64 { return float64(s.WebhookBacklog) }),
			g("aepsflow_webhook_oldest_seconds", "Age of the oldest event still retried (0: none).", func(s State) float64 { return s.WebhookOldest.Seconds() }),
			g("aepsflow_webhook_set_aside", "Events past WEBHOOK_DEADLINE, waiting for an operator's re-send.", func(s State) float64 { return float64(s.WebhookSetAside) }),
		},
		reco: prometheus.NewDesc("aepsflow_reconciliation_mismatches",
			"Successful withdrawals that Eko's Inquiry API did not confirm, in the latest reconciliation run (absent until one ran).", nil, nil),
	}
	m.Registry.MustRegister(c)
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.reco
	for _, d := range c.defs {
		ch <- d.desc
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, d := range c.defs {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, d.value(s))
	}
	if s.ReconciliationMismatches != nil {
		ch <- prometheus.MustNewConstMetric(c.reco, prometheus.GaugeValue, float64(*s.ReconciliationMismatches))
	}
}
