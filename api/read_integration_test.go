package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestReadTransaction: the read API needs the admin token and shows a transaction's record,
// its eko-responses, its history and the workflow's own view, with the customer masked.
func TestReadTransaction(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Env: map[string]string{"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100.00")
	if status, r := post(t, a, ekoResponse(t, ref, "0", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("eko-response: %d %+v", status, r)
	}
	workflowResult(t, a, wfID)
	a.WaitTxState(t, "", ref, "success")
	path := "/v1/transactions/" + ref

	for _, tt := range []struct{ name, token string }{{"no token", ""}, {"wrong token", "not-the-token-123456"}, {"token with a suffix", apptest.AdminToken + "x"}} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := admin(t, a, http.MethodGet, path, tt.token, ""); status != http.StatusUnauthorized {
				t.Fatalf("status %d %v, want 401", status, body)
			}
		})
	}

	t.Run("with the token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var v struct {
			ClientRefID  string `json:"client_ref_id"`
			Provider     string `json:"provider"`
			State        string `json:"state"`
			Type         string `json:"type"`
			Amount       string `json:"amount"`
			AmountText   string `json:"amount_text"`
			Agent        string `json:"agent_user_code"`
			Customer     string `json:"customer"`
			WorkflowID   string `json:"workflow_id"`
			EkoResponses []struct {
				TxStatus   string `json:"tx_status"`
				TID        string `json:"tid"`
				Commission string `json:"commission"`
			} `json:"eko_responses"`
			Events []struct {
				Kind string `json:"kind"`
				To   string `json:"to"`
			} `json:"events"`
			Workflow struct {
				State struct {
					State    string `json:"state"`
					Outcomes int    `json:"outcomes"`
				} `json:"state"`
			} `json:"workflow"`
		}
		raw := new(strings.Builder)
		if err := json.NewDecoder(teeReader(resp, raw)).Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v.ClientRefID != ref || v.Provider != "eko" || v.State != "success" || v.Type != "cash_withdrawal" ||
			v.Amount != "100" || v.AmountText != "100.00" || v.Agent != agentCode || v.WorkflowID != wfID {
			t.Errorf("transaction view %+v", v)
		}
		if v.Customer != "XXXXXX9999" || strings.Contains(raw.String(), customer) {
			t.Errorf("customer %q; the full mobile number must not appear", v.Customer)
		}
		if len(v.EkoResponses) != 1 || v.EkoResponses[0].TxStatus != "0" || v.EkoResponses[0].TID != "T"+ref || v.EkoResponses[0].Commission != "6" {
			t.Errorf("eko_responses %+v", v.EkoResponses)
		}
		var kinds []string
		for _, e := range v.Events {
			kinds = append(kinds, e.Kind)
		}
		for _, want := range []string{"created", "eko_response", "state_changed"} {
			if !slices.Contains(kinds, want) {
				t.Errorf("events %v lack %s", kinds, want)
			}
		}
		if last := v.Events[len(v.Events)-1]; last.Kind != "state_changed" || last.To != "success" {
			t.Errorf("last event %+v, want state_changed to success", last)
		}
		if v.Workflow.State.State != "success" || v.Workflow.State.Outcomes != 1 {
			t.Errorf("workflow view %+v", v.Workflow)
		}
	})

	t.Run("unknown reference", func(t *testing.T) {
		if status, body := admin(t, a, http.MethodGet, "/v1/transactions/"+apptest.Ref(t), apptest.AdminToken, ""); status != http.StatusNotFound {
			t.Fatalf("status %d %v, want 404", status, body)
		}
	})

	t.Run("health and readiness", func(t *testing.T) {
		if status, body := admin(t, a, http.MethodGet, "/healthz", "", ""); status != http.StatusOK || body["status"] != "ok" {
			t.Errorf("/healthz %d %v", status, body)
		}
		if status, body := admin(t, a, http.MethodGet, "/readyz", "", ""); status != http.StatusOK || body["ready"] != true ||
			body["degraded"] != false || len(body) != 2 {
			t.Errorf("/readyz %d %v, want 200 and only the status", status, body)
		}
		if status, body := admin(t, a, http.MethodGet, "/readyz", apptest.AshaToken, ""); status != http.StatusOK || body["checks"] == nil {
			t.Errorf("/readyz with an operator's token %d %v, want the checks", status, body)
		}
	})
}

