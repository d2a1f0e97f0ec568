package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/searchattr"
)

// runFloors measures what the service is built on, alone: PostgreSQL, Temporal, workflow shapes
// and (with --probe) the store's debit-hook write.
func (b *bench) runFloors(ctx context.Context) error {
	if err := b.phase("floor-insert", func() error { return b.floorInsert(ctx) }); err != nil {
		return err
	}
	if err := b.phase("floor-temporal", func() error { return b.floorTemporal(ctx) }); err != nil {
		return err
	}
	if b.o.shapeN > 0 {
		if err := b.floorShapes(ctx); err != nil {
			return err
		}
	}
	if b.o.probe {
		return b.storeProbes(ctx)
	}
	return nil
}

// floorInsert measures the bare PostgreSQL floor: one INSERT of a transactions-shaped row per
// request (autocommit, so one commit each, like one debit-hook), RETURNING what the service's
// insert returns, at the benchmark's concurrency, through the same driver.
func (b *bench) floorInsert(ctx context.Context) error {
	rec := newRecorder("floor: PostgreSQL INSERT")
	day := time.Now().In(ist).Format(time.DateOnly)
	drive(ctx, b.o.floorN, b.o.conc, b.o.rate, func(i int) {
		ref := "F" + randomDigits(12)
		start := time.Now()
		var id int64
		var created time.Time
		err := b.db.QueryRowContext(ctx, `
			INSERT INTO bench_floor_tx (provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code,
				customer_mobile, bank_code, amount, amount_text, details_hash, business_day, state)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id, created_at`,
			"eko", ref, ref, "aeps/eko/"+ref, "cash_withdrawal", agentCode(i%b.o.agents), "9"+randomDigits(9), "PUNB",
			"500", "500", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", day, "pending",
		).Scan(&id, &created)
		rec.add(start, time.Now(), err)
	})
	b.res.add(rec.summary())
	return nil
}

const (
	trivialWorkflowName = "BenchTrivial"
	trivialSignal       = "go"
)

// trivialWorkflow is the Temporal floor: it takes the signal it was started with and completes,
// in one workflow task.
func trivialWorkflow(ctx workflow.Context) error {
	var s string
	workflow.GetSignalChannel(ctx, trivialSignal).Receive(ctx, &s)
	return nil
}

// floorTemporal measures the bare Temporal floor on the same server: SignalWithStart of a trivial
// workflow (its latency and rate) and the rate at which those workflows are started and
// completed, served by a worker inside loadgen with default options (as the service's worker).
func (b *bench) floorTemporal(ctx context.Context) error {
	tq := "bench-floor-" + b.runID
	w := worker.New(b.tc, tq, worker.Options{
		MaxConcurrentWorkflowTaskPollers: b.o.wftPollers, MaxConcurrentActivityTaskPollers: b.o.atPollers,
	})
	w.RegisterWorkflowWithOptions(trivialWorkflow, workflow.RegisterOptions{Name: trivialWorkflowName})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start floor worker: %w", err)
	}
	defer w.Stop()

	rec := newRecorder("floor: Temporal SignalWithStart")
	start := time.Now()
	drive(ctx, b.o.floorN, b.o.conc, b.o.rate, func(i int) {
		id := fmt.Sprintf("bench-floor/%s/%d", b.runID, i)
		s := time.Now()
		_, err := b.tc.SignalWithStartWorkflow(ctx, id, trivialSignal, "x",
			client.StartWorkflowOptions{ID: id, TaskQueue: tq}, trivialWorkflowName)
		rec.add(s, time.Now(), err)
	})
	b.res.add(rec.summary())

	rate, err := b.completionRate(ctx, trivialWorkflowName, tq, b.o.floorN, start)
	if err != nil {
		return err
	}
	b.res.Workflows.Floor = rate
	return nil
}

// completionRate waits until visibility lists n workflows of type name on task queue tq as
// completed, and returns their rate from start to the last close time Temporal recorded (not when
// this poll noticed).
func (b *bench) completionRate(ctx context.Context, name, tq string, n int, start time.Time) (WorkflowRate, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND TaskQueue = '%s' AND ExecutionStatus = 'Completed'", name, tq)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := b.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: b.o.namespace, Query: query})
		if err == nil && resp.GetCount() >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return WorkflowRate{}, fmt.Errorf("%s workflows did not all complete within 5 minutes (count %d, err %v)", name, resp.GetCount(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var last time.Time
	listed := 0
	err := listWorkflows(ctx, b.tc, b.o.namespace, query, func(id, status string, closed time.Time) {
		listed++
		if closed.After(last) {
			last = closed
		}
	})
	if err != nil {
		return WorkflowRate{}, fmt.Errorf("list %s workflows: %w", name, err)
	}
	if listed == 0 || !last.After(start) {
		return WorkflowRate{}, fmt.Errorf("no completed %s workflows listed", name)
	}
	d := last.Sub(start).Seconds()
	return WorkflowRate{Count: listed, Seconds: d, PerSec: float64(listed) / d}, nil
}

// listWorkflows pages through the executions matching query.
func listWorkflows(ctx context.Context, tc client.Client, namespace, query string, fn func(id, status string, closed time.Time)) error {
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, PageSize: 1000, NextPageToken: token, Query: query,
		})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			var closed time.Time
			if e.GetCloseTime() != nil {
				closed = e.GetCloseTime().AsTime()
			}
			fn(e.GetExecution().GetWorkflowId(), e.GetStatus().String(), closed)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return nil
		}
	}
}

