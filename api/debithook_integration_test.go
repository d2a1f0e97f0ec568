package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestDebitHookAllowed: a valid debit-hook from a registered agent is confirmed with a reply Eko
// can verify, and leaves a pending transaction, an outbox start and a running workflow behind.
func TestDebitHookAllowed(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{})
	a.RegisterAgent(agentCode, nil, nil)

	tests := []struct {
		name       string
		hook       func(ref string) hook
		wantType   string
		wantAmount string // amount_text as stored
	}{
		{"cash withdrawal, documented params", func(ref string) hook { return cashHook(ref, agentCode, "100") }, "cash_withdrawal", "100"},
		{"cash withdrawal, 100.00 signed as sent", func(ref string) hook { return cashHook(ref, agentCode, "100.00") }, "cash_withdrawal", "100.00"},
		{"balance inquiry skips the absent amount", func(ref string) hook {
			return hook{Ref: ref, Data: map[string]string{"customer_id": customer, "bank_code": "PUNB", "type": "3", "user_code": agentCode}}
		}, "balance_inquiry", ""},
		{"balance inquiry without amount in the list", func(ref string) hook {
			return hook{Ref: ref, Params: []string{"customer_id", "user_code"},
				Data: map[string]string{"customer_id": customer, "bank_code": "PUNB", "type": "3", "user_code": agentCode}}
		}, "balance_inquiry", ""},
		{"mini statement", func(ref string) hook {
			return hook{Ref: ref, Data: map[string]string{"customer_id": customer, "bank_code": "SBIN", "type": "4", "user_code": agentCode}}
		}, "mini_statement", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			wfID := workflows.WorkflowID("eko", ref)
			terminateAtEnd(t, a, wfID)
			h := tt.hook(ref)
			sent := time.Now()
			status, r := post(t, a, h.body(t))
			if status != http.StatusOK {
				t.Fatalf("status %d, reply %+v", status, r)
			}
			checkSigned(t, r, h, sent)
			if r.ClientRefID != "" {
				t.Errorf("client_ref_id %q in the reply with CLIENT_REF_ID_SOURCE=eko", r.ClientRefID)
			}

			tx := mustTx(t, a, ref)
			if tx.State != "pending" || tx.TxType != tt.wantType || tx.AmountText != tt.wantAmount ||
				tx.Agent != agentCode || tx.Customer != customer || tx.ClientRefID != ref || tx.ProviderRef != ref || tx.WorkflowID != wfID {
				t.Errorf("transaction row %+v", tx)
			}
			if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'start'`, wfID); n != 1 {
				t.Errorf("%d outbox starts, want 1", n)
			}
			if rows := inboundByReference(t, a, ref); len(rows) != 1 || rows[0].Outcome != "allowed" || rows[0].Action != "debit-hook" {
				t.Errorf("stored requests %+v", rows)
			}
			if status := workflowStatus(t, a, wfID); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				t.Errorf("workflow status %s, want running", status)
			}
			waitFor(t, 30*time.Second, "outbox start delivered", func() (bool, error) {
				return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND delivered_at IS NOT NULL`, wfID) == 1, nil
			})
			waitWorkflowState(t, a, wfID, "pending")
		})
	}
}

