package api_test

// Helpers shared by the API integration tests. Everything here checks the system from outside:
// HTTP in, PostgreSQL and Temporal looked at directly, signatures recomputed independently.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

const (
	callbackPath = "/eko/aeps/callback"
	agentCode    = "20810200"
	customer     = "9999999999"
	uatOrigin    = "https://stagegateway.eko.in"
)

// reply is the union of every shape the callback endpoint answers with.
type reply struct {
	// debit-hook
	Action             string `json:"action"`
	Allow              *bool  `json:"allow"`
	SecretKey          string `json:"secret_key"`
	SecretKeyTimestamp string `json:"secret_key_timestamp"`
	RequestHash        string `json:"request_hash"`
	ClientRefID        string `json:"client_ref_id"`
	Message            string `json:"message"`
	// eko-response
	Status  string `json:"status"`
	Outcome string `json:"outcome"`
}

func (r reply) allowed() bool { return r.Allow != nil && *r.Allow }

// isRefusal reports the debit-hook refusal shape: {"action":"go","allow":false,"message":...}.
func (r reply) isRefusal() bool {
	return r.Action == "go" && r.Allow != nil && !*r.Allow && r.Message != ""
}

// send posts body to the callback endpoint with optional header pairs.
func send(t testing.TB, a *apptest.App, contentType, body string, headers ...string) (int, reply, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.URL+callbackPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", callbackPath, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("reply is not JSON (%d): %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, r, resp.Header
}

func post(t testing.TB, a *apptest.App, body string) (int, reply) {
	t.Helper()
	status, r, _ := send(t, a, "application/json", body)
	return status, r
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hook is a debit-hook as Eko's gateway page sends it.
type hook struct {
	Ref    string
	Params []string          // request_hash_params; default customer_id, amount, user_code
	Data   map[string]string // detail.data
	Extra  map[string]any    // more top-level fields (custom params)
}

// cashHook is a cash withdrawal by agent for amount.
func cashHook(ref, agent, amount string) hook {
	return hook{Ref: ref, Data: map[string]string{"customer_id": customer, "bank_code": "PUNB", "type": "2", "user_code": agent, "amount": amount}}
}

func (h hook) params() []string {
	if h.Params == nil {
		return []string{"customer_id", "amount", "user_code"}
	}
	return h.Params
}

func (h hook) body(t testing.TB) string {
	t.Helper()
	env := map[string]any{
		"action": "debit-hook",
		"detail": map[string]any{
			"http_method": "POST", "interaction_type_id": 344, "interaction_label": "AePS",
			"client_ref_id": h.Ref, "request_hash_params": h.params(), "data": h.Data,
		},
		"param1": "value1",
	}
	for k, v := range h.Extra {
		env[k] = v
	}
	return mustJSON(t, env)
}

// ekoResponse builds an eko-response like the sample in docs/eko-aeps.md; data entries override
// the sample's.
func ekoResponse(t testing.TB, ref string, txStatus any, data map[string]any) string {
	t.Helper()
	d := map[string]any{
		"tx_status": txStatus, "transaction_date": "", "reason": "", "amount": "100.0", "tds": "0.3",
		"sender_name": "amit", "tid": "T" + ref, "auth_code": "", "balance": "339976.26", "user_code": agentCode,
		"merchantname": "Sneha", "aadhaar": "XXXX XXXX 9999", "customer_balance": "", "commission": "6.0",
		"bank_ref_num": "BRN" + ref, "terminal_id": "",
	}
	for k, v := range data {
		d[k] = v
	}
	return mustJSON(t, map[string]any{
		"action": "eko-response",
		"detail": map[string]any{
			"url": "https://stagegateway.eko.in/v2/api", "client_ref_id": ref, "http_method": "POST", "http_status": 200,
			"interaction_type_id": 344, "is_debithook_response": true, "is_final": true,
			"response": map[string]any{"status": 0, "response_status_id": 0, "response_type_id": 1305,
				"message": "Transaction successful", "data": d},
		},
		"param1": "value1",
	})
}

// checkSigned verifies an allow reply independently of eko/sign: one fresh timestamp, secret_key
// over it, request_hash over it and the exact data strings in request_hash_params order,
// skipping absent names.
func checkSigned(t testing.TB, r reply, h hook, sentAt time.Time) {
	t.Helper()
	if !r.allowed() || r.Action != "go" {
		t.Fatalf("not an allow reply: %+v", r)
	}
	ms, err := strconv.ParseInt(r.SecretKeyTimestamp, 10, 64)
	if err != nil {
		t.Fatalf("secret_key_timestamp %q is not Unix milliseconds", r.SecretKeyTimestamp)
	}
	if ts := time.UnixMilli(ms); ts.Before(sentAt.Add(-2*time.Second)) || ts.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("secret_key_timestamp %s is not fresh (request sent %s)", ts, sentAt)
	}
	if want := apptest.EkoMAC(apptest.DevAccessKey, r.SecretKeyTimestamp); r.SecretKey != want {
		t.Fatalf("secret_key = %q, want %q", r.SecretKey, want)
	}
	msg := r.SecretKeyTimestamp
	for _, p := range h.params() {
		if v, ok := h.Data[p]; ok {
			msg += v
		}
	}
	if want := apptest.EkoMAC(apptest.DevAccessKey, msg); r.RequestHash != want {
		t.Fatalf("request_hash = %q, want HMAC of %q = %q", r.RequestHash, msg, want)
	}
}

