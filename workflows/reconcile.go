package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
)

// ReconcileWorkflowName is the reconciliation workflow's type; the Schedule starts it daily.
const ReconcileWorkflowName = "Reconcile"

// ReconcileInput configures one reconciliation run.
type ReconcileInput struct {
	// Date is the business day whose successes are re-checked (YYYY-MM-DD); empty: the day
	// before the run's start in Timezone (what the daily Schedule passes).
	Date     string `json:"date,omitempty"`
	Timezone string `json:"timezone"`
	// OpenAfter: a transaction still open this long after its creation (EKO_RESPONSE_TIMEOUT)
	// must have a running workflow.
	OpenAfter time.Duration `json:"open_after"`
	// Sample of the day's successful withdrawals: every one when both are 0.
	Count   int     `json:"count,omitempty"`
	Percent float64 `json:"percent,omitempty"`
}

// ReconcileResult is the run's record and its id in the reconciliations table.
type ReconcileResult struct {
	ID     int64                           `json:"id"`
	Record activities.ReconciliationRecord `json:"record"`
}

// Reconcile makes sure no open transaction is without a running workflow and re-checks the day's
// successful withdrawals against Eko's Inquiry API. Mismatches are flagged, never changed. Each
// step is an activity that heartbeats its progress, so that a large day shows its progress in
// the Web UI and a crashed worker's step is retried.
func Reconcile(ctx workflow.Context, in ReconcileInput) (ReconcileResult, error) {
	info := workflow.GetInfo(ctx)
	date := in.Date
	if date == "" {
		// The time zone is read once and the day kept in the history, so a replay never depends
		// on the worker's time zone database.
		if err := workflow.SideEffect(ctx, func(workflow.Context) any {
			loc, err := time.LoadLocation(in.Timezone)
			if err != nil {
				loc = time.UTC
			}
			return workflow.Now(ctx).In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
		}).Get(&date); err != nil {
			return ReconcileResult{}, err
		}
	}
	rec := activities.ReconciliationRecord{Date: date, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		StartedAt: workflow.Now(ctx)}
	req := activities.ReconcileRequest{Date: date, OpenAfter: in.OpenAfter, Count: in.Count, Percent: in.Percent, RunID: rec.RunID}
	long := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour, HeartbeatTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(long, a.ReconcileOpen, req).Get(ctx, &rec.Open); err != nil {
		return ReconcileResult{}, fmt.Errorf("check open transactions: %w", err)
	}
	if err := workflow.ExecuteActivity(long, a.ReconcileSuccesses, req).Get(ctx, &rec.Successes); err != nil {
		return ReconcileResult{}, fmt.Errorf("re-check the day's successes: %w", err)
	}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}})
	res := ReconcileResult{Record: rec}
	if err := workflow.ExecuteActivity(short, a.SaveReconciliation, rec).Get(ctx, &res.ID); err != nil {
		return res, fmt.Errorf("save the record: %w", err)
	}
	// reconciliation.completed: retried for an hour, so that a platform outage does not hold
	// the next day's run back (the Schedule skips a run while one is open).
	event := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 1 << 20}})
	if err := workflow.ExecuteActivity(event, a.SendReconciliationEvent, rec, res.ID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("reconciliation.completed not acknowledged", "err", err)
	}
	return res, nil
}