// TestDebitHookRefusals: every refusal is in the protocol's shape with a reason the agent can read,
// and is recorded with its outcome and detail; none creates a transaction.
func TestDebitHookRefusals(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	const suspended = "20810299"
	a.RegisterAgent(suspended, nil, nil)
	if status, body := admin(t, a, http.MethodPut, "/v1/agents/"+suspended, apptest.AdminToken, `{"status":"suspended"}`); status != http.StatusOK || body["status"] != "suspended" {
		t.Fatalf("suspend agent: %d %v", status, body)
	}

	tests := []struct {
		name        string
		hook        func(ref string) hook
		wantStatus  int
		wantMessage string
		wantOutcome string
		wantDetail  string
	}{
		{"unknown agent", func(ref string) hook { return cashHook(ref, "20819999", "100") },
			http.StatusOK, "cannot make AePS transactions", "refused", "unknown_agent: Agent 20819999 is not registered"},
		{"suspended agent", func(ref string) hook { return cashHook(ref, suspended, "100") },
			http.StatusOK, "cannot make AePS transactions", "refused", "agent_suspended: Agent 20810299 is suspended"},
		{"type 5", func(ref string) hook {
			h := cashHook(ref, agentCode, "100")
			h.Data["type"] = "5"
			return h
		}, http.StatusBadRequest, "data.type must be", "invalid", "data.type must be"},
		{"amount not a multiple of 50", func(ref string) hook { return cashHook(ref, agentCode, "120") },
			http.StatusBadRequest, "multiple of Rs 50", "invalid", "multiple of Rs 50"},
		{"amount above 10000", func(ref string) hook { return cashHook(ref, agentCode, "10050") },
			http.StatusBadRequest, "between Rs 100 and Rs 10000", "invalid", "between Rs 100 and Rs 10000"},
		{"amount below 100", func(ref string) hook { return cashHook(ref, agentCode, "50") },
			http.StatusBadRequest, "between Rs 100 and Rs 10000", "invalid", "between Rs 100 and Rs 10000"},
		{"amount missing", func(ref string) hook {
			h := cashHook(ref, agentCode, "")
			delete(h.Data, "amount")
			return h
		}, http.StatusBadRequest, "amount is missing", "invalid", "amount is missing"},
		{"customer not a mobile number", func(ref string) hook {
			h := cashHook(ref, agentCode, "100")
			h.Data["customer_id"] = "12345"
			return h
		}, http.StatusBadRequest, "10-digit", "invalid", "10-digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			status, r := post(t, a, tt.hook(ref).body(t))
			if status != tt.wantStatus || !r.isRefusal() || !strings.Contains(r.Message, tt.wantMessage) {
				t.Fatalf("status %d reply %+v, want %d and a refusal saying %q", status, r, tt.wantStatus, tt.wantMessage)
			}
			if r.SecretKey != "" || r.RequestHash != "" {
				t.Errorf("a refusal carries a signature: %+v", r)
			}
			rows := inboundByReference(t, a, ref)
			if len(rows) != 1 {
				t.Fatalf("%d requests stored under %s, want 1", len(rows), ref)
			}
			in := rows[0]
			if in.Outcome != tt.wantOutcome || !strings.Contains(in.OutcomeDetail, tt.wantDetail) || in.HTTPStatus != tt.wantStatus || in.Action != "debit-hook" {
				t.Errorf("stored outcome %q detail %q status %d action %q", in.Outcome, in.OutcomeDetail, in.HTTPStatus, in.Action)
			}
			if _, ok := findTx(t, a, ref); ok {
				t.Error("a refused debit-hook created a transaction")
			}
		})
	}
}

// TestDebitHookIdempotency: a repeated debit-hook is confirmed again without a second transaction
// or start; a different request under a used reference is refused.
func TestDebitHookIdempotency(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)

	t.Run("same reference, same details", func(t *testing.T) {
		ref := apptest.Ref(t)
		h := cashHook(ref, agentCode, "100")
		var first reply
		for i := range 3 {
			sent := time.Now()
			status, r := post(t, a, h.body(t))
			if status != http.StatusOK {
				t.Fatalf("attempt %d: status %d %+v", i, status, r)
			}
			if i == 0 {
				checkSigned(t, r, h, sent)
				first = r
			} else if !sameReply(r, first) {
				t.Fatalf("attempt %d: %+v, want the first confirmation again %+v", i, r, first)
			}
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM transactions WHERE provider_ref = $1`, ref); n != 1 {
			t.Errorf("%d transactions, want 1", n)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1`, workflows.WorkflowID("eko", ref)); n != 1 {
			t.Errorf("%d outbox entries, want 1", n)
		}
		rows := inboundByReference(t, a, ref)
		if len(rows) != 3 || rows[0].Outcome != "allowed" || rows[1].Outcome != "allowed_repeat" || rows[2].Outcome != "allowed_repeat" {
			t.Errorf("stored outcomes %+v", rows)
		}
	})

	t.Run("same reference, different details", func(t *testing.T) {
		ref := apptest.Ref(t)
		if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("first: %d %+v", status, r)
		}
		// "100.00" is not "100": Eko signs the exact text, so it is another request.
		for _, amount := range []string{"200", "100.00"} {
			status, r := post(t, a, cashHook(ref, agentCode, amount).body(t))
			if status != http.StatusOK || !r.isRefusal() || !strings.Contains(r.Message, "cannot be used again") {
				t.Fatalf("amount %s: %d %+v, want a refusal", amount, status, r)
			}
		}
		tx := mustTx(t, a, ref)
		if tx.AmountText != "100" {
			t.Errorf("the conflicting request changed the transaction: %+v", tx)
		}
		rows := inboundByReference(t, a, ref)
		if len(rows) != 3 || rows[2].Outcome != "refused" || !strings.HasPrefix(rows[2].OutcomeDetail, "reference_conflict") {
			t.Errorf("stored %+v", rows)
		}
	})

	t.Run("repeat after the final state", func(t *testing.T) {
		ref := apptest.Ref(t)
		h := cashHook(ref, agentCode, "100")
		if status, r := post(t, a, h.body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("first: %d %+v", status, r)
		}
		err := a.Store.ApplyChange(context.Background(), db.Change{WorkflowID: workflows.WorkflowID("eko", ref), Key: "test:final",
			Kind: "state_changed", From: "pending", To: "success", Final: true})
		if err != nil {
			t.Fatal(err)
		}
		status, r := post(t, a, h.body(t))
		if status != http.StatusOK || !r.isRefusal() || !strings.Contains(r.Message, "cannot be used again") {
			t.Fatalf("repeat after success: %d %+v, want a refusal", status, r)
		}
	})
}

