package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/workflows"
)

// transactionWorkflows implements activities.Workflows with the Temporal client.
type transactionWorkflows struct {
	tc  client.Client
	cfg config.Config
}

// stuckAttempts: a workflow task that failed this many times in a row is stuck (a bug, a
// missing search attribute), not merely slow.
const stuckAttempts = 3

func (w transactionWorkflows) Status(ctx context.Context, workflowID string) (string, string, error) {
	resp, err := w.tc.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return activities.WorkflowMissing, "no workflow " + workflowID, nil
	}
	if err != nil {
		return "", "", err
	}
	st := resp.GetWorkflowExecutionInfo().GetStatus()
	if st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return activities.WorkflowClosed, "workflow " + st.String(), nil
	}
	if pt := resp.GetPendingWorkflowTask(); pt != nil && pt.GetAttempt() >= stuckAttempts {
		return activities.WorkflowStuck, fmt.Sprintf("workflow task failed %d times", pt.GetAttempt()-1), nil
	}
	return activities.WorkflowRunning, "", nil
}

// Restart starts the transaction's workflow again. A closed run that failed, was terminated,
// cancelled or timed out may be replaced; a completed one may not (its transaction's row should
// have been final: an operator must look).
func (w transactionWorkflows) Restart(ctx context.Context, t db.FinanceRow) error {
	amount := ""
	if t.Amount.Valid {
		amount = t.Amount.Decimal.StringFixed(2)
	}
	in := intents.Input(w.cfg, t.Provider, t.ClientRefID, t.ProviderRef, t.TxType, t.AgentUserCode.String, amount, "", t.CreatedAt)
	opts := outbox.Options(t.WorkflowID, w.cfg.TemporalTaskQueue, in)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	_, err := w.tc.ExecuteWorkflow(ctx, opts, workflows.TransactionWorkflowName, in)
	return err
}

// ReconcileScheduleID names the daily reconciliation's Schedule (one per task queue).
func ReconcileScheduleID(cfg config.Config) string {
	return "aepsflow-reconciliation-" + cfg.TemporalTaskQueue
}

// ReconcileInput is the input the Schedule (and `aepsflow reconcile`) starts the workflow with.
func ReconcileInput(cfg config.Config, date string) (workflows.ReconcileInput, error) {
	n, p, err := config.ParseSample(cfg.ReconcileSample)
	if err != nil {
		return workflows.ReconcileInput{}, err
	}
	return workflows.ReconcileInput{Date: date, Timezone: cfg.LimitLocation.String(), OpenAfter: cfg.Lifecycle.EkoResponseTimeout,
		Count: n, Percent: p}, nil
}

// EnsureReconcileSchedule creates the daily reconciliation Schedule, or updates it to the
// current configuration (time, zone, sample): it shows on the Web UI's Schedules page.
func EnsureReconcileSchedule(ctx context.Context, tc client.Client, cfg config.Config) error {
	h, m, err := config.ParseClock(cfg.ReconcileAt)
	if err != nil {
		return err
	}
	in, err := ReconcileInput(cfg, "")
	if err != nil {
		return err
	}
	spec := client.ScheduleSpec{
		Calendars:    []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: h}}, Minute: []client.ScheduleRange{{Start: m}}}},
		TimeZoneName: cfg.LimitLocation.String(),
	}
	action := &client.ScheduleWorkflowAction{ID: "aepsflow-reconcile-" + cfg.TemporalTaskQueue, Workflow: workflows.ReconcileWorkflowName,
		Args: []any{in}, TaskQueue: cfg.TemporalTaskQueue, WorkflowExecutionTimeout: 23 * time.Hour}
	id := ReconcileScheduleID(cfg)
	_, err = tc.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: time.Hour,
		Memo: map[string]any{"what": "re-inquire open transactions, re-check the day's successes"}})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	err = tc.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := u.Description.Schedule
			s.Spec, s.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", id, err)
	}
	return nil
}