// The shape experiment separates what Temporal charges for the transaction
// workflow's structure from what its activities do: two workflows with the transaction workflow's
// footprint but no-op activities, started and signalled as the relay does (start, then
// SignalWithStart), one with regular activities (as shipped), one recording transitions with local
// activities.
const (
	shapeRegular = "BenchShapeActivities"
	shapeLocal   = "BenchShapeLocal"
)

func noopActivity(ctx context.Context, step string) error { return nil }

// shapeWorkflow mirrors Transaction's happy path for a verified success: wait for the outcome
// (with the response timer), record "inquiry", upsert TxState, inquire, record "success", upsert
// TxState, complete.
func shapeWorkflow(local bool) func(ctx workflow.Context) error {
	return func(ctx workflow.Context) error {
		var s string
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(workflow.GetSignalChannel(ctx, trivialSignal), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &s) })
		sel.AddFuture(workflow.NewTimer(tctx, 30*time.Minute), func(workflow.Future) {})
		sel.Select(ctx)
		cancel()
		record := func(step string) error {
			if local {
				lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
				return workflow.ExecuteLocalActivity(lctx, noopActivity, step).Get(ctx, nil)
			}
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
			return workflow.ExecuteActivity(actx, noopActivity, step).Get(ctx, nil)
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
		for _, step := range []func() error{
			func() error { return record("inquiry") },
			func() error {
				return workflow.UpsertTypedSearchAttributes(ctx, searchattr.Key.TxState.ValueSet("inquiry"))
			},
			func() error { return workflow.ExecuteActivity(actx, noopActivity, "inquire").Get(ctx, nil) },
			func() error { return record("success") },
			func() error {
				return workflow.UpsertTypedSearchAttributes(ctx, searchattr.Key.TxState.ValueSet("success"))
			},
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}
}

// floorShapes runs shapeN workflows of each shape and records their started-and-completed rates.
func (b *bench) floorShapes(ctx context.Context) error {
	tq := "bench-shape-" + b.runID
	w := worker.New(b.tc, tq, worker.Options{
		MaxConcurrentWorkflowTaskPollers: b.o.wftPollers, MaxConcurrentActivityTaskPollers: b.o.atPollers,
	})
	w.RegisterWorkflowWithOptions(shapeWorkflow(false), workflow.RegisterOptions{Name: shapeRegular})
	w.RegisterWorkflowWithOptions(shapeWorkflow(true), workflow.RegisterOptions{Name: shapeLocal})
	w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: "noopActivity"})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start shape worker: %w", err)
	}
	defer w.Stop()
	for _, name := range []string{shapeRegular, shapeLocal} {
		err := b.phase("shape-"+name, func() error {
			start := time.Now()
			drive(ctx, b.o.shapeN, b.o.conc, b.o.rate, func(i int) {
				id := fmt.Sprintf("bench-shape/%s/%s/%d", b.runID, name, i)
				opts := client.StartWorkflowOptions{ID: id, TaskQueue: tq}
				if _, err := b.tc.ExecuteWorkflow(ctx, opts, name); err != nil {
					b.logf("start %s: %v", id, err)
					return
				}
				if _, err := b.tc.SignalWithStartWorkflow(ctx, id, trivialSignal, "x", opts, name); err != nil {
					b.logf("signal %s: %v", id, err)
				}
			})
			rate, err := b.completionRate(ctx, name, tq, b.o.shapeN, start)
			if err != nil {
				return err
			}
			b.res.Shapes = append(b.res.Shapes, ShapeRate{Name: name, WorkflowRate: rate})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// pacedTrivialName is the summary of floorTrivialPaced, the paced transactions' floor.
const pacedTrivialName = "floor: trivial workflow start → close, paced"

// floorTrivialPaced measures what the paced eko-response → final state is compared with: one
// trivial workflow's start-to-close (from the SignalWithStart call to the close time Temporal
// recorded) at the same pace, with no backlog.
func (b *bench) floorTrivialPaced(ctx context.Context) error {
	o := b.o
	if o.pacedN <= 0 {
		return nil
	}
	tq := "bench-floor-paced-" + b.runID
	w := worker.New(b.tc, tq, worker.Options{
		MaxConcurrentWorkflowTaskPollers: o.wftPollers, MaxConcurrentActivityTaskPollers: o.atPollers,
	})
	w.RegisterWorkflowWithOptions(trivialWorkflow, workflow.RegisterOptions{Name: trivialWorkflowName})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start paced floor worker: %w", err)
	}
	defer w.Stop()
	var mu sync.Mutex
	sent := map[string]time.Time{}
	rec := newRecorder(fmt.Sprintf("%s %g/s", pacedTrivialName, o.pacedRate))
	start := time.Now()
	drive(ctx, o.pacedN, o.conc, o.pacedRate, func(i int) {
		id := fmt.Sprintf("bench-floor-paced/%s/%d", b.runID, i)
		s := time.Now()
		_, err := b.tc.SignalWithStartWorkflow(ctx, id, trivialSignal, "x",
			client.StartWorkflowOptions{ID: id, TaskQueue: tq}, trivialWorkflowName)
		if err != nil {
			rec.add(s, time.Now(), err)
			return
		}
		mu.Lock()
		sent[id] = s
		mu.Unlock()
	})
	if _, err := b.completionRate(ctx, trivialWorkflowName, tq, len(sent), start); err != nil {
		return err
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND TaskQueue = '%s' AND ExecutionStatus = 'Completed'", trivialWorkflowName, tq)
	err := listWorkflows(ctx, b.tc, o.namespace, query, func(id, _ string, closed time.Time) {
		if s, ok := sent[id]; ok {
			rec.add(s, closed, nil)
		}
	})
	if err != nil {
		return fmt.Errorf("list paced floor workflows: %w", err)
	}
	b.res.add(rec.summary())
	return nil
}
