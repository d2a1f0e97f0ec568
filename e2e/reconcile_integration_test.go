package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestReconciliation plants a mismatch: Eko's Inquiry API confirms a withdrawal as successful
// while its callbacks run, then (asked again by the reconciliation) reports another amount. The
// run flags it without changing its state, leaves the matching one alone, gives an open
// transaction without a workflow and one whose workflow was terminated a running workflow
// again, writes its record, sets the metric and sends reconciliation.completed.
func TestReconciliation(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []map[string]any
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	t.Cleanup(platform.Close)
	s := start(t, "v3", map[string]string{"WEBHOOK_URL": platform.URL, "WEBHOOK_SECRET": "reconcile-secret-0123456789"})
	a := s.app
	ctx := context.Background()

	matching, planted, terminated := apptest.Ref(t), apptest.Ref(t), apptest.Ref(t)
	for _, ref := range []string{matching, planted} {
		s.sim.Script(ref, sim.Step{TxStatus: "0", Fields: map[string]any{"amount": "100.00"}})
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		s.waitState(t, ref, "success")
	}
	// Planted: Eko now says the amount was 1000.00.
	s.sim.Script(planted, sim.Step{TxStatus: "0", Fields: map[string]any{"amount": "1000.00"}})

	// An open transaction whose workflow was terminated, and one that never had a workflow; both
	// created an hour ago (open past EKO_RESPONSE_TIMEOUT).
	s.debitHook(t, terminated)
	wfTerminated := workflows.WorkflowID("eko", terminated)
	testenv.WaitFor(t, waitTimeout, "workflow "+wfTerminated, func() (bool, error) {
		_, err := a.Temporal.DescribeWorkflowExecution(ctx, wfTerminated, "")
		return err == nil, err
	})
	if err := a.Temporal.TerminateWorkflow(ctx, wfTerminated, "", "reconciliation test: a lost workflow"); err != nil {
		t.Fatal(err)
	}
	missing := apptest.Ref(t)
	wfMissing := workflows.WorkflowID("eko", missing)
	if _, err := a.Store.DB().Exec(`INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type,
		agent_user_code, amount, amount_text, details_hash, business_day, state, created_at)
		VALUES ('eko', $1, $1, $2, 'cash_withdrawal', $3, 100, '100', 'h', (now() AT TIME ZONE 'Asia/Kolkata')::date, 'pending',
		now() - interval '1 hour')`, missing, wfMissing, agent); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.DB().Exec(`UPDATE transactions SET created_at = now() - interval '1 hour' WHERE client_ref_id = $1`, terminated); err != nil {
		t.Fatal(err)
	}
	for _, wf := range []string{wfMissing, wfTerminated} {
		t.Cleanup(func() { _ = a.Temporal.TerminateWorkflow(context.Background(), wf, "", "test finished") })
	}

	date := time.Now().In(a.Config.LimitLocation).Format(time.DateOnly)
	in, err := app.ReconcileInput(a.Config, date)
	if err != nil {
		t.Fatal(err)
	}
	run, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reconcile-test-" + planted, TaskQueue: a.Config.TemporalTaskQueue},
		workflows.ReconcileWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	var res workflows.ReconcileResult
	if err := run.Get(wctx, &res); err != nil {
		t.Fatalf("reconciliation: %v", err)
	}
	rec := res.Record
	if rec.Date != date || rec.Successes.Total != 2 || rec.Successes.Sampled != 2 || len(rec.Successes.Mismatches) != 1 {
		t.Fatalf("record %+v", rec)
	}
	if m := rec.Successes.Mismatches[0]; m.Reference != planted || m.EkoAmount != "1000.00" || !strings.Contains(m.Reason, "amount") {
		t.Errorf("mismatch %+v", m)
	}
	slices.Sort(rec.Open.Refs)
	wantRefs := []string{missing, terminated}
	slices.Sort(wantRefs)
	if rec.Open.Restarted != 2 || rec.Open.Missing != 2 || !slices.Equal(rec.Open.Refs, wantRefs) {
		t.Errorf("open transactions %+v, want %v restarted", rec.Open, wantRefs)
	}

	// The planted one is flagged and still success; the matching one untouched.
	p, err := s.read(t, planted)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != "success" || !strings.Contains(p.raw, `"flagged":true`) || !strings.Contains(p.raw, "reconciliation "+date) {
		t.Errorf("planted mismatch: state %s, view %s", p.State, p.raw)
	}
	if m, _ := s.read(t, matching); strings.Contains(m.raw, `"flagged":true`) {
		t.Errorf("matching transaction flagged: %s", m.raw)
	}
	// Both open transactions have a workflow again (the new runs inquire on their own).
	for _, wf := range []string{wfMissing, wfTerminated} {
		d, err := a.Temporal.DescribeWorkflowExecution(ctx, wf, "")
		if err != nil {
			t.Fatalf("%s: %v", wf, err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus().String(); st != "Running" && st != "Completed" {
			t.Errorf("%s is %s after the reconciliation", wf, st)
		}
	}

	var n int
	if err := a.Store.DB().Get(&n, `SELECT mismatches FROM reconciliations WHERE run_id = $1`, run.GetRunID()); err != nil || n != 1 {
		t.Errorf("record row: mismatches %d, %v", n, err)
	}
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\naepsflow_reconciliation_mismatches 1\n") {
		t.Errorf("metric aepsflow_reconciliation_mismatches 1 not in /metrics")
	}
	testenv.WaitFor(t, waitTimeout, "reconciliation.completed", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range events {
			if ev["type"] == "reconciliation.completed" {
				refs, _ := ev["mismatch_references"].([]any)
				return ev["date"] == date && ev["mismatches"] == float64(1) && len(refs) == 1 && refs[0] == planted, nil
			}
		}
		return false, nil
	})
}

// TestReconcileSchedule: the worker's start creates the daily Schedule, and a second start with
// another time updates it rather than failing or adding one.
func TestReconcileSchedule(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: map[string]string{"RECONCILE_AT": "02:30"}})
	ctx := context.Background()
	id := app.ReconcileScheduleID(a.Config)
	t.Cleanup(func() {
		_ = a.Temporal.ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
	})
	if err := app.EnsureReconcileSchedule(ctx, a.Temporal, a.Config); err != nil {
		t.Fatal(err)
	}
	cfg := a.Config
	cfg.ReconcileAt = "03:15"
	if err := app.EnsureReconcileSchedule(ctx, a.Temporal, cfg); err != nil {
		t.Fatalf("second start: %v", err)
	}
	d, err := a.Temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Schedule.Spec
	if len(spec.Calendars) != 1 || spec.Calendars[0].Hour[0].Start != 3 || spec.Calendars[0].Minute[0].Start != 15 ||
		spec.TimeZoneName != "Asia/Kolkata" {
		t.Fatalf("schedule spec %+v", spec)
	}
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != workflows.ReconcileWorkflowName || action.TaskQueue != a.Config.TemporalTaskQueue {
		t.Fatalf("schedule action %+v", d.Schedule.Action)
	}
}
