package metrics

import (
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
	m.BacklogFunc(func() (int, time.Duration, error) { return 7, 2 * time.Second, nil })

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
