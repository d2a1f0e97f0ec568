//go:build record

package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestRecordHistories drives each path of the Transaction workflow through the real system (HTTP
// API, PostgreSQL, outbox relay, worker, Temporal dev server) with a scripted Transaction
// Inquiry, and exports each workflow's history to testdata/histories/<path>.json, the format of
// `temporal workflow show --output json`, for TestReplayHistories. Run it with
// scripts/record-histories.sh after any change to the workflow code.
func TestRecordHistories(t *testing.T) {
	inq := &scriptedInquirer{scripts: map[string][]answer{}, calls: map[string]int{}}
	// Events to the platform are on (platform-events): the receiver refuses each event's first
	// delivery, so that the histories hold a retried SendEvent too.
	var seenMu sync.Mutex
	seen := map[string]bool{}
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		seenMu.Lock()
		first := !seen[key]
		seen[key] = true
		seenMu.Unlock()
		if first {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(platform.Close)
	a := apptest.Start(t, apptest.Options{Inquirer: inq, Env: map[string]string{
		"WEBHOOK_URL": platform.URL, "WEBHOOK_SECRET": "record-histories-secret-0123", "WEBHOOK_INITIAL_BACKOFF": "200ms",
		"WEBHOOK_MAX_BACKOFF":  "1s",
		"EKO_RESPONSE_TIMEOUT": "2s", "INQUIRY_INITIAL_BACKOFF": "200ms", "INQUIRY_MAX_BACKOFF": "1s",
		"INQUIRY_NOT_FOUND_GRACE": "2s", "INQUIRY_DEADLINE": "20s", "PARTNER_UNKNOWN_REVIEW_AFTER": "2s",
		"VERIFY_SUCCESS": "true", "VERIFY_FAILURE": "true", "PARTNER_CLIENTS": recPartner + ":" + recPartnerSecret,
	}})
	const agent = "20810200"
	limit, amount := 1000, "10000000"
	a.RegisterAgent(agent, &limit, &amount)

	ok := func(r activities.InquiryResult) answer { return answer{res: r} }
	paths := []struct {
		name        string
		txStatuses  []string      // eko-responses after the debit-hook
		respondIn   txstate.State // wait for this state before sending the eko-responses
		inquiries   []answer      // the last one repeats
		wantEvents  []string      // state changes recorded in PostgreSQL, in order
		resolve     txstate.State // operator's resolution once in needs_review
		partner     []string      // partner statuses, each a callback with its own txnId, instead of Eko's
		amounts     []string      // the partner callbacks' txnAmount (default 2000)
		wantKind    string        // an event (no state change) that must be recorded too
		wantState   txstate.State
		wantRunning bool // parked in needs_review
	}{
		{name: "success_verified", txStatuses: []string{"0"}, inquiries: []answer{ok(final("0"))},
			wantEvents: []string{"inquiry", "success"}, wantState: "success"},
		{name: "failed_verified", txStatuses: []string{"1"}, inquiries: []answer{ok(final("1"))},
			wantEvents: []string{"inquiry", "failed"}, wantState: "failed"},
		{name: "forged_failure_needs_review", txStatuses: []string{"1"}, inquiries: []answer{ok(final("0"))},
			wantEvents: []string{"inquiry", "needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "refund_verified", txStatuses: []string{"4"}, inquiries: []answer{ok(final("4"))},
			wantEvents: []string{"inquiry", "reversed"}, wantState: "reversed"},
		{name: "no_callback_inquiry_success", inquiries: []answer{ok(pending), ok(final("0"))},
			wantEvents: []string{"inquiry", "success"}, wantState: "success"},
		{name: "pending_then_failed", txStatuses: []string{"2"}, inquiries: []answer{ok(pending), ok(pending), ok(final("1"))},
			wantEvents: []string{"inquiry", "failed"}, wantState: "failed"},
		{name: "inquiry_retried_then_success", txStatuses: []string{"2"},
			inquiries:  []answer{{err: errors.New("connection reset by peer")}, ok(final("0"))},
			wantEvents: []string{"inquiry", "success"}, wantState: "success"},
		// Eko's inquiry API keeps failing; an eko-response parks the transaction meanwhile and
		// the inquiry still being retried is abandoned.
		{name: "callback_during_failing_inquiry", respondIn: "inquiry", txStatuses: []string{"9"},
			inquiries:  []answer{{err: errors.New("connection refused")}},
			wantEvents: []string{"inquiry", "needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "pending_until_deadline_needs_review", txStatuses: []string{"2"}, inquiries: []answer{ok(pending)},
			wantEvents: []string{"inquiry", "needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "verify_denied_needs_review", txStatuses: []string{"0"}, inquiries: []answer{ok(final("1"))},
			wantEvents: []string{"inquiry", "needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "suspicious_needs_review", txStatuses: []string{"9"},
			wantEvents: []string{"needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "reversal", txStatuses: []string{"3"}, inquiries: []answer{ok(reversalPending), ok(reversalPending), ok(final("4"))},
			wantEvents: []string{"reversal_pending", "reversed"}, wantState: "reversed"},
		{name: "expired_not_found", inquiries: []answer{ok(notFound)},
			wantEvents: []string{"inquiry", "expired"}, wantState: "expired"},
		{name: "resolved_by_operator", txStatuses: []string{"9"}, resolve: "failed",
			wantEvents: []string{"needs_review", "failed"}, wantState: "failed"},
		{name: "partner_success", partner: []string{"SUCCESS"},
			wantEvents: []string{"success"}, wantState: "success"},
		// compare-reported-amount: Eko confirms a success for another amount than allowed.
		{name: "inquiry_amount_mismatch_needs_review", txStatuses: []string{"0"},
			inquiries:  []answer{ok(activities.InquiryResult{Class: activities.ClassFinal, TxStatus: "0", Amount: "10000.0", TID: "2881234567", BankRefNum: "230612077853"})},
			wantEvents: []string{"inquiry", "needs_review"}, wantState: "needs_review", wantRunning: true},
		{name: "partner_amount_mismatch_needs_review", partner: []string{"DEBIT TIMEOUT", "SUCCESS"}, amounts: []string{"2000", "9000"},
			respondIn: "unknown", wantEvents: []string{"unknown", "needs_review"}, wantState: "needs_review", wantRunning: true},
		// Neither success nor failure, so review after the window; the partner's final answer
		// then arrives and is recorded for the operator (record-partner-report-in-review).
		{name: "partner_unknown_review_then_report", partner: []string{"DEBIT TIMEOUT", "SUCCESS"}, respondIn: "needs_review",
			wantEvents: []string{"unknown", "needs_review"}, wantKind: "outcome_in_review", wantState: "needs_review", wantRunning: true},
	}
	// Histories go to a fresh directory and replace the kept ones only if every path passed.
	outDir := t.TempDir()
	t.Cleanup(func() {
		written, _ := filepath.Glob(filepath.Join(outDir, "*.json"))
		if t.Failed() || t.Skipped() || len(written) != len(paths) {
			t.Logf("not replacing testdata/histories: %d of %d paths recorded", len(written), len(paths))
			return
		}
		if err := replaceHistories(outDir, filepath.Join("testdata", "histories", historySet)); err != nil {
			t.Error(err)
		}
	})

	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ref := apptest.Ref(t)
			inq.script(ref, p.inquiries)
			provider := txstate.ProviderEko
			if len(p.partner) > 0 {
				provider = txstate.PartnerPrefix + recPartner
			}
			wid := workflows.WorkflowID(provider, ref)

			for i, st := range p.partner {
				if i == len(p.partner)-1 && p.respondIn != "" {
					a.WaitTxState(t, provider, ref, p.respondIn)
				}
				amount := "2000"
				if i < len(p.amounts) {
					amount = p.amounts[i]
				}
				postPartner(t, a, ref, fmt.Sprintf("9%s%02d", ref, i), st, amount)
			}
			if len(p.partner) == 0 {
				a.DebitHook(t, ref, agent)
			}
			if p.respondIn != "" && len(p.partner) == 0 {
				a.WaitTxState(t, provider, ref, p.respondIn)
			}
			for i, s := range p.txStatuses {
				post(t, a.URL+"/eko/aeps/callback", "", fmt.Sprintf(`{"action":"eko-response","detail":{"client_ref_id":%q,`+
					`"response":{"status":0,"message":"recorded","data":{"tx_status":%q,"amount":"100.0","tid":"%d%s",`+
					`"bank_ref_num":"BRN%d","user_code":%q,"aadhaar":"XXXX XXXX 9999"}}}}`, ref, s, 9000+i, ref[:6], i, agent),
					`"status":"ok"`)
			}
			if p.resolve != "" {
				a.WaitTxState(t, provider, ref, "needs_review")
				post(t, a.URL+"/v1/transactions/"+ref+"/resolve", "Bearer "+apptest.AdminToken,
					fmt.Sprintf(`{"state":%q,"reason":"bank statement shows no debit"}`, p.resolve), `"accepted"`)
			}
			a.WaitTxState(t, provider, ref, p.wantState)
			if p.wantKind != "" {
				waitEvent(t, a, ref, provider, p.wantKind)
			}
			// The TxState search attribute is upserted by the workflow task after the Record
			// activity: waiting for it also makes sure the history is complete.
			testenv.WaitFor(t, 60*time.Second, wid+" TxState "+string(p.wantState), func() (bool, error) {
				d, err := a.Temporal.DescribeWorkflowExecution(ctx, wid, "")
				if err != nil {
					return false, err
				}
				info := d.GetWorkflowExecutionInfo()
				running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
				if !running && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
					return false, fmt.Errorf("workflow %s is %s", wid, info.GetStatus())
				}
				// A parked workflow is recorded once it waits for a signal and nothing else: no
				// workflow task or activity in flight (a history cut inside a workflow task would
				// not replay that task).
				quiet := !running || (d.GetPendingWorkflowTask() == nil && len(d.GetPendingActivities()) == 0)
				return keyword(info.GetSearchAttributes(), "TxState") == string(p.wantState) && running == p.wantRunning && quiet, nil
			})
			checkEvents(t, a, ref, provider, p.wantEvents)

			hist := history(t, a, wid)
			file := filepath.Join(outDir, p.name+".json")
			b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatalf("encode history of %s: %v", wid, err)
			}
			if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(discardLogger(), file); err != nil {
				t.Fatalf("replay the history just recorded: %v", err)
			}
			t.Logf("%s: %d events", p.name, len(hist.GetEvents()))
		})
	}
}

type answer struct {
	res activities.InquiryResult
	err error
}

// scriptedInquirer answers each reference's inquiries from its script, repeating the last answer.
type scriptedInquirer struct {
	mu      sync.Mutex
	scripts map[string][]answer
	calls   map[string]int
}

func (s *scriptedInquirer) script(ref string, as []answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[ref] = as
}

func (s *scriptedInquirer) Inquire(_ context.Context, ref, _ string) (activities.InquiryResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := s.scripts[ref]
	if len(as) == 0 {
		return activities.InquiryResult{}, fmt.Errorf("no inquiry script for %s", ref)
	}
	n := s.calls[ref]
	s.calls[ref]++
	a := as[min(n, len(as)-1)]
	return a.res, a.err
}

func (s *scriptedInquirer) Permanent(error) bool { return false }

func post(t *testing.T, url, auth, body, want string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 || !strings.Contains(string(got), want) {
		t.Fatalf("POST %s %s: %d %s, want %s", url, body, resp.StatusCode, got, want)
	}
}

// The partner of the recorded partner paths.
const (
	recPartner       = "rec"
	recPartnerSecret = "rec-secret-0123456789"
)

// postPartner delivers a partner status callback for ref (a cash withdrawal) and requires "0".
func postPartner(t *testing.T, a *apptest.App, ref, txnID, status, amount string) {
	t.Helper()
	body := fmt.Sprintf(`{"statusDesc":"as reported","createdDate":"2022-11-02 12:12:13","updatedDate":"2022-11-02 12:12:50",`+
		`"productCode":"AEPS","txnType":"AEPS_CASH_WITHDRAWAL","txnAmount":%q,"txnDateTime":"2022-11-02 12:12:50",`+
		`"customeridentIfication":"xxxx-xxxx-5604","status":%q,"rrn":"230612077853","txnId":%s,"username":"Sagarikatest",`+
		`"ClientRefID":%q,"param_b":"771","param_c":""}`, amount, status, txnID, ref)
	req, err := http.NewRequest(http.MethodPost, a.URL+"/partner/aeps/callback", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client_id", recPartner)
	req.Header.Set("client_secret", recPartnerSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"status":"0"`) {
		t.Fatalf("partner callback %s: %d %s", status, resp.StatusCode, got)
	}
}

func findTx(t *testing.T, a *apptest.App, ref, provider string) (db.Transaction, bool) {
	t.Helper()
	txs, err := a.Store.FindTransactions(context.Background(), ref, provider)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 1 {
		return db.Transaction{}, false
	}
	return txs[0], true
}

// waitEvent waits until the transaction's history holds an event of kind.
func waitEvent(t *testing.T, a *apptest.App, ref, provider, kind string) {
	t.Helper()
	testenv.WaitFor(t, 60*time.Second, ref+" event "+kind, func() (bool, error) {
		tx, ok := findTx(t, a, ref, provider)
		if !ok {
			return false, nil
		}
		evs, err := a.Store.Events(context.Background(), tx.ID)
		return slices.ContainsFunc(evs, func(e db.StoredEvent) bool { return e.Kind == kind }), err
	})
}

// checkEvents compares the state changes the Record activity wrote to PostgreSQL.
func checkEvents(t *testing.T, a *apptest.App, ref, provider string, want []string) {
	t.Helper()
	tx, ok := findTx(t, a, ref, provider)
	if !ok {
		t.Fatalf("find %s: not exactly one transaction", ref)
	}
	evs, err := a.Store.Events(context.Background(), tx.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.To != "" && e.Kind != "created" { // "created" (to pending) is the API's, not the workflow's
			got = append(got, string(e.To))
		}
	}
	if !slices.Equal(got, want) {
		b, _ := json.Marshal(evs)
		t.Fatalf("state changes %v, want %v (events %s)", got, want, b)
	}
}

func keyword(sa *commonpb.SearchAttributes, name string) string {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

func history(t *testing.T, a *apptest.App, wid string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := a.Temporal.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", wid, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// historySet is the directory the recorder (re)writes: one per workflow version, so that the
// histories of earlier versions stay and keep proving that running workflows still replay.
const historySet = "v7"

func replaceHistories(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(to, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	fresh, err := filepath.Glob(filepath.Join(from, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range fresh {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