// txRow is a transaction as PostgreSQL holds it.
type txRow struct {
	ID          int64         `db:"id"`
	ClientRefID string        `db:"client_ref_id"`
	ProviderRef string        `db:"provider_ref"`
	WorkflowID  string        `db:"workflow_id"`
	TxType      string        `db:"tx_type"`
	Agent       string        `db:"agent_user_code"`
	Customer    string        `db:"customer_mobile"`
	AmountText  string        `db:"amount_text"`
	State       txstate.State `db:"state"`
	Flagged     bool          `db:"flagged"`
	FlagReason  string        `db:"flag_reason"`
}

// findTx returns the transaction whose client_ref_id or provider_ref is ref; ok is false if none.
func findTx(t testing.TB, a *apptest.App, ref string) (txRow, bool) {
	t.Helper()
	var rows []txRow
	err := a.Store.DB().SelectContext(context.Background(), &rows, `SELECT id, client_ref_id, provider_ref, workflow_id,
		tx_type, coalesce(agent_user_code, '') AS agent_user_code, coalesce(customer_mobile, '') AS customer_mobile,
		coalesce(amount_text, '') AS amount_text, state, flagged, flag_reason
		FROM transactions WHERE client_ref_id = $1 OR provider_ref = $1`, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 1 {
		t.Fatalf("%d transactions for %s", len(rows), ref)
	}
	if len(rows) == 0 {
		return txRow{}, false
	}
	return rows[0], true
}

func mustTx(t testing.TB, a *apptest.App, ref string) txRow {
	t.Helper()
	tx, ok := findTx(t, a, ref)
	if !ok {
		t.Fatalf("no transaction for %s", ref)
	}
	return tx
}

// inbound is a stored request.
type inbound struct {
	Outcome       string `db:"outcome"`
	OutcomeDetail string `db:"outcome_detail"`
	HTTPStatus    int    `db:"http_status"`
	Action        string `db:"action"`
	Reference     string `db:"reference"`
	Body          []byte `db:"body"`
	BodySize      int64  `db:"body_size"`
	Truncated     bool   `db:"body_truncated"`
	Redacted      bool   `db:"body_redacted"`
	Headers       []byte `db:"headers"`
}

const inboundColumns = `outcome, outcome_detail, http_status, action, reference, body, body_size, body_truncated, body_redacted, headers`

// inboundByReference returns the requests recorded under ref, oldest first.
func inboundByReference(t testing.TB, a *apptest.App, ref string) []inbound {
	t.Helper()
	var rows []inbound
	if err := a.Store.DB().SelectContext(context.Background(), &rows, `SELECT `+inboundColumns+`
		FROM inbound_requests WHERE reference = $1 ORDER BY id`, ref); err != nil {
		t.Fatal(err)
	}
	return rows
}

// newMarker returns a unique marker to find a stored request by: letters, not digits, because a
// body that is not JSON is stored with its long digit runs masked.
func newMarker(t testing.TB) string {
	return "M" + strings.Map(func(r rune) rune { return 'a' + (r - '0') }, apptest.Ref(t))
}

// inboundByMarker returns the one request whose stored body contains marker.
func inboundByMarker(t testing.TB, a *apptest.App, marker string) inbound {
	t.Helper()
	var rows []inbound
	if err := a.Store.DB().SelectContext(context.Background(), &rows, `SELECT `+inboundColumns+`
		FROM inbound_requests WHERE position(convert_to($1, 'UTF8') IN body) > 0`, marker); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d stored requests contain %q, want 1", len(rows), marker)
	}
	return rows[0]
}

