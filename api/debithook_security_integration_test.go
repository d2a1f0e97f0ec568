package api_test

// Regression tests for the debit-hook side of issue 10: an allowed debit-hook's request_hash
// covers exactly what aepsflow booked, and nothing in an edited debit-hook can change that.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/workflows"
)

// aadhaarNumber has a valid Verhoeff check digit.
const aadhaarNumber = "234567890124"

// rawHook is a debit-hook whose request_hash_params and data are given as raw JSON, so that
// names, types and numbers arrive exactly as written.
func rawHook(ref, params, data string) string {
	return `{"action":"debit-hook","detail":{"http_method":"POST","interaction_type_id":344,"interaction_label":"AePS",` +
		`"client_ref_id":"` + ref + `","request_hash_params":` + params + `,"data":` + data + `},"param1":"value1"}`
}

// booked is what PostgreSQL holds of a transaction's booking.
type booked struct {
	TxType    string `db:"tx_type"`
	Customer  string `db:"customer_mobile"`
	Amount    string `db:"amount_text"`
	Agent     string `db:"agent_user_code"`
	BankCode  string `db:"bank_code"`
	Timestamp string `db:"secret_key_timestamp"`
}

func bookedRow(t testing.TB, a *apptest.App, where string, arg any) booked {
	t.Helper()
	var b booked
	err := a.Store.DB().GetContext(context.Background(), &b, `SELECT tx_type, coalesce(customer_mobile, '') AS customer_mobile,
		coalesce(amount_text, '') AS amount_text, coalesce(agent_user_code, '') AS agent_user_code,
		coalesce(bank_code, '') AS bank_code, coalesce(secret_key_timestamp, '') AS secret_key_timestamp
		FROM transactions WHERE `+where, arg)
	if err != nil {
		t.Fatalf("booked row: %v", err)
	}
	return b
}

// checkSignsBooked holds the invariant for an allow reply: its request_hash is Eko's HMAC over
// secret_key_timestamp + customer_id + amount + user_code of the booked row (no amount but for a
// cash withdrawal), its timestamp is the one stored with the row, and secret_key signs it.
// Computed from scratch (ekoMAC), not with the code under test.
func checkSignsBooked(t testing.TB, r reply, b booked) {
	t.Helper()
	if !r.allowed() || r.Action != "go" {
		t.Fatalf("not an allow reply: %+v", r)
	}
	if b.Timestamp == "" || r.SecretKeyTimestamp != b.Timestamp {
		t.Fatalf("secret_key_timestamp %q, the booked row holds %q", r.SecretKeyTimestamp, b.Timestamp)
	}
	if want := apptest.EkoMAC(apptest.DevAccessKey, b.Timestamp); r.SecretKey != want {
		t.Fatalf("secret_key = %q, want %q", r.SecretKey, want)
	}
	msg := b.Timestamp + b.Customer + b.Agent
	if b.TxType == "cash_withdrawal" {
		msg = b.Timestamp + b.Customer + b.Amount + b.Agent
	}
	if want := apptest.EkoMAC(apptest.DevAccessKey, msg); r.RequestHash != want {
		t.Fatalf("request_hash = %q, want Eko's hash of the booked %q = %q (booked %+v)", r.RequestHash, msg, want, b)
	}
}

// sameReply compares two replies field by field (Allow is a pointer).
func sameReply(x, y reply) bool {
	xa, ya := x.Allow, y.Allow
	x.Allow, y.Allow = nil, nil
	return x == y && (xa == nil) == (ya == nil) && (xa == nil || *xa == *ya)
}

