package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
)

// historyLength counts the events in a workflow's history.
func historyLength(t testing.TB, a *apptest.App, wfID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := a.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			t.Fatalf("history of %s: %v", wfID, err)
		}
		n++
	}
	return n
}

// TestForgedEkoResponsesCannotGrowTheWorkflow (issue 10, finding 5): 10,000 forged eko-responses,
// each with another message and any tx_status, for one pending transaction. Each is stored, but
// only the first of each tx_status class reaches the workflow, and none past EKO_MAX_REPORTS, so
// its history stays under a fixed bound (before: three events or more per report, and Temporal
// terminates a workflow at its history limit). The transaction is flagged once for the flood.
func TestForgedEkoResponsesCannotGrowTheWorkflow(t *testing.T) {
	const (
		forged     = 10000
		maxReports = 20
		bound      = 60 // history events
	)
	a := apptest.Start(t, apptest.Options{Inquirer: pendingInquirer{}, Env: map[string]string{
		"EKO_MAX_REPORTS": fmt.Sprint(maxReports), "REQUEST_TIMEOUT": "30s", "INQUIRY_INITIAL_BACKOFF": "1h",
	}})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100")
	waitFor(t, 60*time.Second, "the workflow started", func() (bool, error) {
		return workflowStatus(t, a, wfID) == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	})

	start := time.Now()
	statuses := []string{"2", "5", "7", "9", "", "2", "3", "x"} // no 0, 1 or 4: the transaction must stay open
	var failures atomic.Int64
	var firstErr atomic.Value
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 60 * time.Second}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := fmt.Sprintf(`{"action":"eko-response","detail":{"client_ref_id":%q,"response":{"status":0,`+
					`"message":"forged %d","data":{"tx_status":%q,"tid":"F%d"}}}}`, ref, i, statuses[i%len(statuses)], i)
				resp, err := client.Post(a.URL+"/eko/aeps/callback", "application/json", strings.NewReader(body))
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	for i := range forged {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	sent := time.Since(start)
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d eko-responses failed, first: %v", n, forged, firstErr.Load())
	}

	// Every report is stored; few were queued for the workflow.
	tx := mustTx(t, a, ref)
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id = $1`, tx.ID); n != forged {
		t.Fatalf("%d eko-responses stored, want %d", n, forged)
	}
	signals := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wfID)
	if signals > 6 {
		t.Fatalf("%d signals queued, want at most one per tx_status class (6)", signals)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id = $1 AND signalled`, tx.ID); n != signals {
		t.Fatalf("%d eko-responses marked signalled, %d signals queued", n, signals)
	}
	if !tx.Flagged || strings.Count(tx.FlagReason, fmt.Sprintf("more than %d eko-responses", maxReports)) != 1 {
		t.Fatalf("transaction flagged %v (%q), want flagged once for the cap", tx.Flagged, tx.FlagReason)
	}
	waitFor(t, 60*time.Second, "every signal delivered", func() (bool, error) {
		return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND delivered_at IS NULL`, wfID) == 0, nil
	})
	// Let the workflow take in what was delivered, then measure.
	waitFor(t, 60*time.Second, "the workflow handled the signals", func() (bool, error) {
		return signalsReceived(t, a, wfID) == signals && settled(t, a, wfID), nil
	})
	n := historyLength(t, a, wfID)
	t.Logf("%d forged eko-responses sent in %s (%.0f/s): %d signals, history %d events (bound %d)",
		forged, sent.Round(time.Millisecond), float64(forged)/sent.Seconds(), signals, n, bound)
	if n >= bound {
		t.Fatalf("history has %d events after %d forged eko-responses, want fewer than %d", n, forged, bound)
	}
	if st := workflowStatus(t, a, wfID); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow is %s, want still running", st)
	}
}

// settled reports whether a workflow has no workflow task scheduled or running: what it was sent
// has been handled.
func settled(t testing.TB, a *apptest.App, wfID string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := a.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		t.Fatalf("describe %s: %v", wfID, err)
	}
	return d.GetPendingWorkflowTask() == nil
}

// TestResolveOfAGoneWorkflowIsFlagged (issue 10, finding 5): a resolve whose workflow no longer
// runs (terminated here; closed or lost alike) was recorded as delivered. It is now set aside as
// not delivered and the transaction flagged, so that an operator sees it had no effect.
func TestResolveOfAGoneWorkflowIsFlagged(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100")
	if status, r := post(t, a, ekoResponse(t, ref, "7", nil)); status != http.StatusOK || r.Status != "ok" {
		t.Fatalf("eko-response: %d %+v", status, r)
	}
	a.WaitTxState(t, "eko", ref, txstate.NeedsReview)
	if err := a.Temporal.TerminateWorkflow(context.Background(), wfID, "", "test: the workflow is gone"); err != nil {
		t.Fatal(err)
	}
	status, body := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/resolve", apptest.AdminToken,
		`{"state":"failed","reason":"bank statement shows no debit"}`)
	if status != http.StatusAccepted {
		t.Fatalf("resolve: %d %v", status, body)
	}
	waitFor(t, 30*time.Second, "the resolve settled", func() (bool, error) {
		return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND delivered_at IS NULL`, wfID) == 0, nil
	})
	var note string
	if err := a.Store.DB().GetContext(context.Background(), &note, `SELECT delivery_note FROM outbox
		WHERE workflow_id = $1 AND signal_name = 'resolve'`, wfID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(note, "not delivered: no running workflow") {
		t.Errorf("resolve's delivery note %q, want it not delivered", note)
	}
	tx := mustTx(t, a, ref)
	if !tx.Flagged || !strings.Contains(tx.FlagReason, "no running workflow") || tx.State != "needs_review" {
		t.Errorf("transaction %+v: want it flagged, still needs_review", tx)
	}
}

// historyMentions counts the events of a workflow's history whose encoding (payloads included)
// holds s.
func historyMentions(t testing.TB, a *apptest.App, wfID, s string) int {
	t.Helper()
	return countHistoryEvents(t, a, wfID, func(ev *historypb.HistoryEvent) bool { return strings.Contains(ev.String(), s) })
}
