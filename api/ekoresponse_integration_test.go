package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// storedResponse is an eko_responses row.
type storedResponse struct {
	TransactionID    *int64           `db:"transaction_id"`
	TxStatus         string           `db:"tx_status"`
	Status           string           `db:"status"`
	Message          string           `db:"message"`
	TID              string           `db:"tid"`
	BankRefNum       string           `db:"bank_ref_num"`
	Amount           *decimal.Decimal `db:"amount"`
	Commission       *decimal.Decimal `db:"commission"`
	TDS              *decimal.Decimal `db:"tds"`
	Fee              *decimal.Decimal `db:"fee"`
	Balance          *decimal.Decimal `db:"balance"`
	CustomerBalance  *decimal.Decimal `db:"customer_balance"`
	Aadhaar          string           `db:"aadhaar_masked"`
	UserCode         string           `db:"user_code"`
	Response         []byte           `db:"response"`
	UnknownReference bool             `db:"unknown_reference"`
	AfterFinal       bool             `db:"after_final"`
	ContradictsFinal bool             `db:"contradicts_final"`
}

func storedResponses(t testing.TB, a *apptest.App, ref string) []storedResponse {
	t.Helper()
	var rows []storedResponse
	err := a.Store.DB().Select(&rows, `SELECT transaction_id, tx_status, status, message, tid, bank_ref_num, amount,
		commission, tds, fee, balance, customer_balance, aadhaar_masked, user_code, response, unknown_reference,
		after_final, contradicts_final FROM eko_responses WHERE client_ref_id = $1 ORDER BY id`, ref)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func decEq(d *decimal.Decimal, want string) bool {
	return d != nil && d.Equal(decimal.RequireFromString(want))
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// TestEkoResponse: what an eko-response carries is recorded in full, repeats and strays change
// nothing (but are kept), and the workflow ends where tx_status says.
func TestEkoResponse(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Inquirer: pendingInquirer{}, Env: map[string]string{"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)

	t.Run("every field recorded", func(t *testing.T) {
		ref, _ := a.CashWithdrawal(t, agentCode, "2000")
		body := ekoResponse(t, ref, "0", map[string]any{
			"amount": "2000.0", "commission": "6.0", "tds": "0.3", "fee": "1.50", "balance": "339976.26",
			"customer_balance": "12345.67", "aadhaar": "XXXX XXXX 9999", "tid": "14563687", "bank_ref_num": "BRN778899",
			"mini_statement": []map[string]string{{"date": "01/01", "amount": "100", "narration": "ATM", "txnType": "Dr"}},
		})
		status, r := post(t, a, body)
		if status != http.StatusOK || r.Status != "ok" || r.Outcome != "recorded" {
			t.Fatalf("%d %+v", status, r)
		}
		rows := storedResponses(t, a, ref)
		if len(rows) != 1 {
			t.Fatalf("%d eko_responses, want 1", len(rows))
		}
		got := rows[0]
		tx := mustTx(t, a, ref)
		if got.TransactionID == nil || *got.TransactionID != tx.ID {
			t.Errorf("transaction_id %v, want %d", got.TransactionID, tx.ID)
		}
		if got.TxStatus != "0" || got.Status != "0" || got.Message != "Transaction successful" || got.TID != "14563687" ||
			got.BankRefNum != "BRN778899" || got.UserCode != agentCode || got.Aadhaar != "XXXX XXXX 9999" {
			t.Errorf("text columns %+v", got)
		}
		for name, c := range map[string]struct {
			got  *decimal.Decimal
			want string
		}{"amount": {got.Amount, "2000.0"}, "commission": {got.Commission, "6.0"}, "tds": {got.TDS, "0.3"}, "fee": {got.Fee, "1.50"},
			"balance": {got.Balance, "339976.26"}, "customer_balance": {got.CustomerBalance, "12345.67"}} {
			if !decEq(c.got, c.want) {
				t.Errorf("%s = %v, want %s", name, c.got, c.want)
			}
		}
		if got.UnknownReference || got.AfterFinal || got.ContradictsFinal {
			t.Errorf("flags set on a normal response: %+v", got)
		}
		var sent struct {
			Detail struct {
				Response json.RawMessage `json:"response"`
			} `json:"detail"`
		}
		if err := json.Unmarshal([]byte(body), &sent); err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got.Response, sent.Detail.Response) {
			t.Errorf("stored response\n%s\nis not the one sent\n%s", got.Response, sent.Detail.Response)
		}
	})

	t.Run("Aadhaar in other spellings stored masked", func(t *testing.T) {
		tests := []struct{ name, aadhaar, want string }{
			{"text around the number", "UID 234123412346", "UID XXXXXXXX2346"},
			{"escaped key", "234123412346", "XXXXXXXX2346"},
			{"16-digit VID", "2341234123465678", "XXXXXXXXXXXX5678"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ref, _ := a.CashWithdrawal(t, agentCode, "100")
				body := ekoResponse(t, ref, "0", map[string]any{"aadhaar": tt.aadhaar})
				if tt.name == "escaped key" {
					// The byte rules do not see this key; decoded, it is "aadhaar".
					escaped := strings.Replace(body, `"aadhaar":`, `"aadhaa\u0072":`, 1)
					if escaped == body {
						t.Fatalf("no aadhaar key in %s", body)
					}
					body = escaped
				}
				if status, r := post(t, a, body); status != http.StatusOK || r.Outcome != "recorded" {
					t.Fatalf("%d %+v", status, r)
				}
				// No 12-digit run other than the reference itself (13 digits, in three fields).
				holdsNumber := func(b []byte) bool {
					return strings.Contains(string(b), "2341234123") || regexp.MustCompile(`[0-9]{12}`).MatchString(strings.ReplaceAll(string(b), ref, ""))
				}
				rows := storedResponses(t, a, ref)
				if len(rows) != 1 || rows[0].Aadhaar != tt.want || holdsNumber(rows[0].Response) {
					t.Fatalf("eko_responses %+v, want aadhaar_masked %q and a response holding no full number", rows, tt.want)
				}
				in := inboundByReference(t, a, ref)
				if len(in) != 2 {
					t.Fatalf("%d stored requests, want 2", len(in))
				}
				if b := in[1].Body; holdsNumber(b) || !in[1].Redacted || !strings.Contains(string(b), tt.want) {
					t.Errorf("stored eko-response (redacted %v) holds a full number or lacks %q: %s", in[1].Redacted, tt.want, b)
				}
			})
		}
	})

	t.Run("empty amounts stay NULL", func(t *testing.T) {
		ref, _ := a.CashWithdrawal(t, agentCode, "100")
		if status, r := post(t, a, ekoResponse(t, ref, "1", map[string]any{"customer_balance": "", "amount": ""})); status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("%d %+v", status, r)
		}
		got := storedResponses(t, a, ref)[0]
		if got.CustomerBalance != nil || got.Amount != nil {
			t.Errorf("empty text stored as amounts: %v %v", got.CustomerBalance, got.Amount)
		}
	})

	t.Run("repeat changes nothing", func(t *testing.T) {
		ref, wfID := a.CashWithdrawal(t, agentCode, "100")
		body := ekoResponse(t, ref, "0", nil)
		if status, r := post(t, a, body); status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("first: %d %+v", status, r)
		}
		// The same response again, and once more re-serialised with other whitespace.
		var v any
		_ = json.Unmarshal([]byte(body), &v)
		indented, _ := json.MarshalIndent(v, "", "   ")
		for i, b := range []string{body, string(indented)} {
			status, r := post(t, a, b)
			if status != http.StatusOK || r.Status != "ok" || r.Outcome != "recorded" {
				t.Fatalf("repeat %d: %d %+v", i, status, r)
			}
		}
		if n := len(storedResponses(t, a, ref)); n != 1 {
			t.Errorf("%d eko_responses, want 1", n)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wfID); n != 1 {
			t.Errorf("%d outbox signals, want 1", n)
		}
		rows := inboundByReference(t, a, ref)
		if len(rows) != 4 || rows[2].Outcome != "duplicate" || rows[3].Outcome != "duplicate" {
			t.Errorf("stored requests %+v", rows)
		}
		snap := workflowResult(t, a, wfID)
		if snap.State != "success" || snap.Outcomes != 1 {
			t.Errorf("workflow %+v, want success after one outcome", snap)
		}
		if n := signalsReceived(t, a, wfID); n != 1 {
			t.Errorf("workflow received %d signals, want 1", n)
		}
	})

	t.Run("unknown reference kept and flagged", func(t *testing.T) {
		ref := apptest.Ref(t)
		status, r := post(t, a, ekoResponse(t, ref, "0", nil))
		if status != http.StatusOK || r.Status != "ok" || r.Outcome != "recorded" {
			t.Fatalf("%d %+v", status, r)
		}
		rows := storedResponses(t, a, ref)
		if len(rows) != 1 || !rows[0].UnknownReference || rows[0].TransactionID != nil {
			t.Fatalf("eko_responses %+v", rows)
		}
		if in := inboundByReference(t, a, ref); len(in) != 1 || in[0].Outcome != "unknown_reference" {
			t.Errorf("stored requests %+v", in)
		}
		if _, ok := findTx(t, a, ref); ok {
			t.Error("a stray eko-response created a transaction")
		}
	})

	t.Run("after the final state", func(t *testing.T) {
		ref, wfID := a.CashWithdrawal(t, agentCode, "100")
		if status, r := post(t, a, ekoResponse(t, ref, "0", nil)); status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("first: %d %+v", status, r)
		}
		workflowResult(t, a, wfID)
		a.WaitTxState(t, "", ref, "success")

		// Agreeing, only worded differently: recorded, not flagged.
		status, r := post(t, a, ekoResponse(t, ref, "0", map[string]any{"reason": "again"}))
		if status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("agreeing: %d %+v", status, r)
		}
		if tx := mustTx(t, a, ref); tx.Flagged {
			t.Fatalf("an agreeing late report flagged the transaction: %+v", tx)
		}
		// Contradicting: recorded and flagged.
		status, r = post(t, a, ekoResponse(t, ref, 1, nil))
		if status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("contradicting: %d %+v", status, r)
		}
		tx := mustTx(t, a, ref)
		if !tx.Flagged || !strings.Contains(tx.FlagReason, "tx_status 1") || tx.State != "success" {
			t.Errorf("transaction %+v: want it flagged and still success", tx)
		}
		rows := storedResponses(t, a, ref)
		if len(rows) != 3 || !rows[1].AfterFinal || rows[1].ContradictsFinal || !rows[2].AfterFinal || !rows[2].ContradictsFinal {
			t.Errorf("eko_responses %+v", rows)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wfID); n != 1 {
			t.Errorf("%d outbox signals, want 1 (late reports go to the record, not the closed workflow)", n)
		}
	})

	t.Run("end states", func(t *testing.T) {
		tests := []struct {
			txStatus any
			want     txstate.State
			final    bool
		}{
			{"0", "success", true},
			{0, "success", true},
			{"1", "failed", true},
			{1, "failed", true},
			{"2", "inquiry", false},
			{"9", "needs_review", false},
		}
		for _, tt := range tests {
			name, _ := json.Marshal(tt.txStatus)
			t.Run("tx_status "+string(name), func(t *testing.T) {
				t.Parallel()
				ref, wfID := a.CashWithdrawal(t, agentCode, "100")
				status, r := post(t, a, ekoResponse(t, ref, tt.txStatus, nil))
				if status != http.StatusOK || r.Outcome != "recorded" {
					t.Fatalf("%d %+v", status, r)
				}
				if got := storedResponses(t, a, ref); len(got) != 1 || got[0].TxStatus != strings.Trim(string(name), `"`) {
					t.Fatalf("eko_responses %+v", got)
				}
				var snap workflows.Snapshot
				if tt.final {
					snap = workflowResult(t, a, wfID)
				} else {
					snap = waitWorkflowState(t, a, wfID, tt.want)
				}
				if snap.State != tt.want || snap.Outcomes != 1 {
					t.Errorf("workflow %+v, want %s after one outcome", snap, tt.want)
				}
				a.WaitTxState(t, "", ref, tt.want)
			})
		}
	})
}

// TestEkoResponseRecordedWithoutWorker guards the API's promise: recording never blocks on
// Temporal, so a reply comes within the request budget even with the worker away.
func TestEkoResponseRecordedWithoutWorker(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	ref := apptest.Ref(t)
	if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook: %d %+v", status, r)
	}
	start := time.Now()
	status, r := post(t, a, ekoResponse(t, ref, "0", nil))
	if status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("%d %+v", status, r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("eko-response took %s", d)
	}
	// The start, still waiting, is superseded: the report's SignalWithStart will start the workflow.
	if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND delivered_at IS NULL`, workflows.WorkflowID("eko", ref)); n != 1 {
		t.Errorf("%d undelivered outbox entries, want 1 (the report's; its start superseded)", n)
	}
}
