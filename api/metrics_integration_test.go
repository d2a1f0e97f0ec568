package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// A response that arrives before its debit-hook cannot be genuine (Eko waits for our reply before
// it proceeds): the later debit-hook for that reference is refused, and both are kept.
func TestEkoResponseBeforeDebitHookRefusesIt(t *testing.T) {
	a := apptest.Start(t, apptest.Options{NoWorker: true})
	a.RegisterAgent("20810200", nil, nil)
	ref := apptest.Ref(t)
	if status, r := post(t, a, ekoResponse(t, ref, "0", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("early eko-response: %d %+v", status, r)
	}
	status, r := post(t, a, cashHook(ref, "20810200", "100").body(t))
	if status != http.StatusOK || r.allowed() || !strings.Contains(r.Message, "cannot be used again") {
		t.Fatalf("debit-hook after its response: %d %+v, want a refusal", status, r)
	}
	if n := queryInt(t, a, `SELECT count(*) FROM transactions WHERE provider_ref = $1`, ref); n != 0 {
		t.Fatalf("%d transactions created, want 0", n)
	}
	if n := queryInt(t, a, `SELECT count(*) FROM inbound_requests WHERE reference = $1 AND outcome = 'refused'
		AND outcome_detail LIKE 'reference_already_reported%'`, ref); n != 1 {
		t.Fatalf("refusal recorded %d times, want 1", n)
	}
}

func TestMetricsCountCallbacks(t *testing.T) {
	a := apptest.Start(t, apptest.Options{NoWorker: true})
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
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q in\n%s", want, body)
		}
	}
}
