package api_test

// Say less to strangers: anyone can reach the callback URL and /readyz. What they are told must
// not reveal whether a reference exists or is final, which agent codes are registered or
// suspended, another agent's limits, or the service's internals. The detail stays in the log
// and the stored rows, where operators read it.

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/workflows"
)

// postRaw posts an Eko callback and returns the status and the reply's exact bytes.
func postRaw(t testing.TB, a *apptest.App, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(a.URL+callbackPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw)
}

// TestEkoResponseReplyIsNeutral: an eko-response for an unknown reference, a first report, a
// repeat of it, and reports after the final state (agreeing and contradicting) all get the very
// same reply; the stored requests keep what each one was.
func TestEkoResponseReplyIsNeutral(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Env: map[string]string{"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)
	const want = `{"status":"ok","outcome":"recorded"}`

	unknown := apptest.Ref(t)
	final, wfID := a.CashWithdrawal(t, agentCode, "100")
	first := ekoResponse(t, final, "0", nil)
	steps := []struct {
		name, ref, body, wantStored string
		after                       func()
	}{
		{name: "unknown reference", ref: unknown, body: ekoResponse(t, unknown, "0", nil), wantStored: "unknown_reference"},
		{name: "first report", ref: final, body: first, wantStored: "recorded", after: func() {
			workflowResult(t, a, wfID)
			a.WaitTxState(t, "", final, "success")
		}},
		{name: "repeat", ref: final, body: first, wantStored: "duplicate"},
		{name: "after final, agreeing", ref: final, body: ekoResponse(t, final, "0", map[string]any{"reason": "again"}), wantStored: "after_final"},
		{name: "after final, contradicting", ref: final, body: ekoResponse(t, final, "1", nil), wantStored: "after_final"},
	}
	for _, st := range steps {
		status, got := postRaw(t, a, st.body)
		if status != http.StatusOK || got != want {
			t.Errorf("%s: %d %s, want 200 %s", st.name, status, got, want)
		}
		rows := inboundByReference(t, a, st.ref)
		if last := rows[len(rows)-1]; last.Outcome != st.wantStored {
			t.Errorf("%s: stored outcome %q, want %q", st.name, last.Outcome, st.wantStored)
		}
		if st.after != nil {
			st.after()
		}
	}
	if tx := mustTx(t, a, final); !tx.Flagged {
		t.Errorf("the contradicting report did not flag the transaction: %+v", tx)
	}
}

// TestDebitHookRefusalsSayNoMore: a refusal tells the agent what to do, and the same thing for
// causes a stranger must not tell apart (unknown or suspended agent; a used reference, whatever
// its state); it names no reference, agent code, state or amount. The stored request keeps the
// code and the detail.
func TestDebitHookRefusalsSayNoMore(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	const suspended, counted, capped = "20810298", "20810297", "20810296"
	one, amount := 1, "150"
	for _, ag := range []string{suspended, counted, capped} {
		a.RegisterAgent(ag, nil, nil)
	}
	a.RegisterAgent(counted, &one, nil)
	a.RegisterAgent(capped, nil, &amount)
	if status, body := admin(t, a, http.MethodPut, "/v1/agents/"+suspended, apptest.AdminToken, `{"status":"suspended"}`); status != http.StatusOK {
		t.Fatalf("suspend agent: %d %v", status, body)
	}
	// A used reference: its first debit-hook allowed, a second one later is refused.
	conflict, processed := apptest.Ref(t), apptest.Ref(t)
	for _, ref := range []string{conflict, processed} {
		if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("debit-hook %s: %d %+v", ref, status, r)
		}
	}
	if err := a.Store.ApplyChange(context.Background(), db.Change{WorkflowID: workflows.WorkflowID("eko", processed),
		Key: "test:final", Kind: "state_changed", From: "pending", To: "success", Final: true}); err != nil {
		t.Fatal(err)
	}
	if status, r := post(t, a, cashHook(apptest.Ref(t), counted, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("first withdrawal of %s: %d %+v", counted, status, r)
	}

	tests := []struct {
		name, group, ref, agent, amount, wantDetail string
	}{
		{"unknown agent", "agent", "", "20819999", "100", "unknown_agent"},
		{"suspended agent", "agent", "", suspended, "100", "agent_suspended"},
		{"reference used for other details", "reference", conflict, agentCode, "200", "reference_conflict"},
		{"reference already final", "reference", processed, agentCode, "100", "already_processed"},
		{"daily count limit", "limit", "", counted, "100", "daily_count_limit"},
		{"daily amount limit", "limit", "", capped, "200", "daily_amount_limit"},
	}
	messages := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.ref
			if ref == "" {
				ref = apptest.Ref(t)
			}
			status, r := post(t, a, cashHook(ref, tt.agent, tt.amount).body(t))
			if status != http.StatusOK || !r.isRefusal() {
				t.Fatalf("%d %+v, want a refusal", status, r)
			}
			lower := strings.ToLower(r.Message)
			for _, secret := range []string{ref, tt.agent, "success", "pending", "review", "reported", "processed",
				"suspended", "registered", "rs ", "150", "left"} {
				if strings.Contains(lower, secret) {
					t.Errorf("refusal %q reveals %q", r.Message, secret)
				}
			}
			if prev, ok := messages[tt.group]; ok && prev != r.Message {
				t.Errorf("refusal %q differs from %q: a stranger can tell the causes apart", r.Message, prev)
			}
			messages[tt.group] = r.Message
			rows := inboundByReference(t, a, ref)
			if last := rows[len(rows)-1]; last.Outcome != "refused" || !strings.HasPrefix(last.OutcomeDetail, tt.wantDetail+":") {
				t.Errorf("stored %q %q, want the code %s and its detail", last.Outcome, last.OutcomeDetail, tt.wantDetail)
			}
		})
	}
}
