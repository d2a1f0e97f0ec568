package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestResolveRefusals: POST /v1/transactions/{ref}/resolve checks, in this order, the admin token
// (401), the body (400: state success|failed, non-blank reason, by absent or the token's operator), the reference (404) and
// the transaction's state (409 unless needs_review). A refusal records nothing: no
// resolve_requested event, no outbox signal, the transaction stays in needs_review. The accepted
// resolution then reaches the workflow, and resolving again is a 409.
func TestResolveRefusals(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Env: map[string]string{"VERIFY_FAILURE": "false"}}) // failedRef fails on its callback alone
	a.RegisterAgent(agentCode, nil, nil)

	// reviewRef is in needs_review (tx_status 9 is "suspicious, contact Eko").
	reviewRef, reviewWF := a.CashWithdrawal(t, agentCode, "100")
	if status, r := post(t, a, ekoResponse(t, reviewRef, "9", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("eko-response 9: %d %+v", status, r)
	}
	// failedRef has reached a final state; pendingRef has had no eko-response (the default 5 min
	// EKO_RESPONSE_TIMEOUT keeps it pending throughout the test).
	failedRef, _ := a.CashWithdrawal(t, agentCode, "100")
	if status, r := post(t, a, ekoResponse(t, failedRef, "1", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("eko-response 1: %d %+v", status, r)
	}
	pendingRef, _ := a.CashWithdrawal(t, agentCode, "100")
	a.WaitTxState(t, "", reviewRef, "needs_review")
	a.WaitTxState(t, "", failedRef, "failed")
	if tx := mustTx(t, a, pendingRef); tx.State != "pending" {
		t.Fatalf("pendingRef is %s, want pending", tx.State)
	}

	const good = `{"state":"failed","reason":"bank statement shows no debit"}`
	path := func(ref string) string { return "/v1/transactions/" + ref + "/resolve" }
	tests := []struct {
		name       string
		ref        string
		token      string
		body       string
		wantStatus int
		wantError  string // part of the reply's "error"
	}{
		{"no token", reviewRef, "", good, http.StatusUnauthorized, "admin token"},
		{"wrong token", reviewRef, "not-the-token-123456", good, http.StatusUnauthorized, "admin token"},
		{"token with a suffix", reviewRef, apptest.AdminToken + "x", good, http.StatusUnauthorized, "admin token"},
		{"wrong token and a bad body: the token is checked first", reviewRef, "not-the-token-123456", `{"state":"maybe"}`,
			http.StatusUnauthorized, "admin token"},
		{"state not final", reviewRef, apptest.AdminToken, `{"state":"pending","reason":"r"}`,
			http.StatusBadRequest, "state must be success or failed"},
		{"state unknown", reviewRef, apptest.AdminToken, `{"state":"SUCCESS","reason":"r"}`,
			http.StatusBadRequest, "state must be success or failed"},
		{"state missing", reviewRef, apptest.AdminToken, `{"reason":"r"}`,
			http.StatusBadRequest, "state must be success or failed"},
		{"reason missing", reviewRef, apptest.AdminToken, `{"state":"failed"}`,
			http.StatusBadRequest, "reason is required"},
		{"reason blank", reviewRef, apptest.AdminToken, `{"state":"failed","reason":"   "}`,
			http.StatusBadRequest, "reason is required"},
		{"by naming another operator than the token's", reviewRef, apptest.AdminToken, `{"state":"failed","reason":"r","by":"asha"}`,
			http.StatusBadRequest, "by is taken from your token (operator admin)"},
		{"by naming another operator, blank-padded", reviewRef, apptest.AshaToken, `{"state":"failed","reason":"r","by":" ravi "}`,
			http.StatusBadRequest, "by is taken from your token (operator asha)"},
		{"body not JSON", reviewRef, apptest.AdminToken, `state=failed`, http.StatusBadRequest, "body must be"},
		{"state not a string", reviewRef, apptest.AdminToken, `{"state":1,"reason":"r"}`,
			http.StatusBadRequest, "body must be"},
		{"unknown reference", apptest.Ref(t), apptest.AdminToken, good, http.StatusNotFound, "no transaction with client_ref_id"},
		{"unknown reference and a bad body: the body is checked first", apptest.Ref(t), apptest.AdminToken, `{"state":"failed"}`,
			http.StatusBadRequest, "reason is required"},
		{"transaction pending", pendingRef, apptest.AdminToken, good, http.StatusConflict, "transaction is pending, not needs_review"},
		{"transaction already final", failedRef, apptest.AdminToken, good, http.StatusConflict, "transaction is failed, not needs_review"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := admin(t, a, http.MethodPost, path(tt.ref), tt.token, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d %v, want %d", status, body, tt.wantStatus)
			}
			if msg, _ := body["error"].(string); !strings.Contains(msg, tt.wantError) {
				t.Errorf("error %q, want it to contain %q", msg, tt.wantError)
			}
		})
	}

	// None of the refusals left a trace.
	resolveEvents := func() int {
		return a.QueryInt(t, `SELECT count(*) FROM tx_events WHERE kind = 'resolve_requested'`)
	}
	resolveSignals := func() int {
		return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE kind = 'signal' AND signal_name = $1`, workflows.SignalResolve)
	}
	if n, m, k := resolveEvents(), resolveSignals(), a.QueryInt(t, `SELECT count(*) FROM audit_events`); n != 0 || m != 0 || k != 0 {
		t.Fatalf("after refusals: %d resolve_requested events, %d resolve signals queued, %d audit events; want none", n, m, k)
	}
	if tx := mustTx(t, a, reviewRef); tx.State != "needs_review" {
		t.Fatalf("after refusals the transaction is %s, want needs_review", tx.State)
	}

	t.Run("accepted, then a repeat is a conflict", func(t *testing.T) {
		// Asha's token: the record names asha, whatever else the request says.
		status, body := admin(t, a, http.MethodPost, path(reviewRef), apptest.AshaToken,
			`{"state":"failed","reason":"  bank statement shows no debit  ","by":" asha "}`)
		if status != http.StatusAccepted || body["status"] != "accepted" || body["workflow_id"] != reviewWF || body["state"] != "failed" {
			t.Fatalf("resolve: %d %v, want 202 accepted for %s", status, body, reviewWF)
		}
		var detail struct {
			To     string `db:"to_state"`
			Reason string `db:"reason"`
			By     string `db:"by"`
		}
		if err := a.Store.DB().Get(&detail, `SELECT detail->>'to' AS to_state, detail->>'reason' AS reason, detail->>'by' AS by
			FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.workflow_id = $1 AND e.kind = 'resolve_requested'`, reviewWF); err != nil {
			t.Fatalf("resolve_requested event: %v", err)
		}
		if detail.To != "failed" || detail.Reason != "bank statement shows no debit" || detail.By != "asha" {
			t.Errorf("resolve_requested detail %+v, want to=failed, the trimmed reason, by asha", detail)
		}
		type auditRow struct {
			Operator string `db:"operator"`
			Action   string `db:"action"`
			From     string `db:"from_state"`
			To       string `db:"to_state"`
		}
		var audit auditRow
		if err := a.Store.DB().Get(&audit, `SELECT operator, action, detail->>'from' AS from_state, detail->>'to' AS to_state
			FROM audit_events WHERE target = $1`, reviewWF); err != nil {
			t.Fatalf("audit event of the resolution: %v", err)
		}
		if audit != (auditRow{"asha", "resolve", "needs_review", "failed"}) {
			t.Errorf("audit event %+v, want asha resolving needs_review to failed", audit)
		}
		if n := resolveSignals(); n != 1 {
			t.Errorf("%d resolve signals queued, want 1", n)
		}
		snap := workflowResult(t, a, reviewWF)
		if snap.State != "failed" {
			t.Errorf("workflow ended in %s, want failed", snap.State)
		}
		a.WaitTxState(t, "", reviewRef, "failed")

		status, body = admin(t, a, http.MethodPost, path(reviewRef), apptest.AdminToken, good)
		if msg, _ := body["error"].(string); status != http.StatusConflict || !strings.Contains(msg, "transaction is failed, not needs_review") {
			t.Fatalf("second resolve: %d %v, want 409", status, body)
		}
		if n := resolveEvents(); n != 1 {
			t.Errorf("%d resolve_requested events after the refused repeat, want 1", n)
		}
	})
}