// TestDebitHookSignsOnlyTheBooking (issue 10, finding 1): an edited debit-hook cannot make the
// reply sign a withdrawal other than the one booked. The three ways found (a balance inquiry
// carrying an amount, a list that signs another field instead of amount, a list that adds
// bank_code) are refused, even for an agent at the daily limit, and book nothing; the lists Eko
// documents are allowed and signed over the booked row.
func TestDebitHookSignsOnlyTheBooking(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	// An agent who has used up the day's withdrawals: the disguised withdrawal must not get past
	// the limit as something else.
	const limited = "20810277"
	one := 1
	a.RegisterAgent(limited, &one, nil)
	if status, r := post(t, a, cashHook(apptest.Ref(t), limited, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("the limited agent's one withdrawal: %d %+v", status, r)
	}
	if status, r := post(t, a, cashHook(apptest.Ref(t), limited, "100").body(t)); r.allowed() || !strings.Contains(r.Message, "daily limit") {
		t.Fatalf("the limited agent's second withdrawal: %d %+v, want the daily limit", status, r)
	}

	refused := []struct {
		name, params, data string
		wantMessage        string // names the field
	}{
		{"type 3 with amount 10000", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + limited + `","amount":"10000"}`,
			"amount must not be sent with a balance inquiry"},
		{"type 4 with amount 10000", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"4","user_code":"` + limited + `","amount":10000}`,
			"amount must not be sent with a balance inquiry or mini statement"},
		{"amt2 signed instead of amount", `["customer_id","amt2","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100","amt2":"10000"}`,
			"request_hash_params names amt2"},
		{"bank_code signed with amount", `["customer_id","amount","bank_code","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"0","type":"2","user_code":"` + agentCode + `","amount":"1000"}`,
			"request_hash_params names bank_code"},
		{"amount named twice", `["customer_id","amount","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100"}`,
			"names amount more than once"},
		{"amount sent twice", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100","amount":"10000"}`,
			"data.amount is sent more than once"},
		{"cash withdrawal in another order", `["user_code","amount","customer_id"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100"}`,
			"must be customer_id, amount, user_code, in that order"},
		{"cash withdrawal that leaves amount out", `["customer_id","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100"}`,
			"must be customer_id, amount, user_code, in that order"},
		{"bank_code not a bank code", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB 1","type":"2","user_code":"` + agentCode + `","amount":"100"}`,
			"bank_code must be a bank code"},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			status, r := post(t, a, rawHook(ref, tt.params, tt.data))
			if status != http.StatusBadRequest || !r.isRefusal() || r.RequestHash != "" || r.SecretKey != "" {
				t.Fatalf("status %d reply %+v, want a 400 refusal without a signature", status, r)
			}
			if !strings.Contains(r.Message, tt.wantMessage) || !strings.Contains(r.Message, "Please start a new transaction") {
				t.Errorf("message %q: want it to name the field (%q) and say what to do", r.Message, tt.wantMessage)
			}
			if _, ok := findTx(t, a, ref); ok {
				t.Error("a refused debit-hook booked a transaction")
			}
			rows := inboundByReference(t, a, ref)
			if len(rows) != 1 || rows[0].Outcome != "invalid" || !strings.Contains(rows[0].OutcomeDetail, tt.wantMessage) {
				t.Errorf("stored %+v", rows)
			}
		})
	}

	allowed := []struct {
		name, params, data string
		wantType           string
	}{
		{"guide cash withdrawal", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100"}`, "cash_withdrawal"},
		{"cash withdrawal, numbers as JSON numbers", `["customer_id","amount","user_code"]`,
			`{"customer_id":9999999999,"bank_code":607094,"type":2,"user_code":` + agentCode + `,"amount":2500.00}`, "cash_withdrawal"},
		{"balance inquiry, the documented list with amount absent", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + agentCode + `"}`, "balance_inquiry"},
		{"balance inquiry without amount in the list", `["customer_id","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + agentCode + `"}`, "balance_inquiry"},
		{"mini statement, the documented list", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"SBIN0001234","type":4,"user_code":"` + agentCode + `"}`, "mini_statement"},
		{"mini statement without amount in the list", `["customer_id","user_code"]`,
			`{"customer_id":"9999999999","type":"4","user_code":"` + agentCode + `"}`, "mini_statement"},
		{"balance inquiry for the agent at the limit", `["customer_id","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + limited + `"}`, "balance_inquiry"},
	}
	for _, tt := range allowed {
		t.Run("allowed: "+tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			status, r := post(t, a, rawHook(ref, tt.params, tt.data))
			if status != http.StatusOK || !r.allowed() {
				t.Fatalf("status %d reply %+v, want allowed", status, r)
			}
			b := bookedRow(t, a, "provider_ref = $1", ref)
			if b.TxType != tt.wantType {
				t.Fatalf("booked as %s, want %s", b.TxType, tt.wantType)
			}
			if (b.Amount != "") != (tt.wantType == "cash_withdrawal") {
				t.Fatalf("booked amount %q on a %s", b.Amount, b.TxType)
			}
			checkSignsBooked(t, r, b)
		})
	}
}

// TestDebitHookRepeatGetsTheFirstConfirmation (issue 10, finding 2): a repeated debit-hook gets
// the first allow's confirmation again (its timestamp, so the same secret_key and request_hash),
// never a new one; and once an eko-response exists for the reference, a repeat is refused,
// although the workflow has not moved the transaction's state (here it never runs).
func TestDebitHookRepeatGetsTheFirstConfirmation(t *testing.T) {
	t.Parallel()
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own client_ref_id %v", own), func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if own {
				env["CLIENT_REF_ID_SOURCE"] = "own"
			}
			a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: env})
			a.RegisterAgent(agentCode, nil, nil)
			for _, txStatus := range []string{"0", "2", "1"} {
				t.Run("eko-response tx_status "+txStatus, func(t *testing.T) {
					ref := apptest.Ref(t)
					h := cashHook(ref, agentCode, "100")
					status, first := post(t, a, h.body(t))
					if status != http.StatusOK || !first.allowed() {
						t.Fatalf("first: %d %+v", status, first)
					}
					// Let the clock pass the first timestamp, so that a fresh one would differ.
					waitFor(t, 5*time.Second, "the clock to move past the first allow", func() (bool, error) {
						return fmt.Sprint(time.Now().UnixMilli()) > first.SecretKeyTimestamp, nil
					})
					for i := range 2 {
						status, again := post(t, a, h.body(t))
						if status != http.StatusOK || !sameReply(again, first) {
							t.Fatalf("repeat %d: %d %+v\nwant the first confirmation again %+v", i, status, again, first)
						}
					}
					// The eko-response comes under our reference (Eko's unless own).
					ours := ref
					if own {
						ours = first.ClientRefID
					}
					if status, r := post(t, a, ekoResponse(t, ours, txStatus, nil)); status != http.StatusOK || r.Status != "ok" {
						t.Fatalf("eko-response: %d %+v", status, r)
					}
					status, after := post(t, a, h.body(t))
					if status != http.StatusOK || !after.isRefusal() || after.RequestHash != "" {
						t.Fatalf("repeat after the eko-response: %d %+v, want a refusal", status, after)
					}
					if !strings.Contains(after.Message, "Please start a new transaction") {
						t.Errorf("refusal %q does not say what to do", after.Message)
					}
					for _, state := range []string{"pending", "success", "failed", "inquiry", "reported"} {
						if strings.Contains(after.Message, state) {
							t.Errorf("refusal %q exposes the state %q", after.Message, state)
						}
					}
					if tx := mustTx(t, a, ref); tx.State != "pending" {
						t.Fatalf("transaction %s: the refusal must not depend on the state moving", tx.State)
					}
					rows := inboundByReference(t, a, ref)
					last := rows[len(rows)-1]
					if last.Outcome != "refused" || !strings.HasPrefix(last.OutcomeDetail, "already_reported") {
						t.Errorf("stored %q %q, want refused already_reported", last.Outcome, last.OutcomeDetail)
					}
					if n := a.QueryInt(t, `SELECT count(*) FROM transactions WHERE provider_ref = $1`, ref); n != 1 {
						t.Errorf("%d transactions", n)
					}
					checkSignsBooked(t, first, bookedRow(t, a, "provider_ref = $1", ref))
				})
			}
		})
	}
}

// TestEkoResponseBeforeDebitHookDoesNotBlockIt (issue 10, finding 4): an eko-response for a
// reference that has no debit-hook yet (a forgery: Eko waits for our reply before it proceeds)
// does not make the genuine debit-hook that follows refused. The debit-hook is decided on its own
// merits: allowed and signed over its booking, and refused only for its own reasons.
func TestEkoResponseBeforeDebitHookDoesNotBlockIt(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{})
	a.RegisterAgent(agentCode, nil, nil)

	ref := apptest.Ref(t)
	wfID := workflows.WorkflowID("eko", ref)
	terminateAtEnd(t, a, wfID)
	if status, r := post(t, a, ekoResponse(t, ref, "0", nil)); status != http.StatusOK || r.Status != "ok" {
		t.Fatalf("early eko-response: %d %+v", status, r)
	}
	status, r := post(t, a, cashHook(ref, agentCode, "100").body(t))
	if status != http.StatusOK || !r.allowed() {
		t.Fatalf("genuine debit-hook after a forged eko-response: %d %+v, want allowed", status, r)
	}
	checkSignsBooked(t, r, bookedRow(t, a, "provider_ref = $1", ref))
	if tx := mustTx(t, a, ref); tx.State != "pending" {
		t.Errorf("transaction %+v, want pending", tx)
	}
	if rows := inboundByReference(t, a, ref); len(rows) != 2 || rows[1].Outcome != "allowed" {
		t.Errorf("stored %+v", rows)
	}
	waitWorkflowState(t, a, wfID, "pending")

	// On its own merits: refused for what is wrong with it, not for the early response.
	other := apptest.Ref(t)
	if status, r := post(t, a, ekoResponse(t, other, "0", nil)); status != http.StatusOK {
		t.Fatalf("early eko-response: %d %+v", status, r)
	}
	status, r = post(t, a, cashHook(other, "20819999", "100").body(t))
	if status != http.StatusOK || !r.isRefusal() || !strings.Contains(r.Message, "cannot make AePS transactions") {
		t.Fatalf("unknown agent's debit-hook: %d %+v, want refused as an unknown agent", status, r)
	}
}

// TestDebitHookAadhaarNeverStored (issue 10, finding 6, debit-hook side): a full Aadhaar number
// sent as bank_code, as the amount of a balance inquiry or of a withdrawal, as user_code or in a
// custom parameter is refused where it is a field we would book, and reaches no transaction row,
// outbox payload, stored request, event or log line in full, refused or not.
func TestDebitHookAadhaarNeverStored(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	tests := []struct {
		name, params, data string
		extra              string // more top-level members
		wantAllowed        bool
		wantMessage        string
	}{
		{"bank_code", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"` + aadhaarNumber + `","type":"2","user_code":"` + agentCode + `","amount":"100"}`, "", false, "bank_code must be a bank code"},
		{"bank_code as a JSON number", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":` + aadhaarNumber + `,"type":"3","user_code":"` + agentCode + `"}`, "", false, "bank_code must be a bank code"},
		{"amount of a balance inquiry", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + agentCode + `","amount":"` + aadhaarNumber + `"}`, "", false, "amount must not be sent"},
		{"amount of a balance inquiry as a JSON number", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"` + agentCode + `","amount":` + aadhaarNumber + `}`, "", false, "amount must not be sent"},
		{"amount of a withdrawal", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"` + aadhaarNumber + `"}`, "", false, "amount is not a valid amount"},
		{"user_code", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + aadhaarNumber + `","amount":"100"}`, "", false, "user_code must be the agent's code"},
		{"escaped in an unsigned field of an allowed debit-hook", `["customer_id","amount","user_code"]`,
			`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"` + agentCode + `","amount":"100","note":"\u0032345678901\u00324"}`,
			`,"param2":` + aadhaarNumber, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			body := rawHook(ref, tt.params, tt.data)
			body = body[:len(body)-1] + tt.extra + "}"
			status, r := post(t, a, body)
			if tt.wantAllowed {
				if status != http.StatusOK || !r.allowed() {
					t.Fatalf("status %d %+v, want allowed", status, r)
				}
				checkSignsBooked(t, r, bookedRow(t, a, "provider_ref = $1", ref))
			} else if status != http.StatusBadRequest || !r.isRefusal() || !strings.Contains(r.Message, tt.wantMessage) {
				t.Fatalf("status %d %+v, want a refusal saying %q", status, r, tt.wantMessage)
			}
			if strings.Contains(r.Message, aadhaarNumber) {
				t.Errorf("the reply quotes the number: %q", r.Message)
			}
			rows := inboundByReference(t, a, ref)
			if len(rows) != 1 || !rows[0].Redacted {
				t.Fatalf("stored %+v, want one request, its body marked redacted", rows)
			}
		})
	}
	// Every place a debit-hook writes to, as text, for all the requests above at once.
	for _, q := range []string{
		`SELECT coalesce(string_agg(row_to_json(t)::text, '|'), '') FROM transactions t`,
		`SELECT coalesce(string_agg(payload::text, '|'), '') FROM outbox`,
		`SELECT coalesce(string_agg(row_to_json(e)::text, '|'), '') FROM tx_events e`,
		`SELECT coalesce(string_agg(convert_from(body, 'UTF8') || outcome_detail || headers::text || reference, '|'), '') FROM inbound_requests`,
	} {
		var got string
		if err := a.Store.DB().GetContext(context.Background(), &got, q); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, aadhaarNumber) {
			t.Errorf("%s\nholds %s: %s", q, aadhaarNumber, got)
		}
	}
	if logs, whole := a.Logs(); !whole || strings.Contains(logs, aadhaarNumber) || !strings.Contains(logs, "debit-hook allowed") {
		t.Errorf("logs (whole: %v) hold %s, or lack the allowed line:\n%s", whole, aadhaarNumber, logs)
	}
}
