package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/workflows"
)

const reconcileUsage = `usage: aepsflow reconcile --date YYYY-MM-DD

Runs the reconciliation now, as the daily Schedule does, for that day: every transaction open past
EKO_RESPONSE_TIMEOUT gets a running workflow again, and the day's successful withdrawals
(RECONCILE_SAMPLE) are re-checked with Eko's Inquiry API. It runs on the workers (Temporal,
TEMPORAL_TASK_QUEUE) and prints the record when done.`

func reconcileCommand(ctx context.Context, args []string, out io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	date := fs.String("date", "", "business day, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return errors.New(reconcileUsage)
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	in, err := app.ReconcileInput(cfg, *date)
	if err != nil {
		return err
	}
	tc, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "temporal"))})
	if err != nil {
		return fmt.Errorf("connect to temporal: %w", err)
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "aepsflow-reconcile-" + cfg.TemporalTaskQueue + "-manual-" + *date + "-" + strconv.FormatInt(time.Now().Unix(), 10),
		TaskQueue: cfg.TemporalTaskQueue,
	}, workflows.ReconcileWorkflowName, in)
	if err != nil {
		return fmt.Errorf("start reconciliation: %w", err)
	}
	fmt.Fprintf(out, "reconciliation %s started (workflow %s); waiting for it\n", *date, run.GetID())
	var res workflows.ReconcileResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("reconciliation %s: %w", run.GetID(), err)
	}
	return printJSON(out, res)
}
