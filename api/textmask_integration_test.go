package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestRequestTextIsMaskedInEveryColumn: an eko-response whose free text carries full Aadhaar
// numbers (a tid spelled as a form key, a reason with a written number, a tx_status quoting a
// key) leaves none in any column it reaches: the response's own columns and document, the
// transaction's history, the outbox payload the workflow will receive, and the stored request.
func TestRequestTextIsMaskedInEveryColumn(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	ref, _ := a.CashWithdrawal(t, agentCode, "100")
	body := ekoResponse(t, ref, `2 {"aadhaar":"234567890124"}`, map[string]any{
		"tid": "uid=234567890124", "reason": "Aadhaar 2345 6789 0124 verified",
	})
	if status, r := post(t, a, body); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("eko-response: %d %+v", status, r)
	}
	for _, q := range []string{
		`SELECT coalesce(string_agg(tx_status || tid || message || response::text, '|'), '') FROM eko_responses WHERE client_ref_id = $1`,
		`SELECT coalesce(string_agg(e.detail::text, '|'), '') FROM tx_events e JOIN transactions t ON t.id = e.transaction_id WHERE t.client_ref_id = $1`,
		`SELECT coalesce(string_agg(payload::text, '|'), '') FROM outbox WHERE workflow_id = 'aeps/eko/' || $1`,
		`SELECT coalesce(string_agg(convert_from(body, 'UTF8') || outcome_detail || headers::text, '|'), '') FROM inbound_requests WHERE reference = $1`,
	} {
		var got string
		if err := a.Store.DB().GetContext(context.Background(), &got, q, ref); err != nil {
			t.Fatal(err)
		}
		if got == "" {
			t.Fatalf("nothing stored by %s", q)
		}
		for _, full := range []string{"234567890124", "2345 6789 0124"} {
			if strings.Contains(got, full) {
				t.Errorf("%s\nholds %s: %s", q, full, got)
			}
		}
	}
}

// TestReferencesAreNeverMasked: a client_ref_id that looks like an Aadhaar number (4-4-4 digits
// with a valid check digit) is a reference, not personal data: the workflow's input, the stored
// request and the transaction keep it exactly, or the inquiry would ask Eko about another one.
func TestReferencesAreNeverMasked(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	const ref = "2345-6789-0124" // Verhoeff-valid: a written Aadhaar number's shape
	if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook: %d %+v", status, r)
	}
	for _, q := range []string{
		`SELECT payload->'input'->>'client_ref_id' FROM outbox WHERE kind = 'start'`,
		`SELECT payload->'input'->>'provider_ref' FROM outbox WHERE kind = 'start'`,
		`SELECT reference FROM inbound_requests WHERE action = 'debit-hook'`,
		`SELECT client_ref_id FROM transactions`,
	} {
		var got string
		if err := a.Store.DB().GetContext(context.Background(), &got, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got != ref {
			t.Errorf("%s = %q, want %q", q, got, ref)
		}
	}
}