// TestReadyzWithoutTemporal: still ready while Temporal is unreachable (the replica takes callbacks
// and keeps them in the outbox), reported as degraded; only an operator's token is told why: the
// errors name hosts and ports.
func TestReadyzWithoutTemporal(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{TemporalAddress: "127.0.0.1:1", NoWorker: true, NoRelay: true})
	for _, token := range []string{"", "wrong-token-0123456789", apptest.AdminToken + "x"} {
		status, body := admin(t, a, http.MethodGet, "/readyz", token, "")
		if status != http.StatusOK || body["ready"] != true || body["degraded"] != true || len(body) != 2 {
			t.Errorf("/readyz with token %q: %d %v, want 200 and only {\"ready\":true,\"degraded\":true}", token, status, body)
		}
	}
	status, body := admin(t, a, http.MethodGet, "/readyz", apptest.AdminToken, "")
	checks, _ := body["checks"].(map[string]any)
	if status != http.StatusOK || body["ready"] != true || body["degraded"] != true || checks["postgres"] != "ok" ||
		!strings.HasPrefix(fmt.Sprint(checks["temporal"]), "unreachable") {
		t.Fatalf("/readyz %d %v, want 200 ready, degraded, naming temporal", status, body)
	}
	if status, _ := admin(t, a, http.MethodGet, "/healthz", "", ""); status != http.StatusOK {
		t.Fatalf("/healthz %d", status)
	}
	// The callback still works: it never waits on Temporal.
	a.RegisterAgent(agentCode, nil, nil)
	if status, r := post(t, a, cashHook(apptest.Ref(t), agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook with Temporal down: %d %+v", status, r)
	}
}

