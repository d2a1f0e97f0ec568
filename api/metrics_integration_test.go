package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

func TestMetricsCountCallbacks(t *testing.T) {
	// No relay: otherwise it may deliver the start before /metrics is read.
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent("20810200", nil, nil)
	if status, r := post(t, a, cashHook(apptest.Ref(t), "20810200", "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook: %d %+v", status, r)
	}
	post(t, a, `{not json`)
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`aepsflow_callbacks_total{action="debit-hook",outcome="allowed",source="eko"} 1`,
		`aepsflow_callbacks_total{action="unknown",outcome="invalid",source="eko"} 1`,
		`aepsflow_outbox_pending 1`, // no relay in this test: the start waits in the outbox
		// Read from PostgreSQL at the scrape: one open (pending) transaction, none in review.
		`aepsflow_state_up 1`,
		`aepsflow_transactions_needs_review 0`,
		`aepsflow_transactions_flagged 0`,
		`aepsflow_webhook_backlog 0`,
		`aepsflow_transactions_open_oldest_seconds `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q in\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "aepsflow_transactions_open_oldest_seconds 0\n") {
		t.Errorf("an open transaction exists, yet the oldest open age is 0")
	}
}