// TestOwnClientRefID: with CLIENT_REF_ID_SOURCE=own the reply hands Eko our reference, the
// transaction is keyed by it, and an eko-response carrying it reaches the workflow.
func TestOwnClientRefID(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Env: map[string]string{"CLIENT_REF_ID_SOURCE": "own", "VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)

	ekoRef := apptest.Ref(t)
	h := cashHook(ekoRef, agentCode, "100")
	sent := time.Now()
	status, r := post(t, a, h.body(t))
	if status != http.StatusOK {
		t.Fatalf("status %d %+v", status, r)
	}
	checkSigned(t, r, h, sent)
	ours := r.ClientRefID
	if ours == "" || len(ours) > 20 || ours == ekoRef {
		t.Fatalf("reply client_ref_id %q: want our own, at most 20 characters, not Eko's %s", ours, ekoRef)
	}
	wfID := workflows.WorkflowID("eko", ours)
	terminateAtEnd(t, a, wfID)

	tx := mustTx(t, a, ours)
	if tx.ClientRefID != ours || tx.ProviderRef != ekoRef || tx.WorkflowID != wfID {
		t.Fatalf("transaction %+v: want client_ref_id %s, provider_ref %s, workflow %s", tx, ours, ekoRef, wfID)
	}
	// A repeat hands back the same reference.
	if _, again := post(t, a, h.body(t)); again.ClientRefID != ours {
		t.Fatalf("repeat got client_ref_id %q, want %q", again.ClientRefID, ours)
	}

	// Eko now knows the transaction by our reference.
	status, er := post(t, a, ekoResponse(t, ours, "0", nil))
	if status != http.StatusOK || er.Status != "ok" || er.Outcome != "recorded" {
		t.Fatalf("eko-response: %d %+v", status, er)
	}
	snap := workflowResult(t, a, wfID)
	if snap.State != "success" || snap.Outcomes != 1 {
		t.Fatalf("workflow ended %+v, want success after one outcome", snap)
	}
	a.WaitTxState(t, "", ours, "success")
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id = $1`, tx.ID); n != 1 {
		t.Errorf("%d eko_responses linked to the transaction, want 1", n)
	}
	var input struct {
		Input workflows.Input `json:"input"`
	}
	var payload []byte
	if err := a.Store.DB().Get(&payload, `SELECT payload FROM outbox WHERE workflow_id = $1 AND kind = 'start'`, wfID); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &input); err != nil || input.Input.ClientRefID != ours || input.Input.ProviderRef != ekoRef {
		t.Errorf("workflow input %s: want client_ref_id %s (inquired with), provider_ref %s", payload, ours, ekoRef)
	}
}
