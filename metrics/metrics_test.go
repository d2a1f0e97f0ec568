package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := New()
	m.Observe("eko", "debit-hook", "allowed", 3*time.Millisecond)
	m.Observe("eko", "", "invalid", time.Millisecond)
	m.Delivered("start", "ok")
	m.Delivered("signal", "error")
	m.Delivered("signal", "undeliverable")
	mismatches := 3
	m.StateFunc(func(context.Context) (State, error) {
		return State{OutboxPending: 7, OutboxOldest: 2 * time.Second, NeedsReview: 4, OpenOldest: 90 * time.Second, Flagged: 2,
			WebhookBacklog: 5, WebhookOldest: 1500 * time.Millisecond, WebhookSetAside: 1, ReconciliationMismatches: &mismatches}, nil
	})
	m.Inquired("ok")
	m.Inquired("signature")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`aepsflow_callbacks_total{action="debit-hook",outcome="allowed",source="eko"} 1`,
		`aepsflow_callbacks_total{action="unknown",outcome="invalid",source="eko"} 1`,
		`aepsflow_outbox_deliveries_total{kind="signal",result="error"} 1`,
		`aepsflow_outbox_deliveries_total{kind="signal",result="undeliverable"} 1`,
		`aepsflow_outbox_pending 7`,
		`aepsflow_outbox_oldest_seconds 2`,
		`aepsflow_state_up 1`,
		`aepsflow_transactions_needs_review 4`,
		`aepsflow_transactions_open_oldest_seconds 90`,
		`aepsflow_transactions_flagged 2`,
		`aepsflow_webhook_backlog 5`,
		`aepsflow_webhook_oldest_seconds 1.5`,
		`aepsflow_webhook_set_aside 1`,
		`aepsflow_reconciliation_mismatches 3`,
		`aepsflow_inquiries_total{result="signature"} 1`,
		`aepsflow_callback_seconds_bucket{action="debit-hook",source="eko",le="0.005"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Observe("eko", "debit-hook", "allowed", time.Millisecond) // must not panic
	m.Delivered("start", "ok")
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestStateUnreadable: when PostgreSQL cannot be read the gauges are absent and aepsflow_state_up
// says 0; no value is made up (no -1 sentinel anywhere). Before any reconciliation ran, its gauge
// is absent too.
func TestStateUnreadable(t *testing.T) {
	m := New()
	fail := true
	m.StateFunc(func(context.Context) (State, error) {
		if fail {
			return State{}, errors.New("connection refused")
		}
		return State{}, nil
	})
	body := scrape(t, m)
	if !strings.Contains(body, "aepsflow_state_up 0") {
		t.Errorf("want aepsflow_state_up 0 in:\n%s", body)
	}
	for _, absent := range []string{"aepsflow_outbox_pending ", "aepsflow_transactions_needs_review ", "aepsflow_reconciliation_mismatches "} {
		if strings.Contains(body, absent) {
			t.Errorf("%s exported although unreadable", absent)
		}
	}
	if strings.Contains(body, " -1\n") {
		t.Errorf("a -1 sentinel in:\n%s", body)
	}
	fail = false
	body = scrape(t, m)
	if !strings.Contains(body, "aepsflow_state_up 1") || !strings.Contains(body, "aepsflow_transactions_needs_review 0") ||
		strings.Contains(body, "aepsflow_reconciliation_mismatches ") {
		t.Errorf("readable, no reconciliation yet:\n%s", body)
	}
}

// TestTemporalHandler: what the Temporal SDK records through the handler is exported on the same
// registry, in Prometheus' naming (timers in seconds, as histograms).
func TestTemporalHandler(t *testing.T) {
	m := New()
	h, closer := m.TemporalHandler()
	h.WithTags(map[string]string{"task_queue": "q"}).Counter("temporal_workflow_task_execution_failed").Inc(2)
	h.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	if err := closer.Close(); err != nil { // flushes the last report
		t.Fatal(err)
	}
	body := scrape(t, m)
	for _, want := range []string{
		`temporal_workflow_task_execution_failed{task_queue="q"} 2`,
		`temporal_activity_execution_latency_bucket{le="2.5"} 1`,
		`temporal_activity_execution_latency_sum 1.5`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}