// TestAdminAgents: PUT registers, suspends and sets limits (decimal strings); GET shows them.
func TestAdminAgents(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	const path = "/v1/agents/40000001"
	put := func(body string) (int, map[string]any) {
		t.Helper()
		return admin(t, a, http.MethodPut, path, apptest.AdminToken, body)
	}
	get := func() (int, map[string]any) {
		t.Helper()
		return admin(t, a, http.MethodGet, path, apptest.AdminToken, "")
	}
	str := func(v any) string {
		b, _ := json.Marshal(v)
		return strings.Trim(string(b), `"`)
	}

	if status, _ := get(); status != http.StatusNotFound {
		t.Fatalf("GET before registration: %d, want 404", status)
	}
	steps := []struct {
		name       string
		body       string
		wantStatus int
		// want are field values in the GET that follows (as JSON text, strings unquoted).
		want map[string]string
	}{
		{"register with defaults", `{"name":"Shop One"}`, http.StatusOK,
			map[string]string{"status": "active", "name": "Shop One", "daily_cash_count_limit": "50", "daily_cash_amount_limit": "200000.00"}},
		{"set limits", `{"daily_cash_count_limit":3,"daily_cash_amount_limit":"2500.50"}`, http.StatusOK,
			map[string]string{"status": "active", "name": "Shop One", "daily_cash_count_limit": "3", "daily_cash_amount_limit": "2500.50"}},
		{"suspend", `{"status":"suspended"}`, http.StatusOK,
			map[string]string{"status": "suspended", "daily_cash_count_limit": "3", "daily_cash_amount_limit": "2500.50"}},
		{"amount as a JSON number is refused", `{"daily_cash_amount_limit":1000.5}`, http.StatusBadRequest,
			map[string]string{"daily_cash_amount_limit": "2500.50"}},
		{"negative amount refused", `{"daily_cash_amount_limit":"-1"}`, http.StatusBadRequest,
			map[string]string{"daily_cash_amount_limit": "2500.50"}},
		{"amount not a number refused", `{"daily_cash_amount_limit":"lots"}`, http.StatusBadRequest,
			map[string]string{"daily_cash_amount_limit": "2500.50"}},
		{"negative count refused", `{"daily_cash_count_limit":-1}`, http.StatusBadRequest,
			map[string]string{"daily_cash_count_limit": "3"}},
		{"unknown status refused", `{"status":"deleted"}`, http.StatusBadRequest,
			map[string]string{"status": "suspended"}},
		{"malformed body refused", `{"status":`, http.StatusBadRequest,
			map[string]string{"status": "suspended"}},
		{"activate", `{"status":"active"}`, http.StatusOK,
			map[string]string{"status": "active"}},
		{"clear limits", `{"clear_limits":true}`, http.StatusOK,
			map[string]string{"daily_cash_count_limit": "50", "daily_cash_amount_limit": "200000.00"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			status, body := put(s.body)
			if status != s.wantStatus {
				t.Fatalf("PUT %s: %d %v, want %d", s.body, status, body, s.wantStatus)
			}
			if status != http.StatusOK && body["error"] == nil {
				t.Errorf("refusal without an error message: %v", body)
			}
			status, body = get()
			if status != http.StatusOK {
				t.Fatalf("GET: %d %v", status, body)
			}
			for k, want := range s.want {
				if got := str(body[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}

	t.Run("limits apply to debit-hooks", func(t *testing.T) {
		if status, _ := put(`{"daily_cash_count_limit":1}`); status != http.StatusOK {
			t.Fatal(status)
		}
		if status, r := post(t, a, cashHook(apptest.Ref(t), "40000001", "100").body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("first: %d %+v", status, r)
		}
		if status, r := post(t, a, cashHook(apptest.Ref(t), "40000001", "100").body(t)); !r.isRefusal() || !strings.Contains(r.Message, "daily limit") {
			t.Fatalf("second: %d %+v", status, r)
		}
	})

	t.Run("invalid user code is a 400", func(t *testing.T) {
		if status, body := admin(t, a, http.MethodPut, "/v1/agents/bad.code", apptest.AdminToken, `{}`); status != http.StatusBadRequest {
			t.Fatalf("status %d %v, want 400", status, body)
		}
	})

	t.Run("token required", func(t *testing.T) {
		if status, _ := admin(t, a, http.MethodPut, path, "", `{"status":"suspended"}`); status != http.StatusUnauthorized {
			t.Fatalf("PUT without token: %d", status)
		}
		if status, _ := admin(t, a, http.MethodGet, path, "wrong-token-000000", ""); status != http.StatusUnauthorized {
			t.Fatalf("GET with a wrong token: %d", status)
		}
		if _, body := get(); str(body["status"]) != "active" {
			t.Fatalf("an unauthorised PUT changed the agent: %v", body)
		}
	})
}

// TestReadTransactionOddReferences: a reference holding '/', '+' or a space is allowed like any
// printable one, and the read API finds it when the client escapes it as a path segment
// (url.PathEscape: %2F, '+' kept, %20), and no other.
func TestReadTransactionOddReferences(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	n := apptest.Ref(t)[:8]
	refs := []string{"AB/" + n, "AB+" + n, "AB " + n, "A+B/" + n, "AB%41" + n, n + "%"}
	for _, ref := range refs {
		if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("debit-hook %q: %d %+v", ref, status, r)
		}
	}
	for _, ref := range refs {
		status, body := admin(t, a, http.MethodGet, "/v1/transactions/"+url.PathEscape(ref), apptest.AdminToken, "")
		if status != http.StatusOK || body["client_ref_id"] != ref {
			t.Errorf("GET %s: %d %v, want %q", url.PathEscape(ref), status, body, ref)
		}
	}
}