// waitFor is testenv.WaitFor; a local name keeps call sites short.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, cond)
}

// workflowStatus waits until Temporal knows the workflow and returns its status.
func workflowStatus(t testing.TB, a *apptest.App, wfID string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	var status enumspb.WorkflowExecutionStatus
	waitFor(t, 45*time.Second, "workflow "+wfID+" to exist", func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := a.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			return false, err
		}
		if tq := resp.GetExecutionConfig().GetTaskQueue().GetName(); tq != a.Config.TemporalTaskQueue {
			t.Fatalf("workflow %s on task queue %q, want %q", wfID, tq, a.Config.TemporalTaskQueue)
		}
		status = resp.GetWorkflowExecutionInfo().GetStatus()
		return true, nil
	})
	return status
}

// workflowResult waits for the workflow to complete and returns its final snapshot.
func workflowResult(t testing.TB, a *apptest.App, wfID string) workflows.Snapshot {
	t.Helper()
	workflowStatus(t, a, wfID)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var snap workflows.Snapshot
	if err := a.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, &snap); err != nil {
		t.Fatalf("result of %s: %v", wfID, err)
	}
	return snap
}

// waitWorkflowState queries the running workflow until it reports state.
func waitWorkflowState(t testing.TB, a *apptest.App, wfID string, state txstate.State) workflows.Snapshot {
	t.Helper()
	var snap workflows.Snapshot
	waitFor(t, 45*time.Second, "workflow "+wfID+" in state "+string(state), func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := a.Temporal.QueryWorkflow(ctx, wfID, "", workflows.QueryState)
		var notReady *serviceerror.WorkflowNotReady
		if errors.As(err, &notReady) && state == txstate.Pending {
			// Still in the relay's start delay: no task has run, so it is pending.
			snap = workflows.Snapshot{State: txstate.Pending}
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if err := v.Get(&snap); err != nil {
			return false, err
		}
		return snap.State == state, nil
	})
	return snap
}

// signalsReceived counts the signals in the workflow's history.
func signalsReceived(t testing.TB, a *apptest.App, wfID string) int {
	t.Helper()
	return countHistoryEvents(t, a, wfID, func(ev *historypb.HistoryEvent) bool {
		return ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
	})
}

// countHistoryEvents counts the events of the workflow's history for which match holds.
func countHistoryEvents(t testing.TB, a *apptest.App, wfID string, match func(*historypb.HistoryEvent) bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := a.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", wfID, err)
		}
		if match(ev) {
			n++
		}
	}
	return n
}

// terminateAtEnd terminates the workflow when the test ends (before the system stops), so that
// open workflows do not pile up on the shared dev server.
func terminateAtEnd(t testing.TB, a *apptest.App, wfID string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Temporal.TerminateWorkflow(ctx, wfID, "", "test finished")
	})
}

// admin calls the admin API; token "" sends no Authorization header.
func admin(t testing.TB, a *apptest.App, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s %s: reply is not a JSON object (%d): %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// pendingInquirer answers every Transaction Inquiry with "still in progress".
type pendingInquirer struct{}

func (pendingInquirer) Inquire(context.Context, string, string) (activities.InquiryResult, error) {
	return activities.InquiryResult{Class: activities.ClassPending, TxStatus: "2"}, nil
}

func (pendingInquirer) Permanent(error) bool { return false }

// pqArray passes a string slice as a PostgreSQL text[] parameter.
func pqArray(s []string) any { return pq.Array(s) }

// teeReader reads resp's body while copying it into w.
func teeReader(resp *http.Response, w io.Writer) io.Reader { return io.TeeReader(resp.Body, w) }
