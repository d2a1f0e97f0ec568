package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aepsflow/aepsflow/workflows"
)

// LossReport is the loss check's result: every allowed transaction must have exactly one
// workflow, completed, and one row in a final state (the expected one), and nothing else may exist.
type LossReport struct {
	Expected            int `json:"expected"`             // allowed Eko transactions + partner transactions
	Rows                int `json:"rows"`                 // transactions rows in PostgreSQL
	FinalRows           int `json:"final_rows"`           // of the expected, in a final state
	LostRows            int `json:"lost_rows"`            // expected, no row
	NotFinal            int `json:"not_final"`            // expected, row not final
	WrongState          int `json:"wrong_state"`          // final, but not the state the callbacks imply
	UnexpectedRows      int `json:"unexpected_rows"`      // rows nobody asked for
	Workflows           int `json:"workflows"`            // Transaction executions listed by Temporal
	WorkflowsEko        int `json:"workflows_eko"`        // counted by search attribute TxProvider="eko"
	WorkflowsPartner    int `json:"workflows_partner"`    // counted by TxProvider="partner:<client>"
	LostWorkflows       int `json:"lost_workflows"`       // expected, no execution
	DuplicatedWorkflows int `json:"duplicated_workflows"` // more than one execution for one ID
	NotCompleted        int `json:"not_completed"`        // execution not Completed
	UnexpectedWorkflows int `json:"unexpected_workflows"`
	OutboxUndelivered   int `json:"outbox_undelivered"`
	// Events to the platform, when the run has a receiver (--events-stats): every final
	// transaction must have produced exactly one final event, acknowledged, delivered once.
	EventsChecked        bool     `json:"events_checked"`
	EventsOK             int      `json:"events_ok"`             // final rows with their event acknowledged, delivered once
	EventsMissing        int      `json:"events_missing"`        // final rows without an acknowledged final event
	EventsUnacknowledged int      `json:"events_unacknowledged"` // webhook_events rows never acknowledged
	EventsDuplicated     int      `json:"events_duplicated"`     // events the receiver got more than once
	EventsBadSignature   int      `json:"events_bad_signature"`  // deliveries whose signature did not verify
	EventsNotReceived    int      `json:"events_not_received"`   // acknowledged in our table, never seen by the receiver
	Examples             []string `json:"examples,omitempty"`
}

// OK reports a clean check.
func (l LossReport) OK() bool {
	return l.LostRows == 0 && l.NotFinal == 0 && l.WrongState == 0 && l.UnexpectedRows == 0 &&
		l.LostWorkflows == 0 && l.DuplicatedWorkflows == 0 && l.NotCompleted == 0 && l.UnexpectedWorkflows == 0 &&
		l.OutboxUndelivered == 0 && l.Workflows == l.Expected && l.FinalRows == l.Expected &&
		(!l.EventsChecked || (l.EventsMissing == 0 && l.EventsUnacknowledged == 0 && l.EventsDuplicated == 0 &&
			l.EventsBadSignature == 0 && l.EventsNotReceived == 0 && l.EventsOK == l.FinalRows))
}

func (l *LossReport) example(format string, a ...any) {
	if len(l.Examples) < 10 {
		l.Examples = append(l.Examples, fmt.Sprintf(format, a...))
	}
}

// runLossCheck is the last phase: nothing lost, nothing doubled, every state as expected; and our
// "workflows started and completed" rate: the main phase's workflows over the time from the first
// debit-hook to the last of them closing (Temporal's own close times).
func (b *bench) runLossCheck(ctx context.Context, m mainRun, paced, outage []*ekoTx) error {
	loss, closeTimes, err := b.lossCheck(ctx, m.txs, m.partners, paced, outage)
	if err != nil {
		return err
	}
	b.res.Loss = loss
	// Information only: a history that cannot be read fails nothing.
	if shape, err := b.historyShape(ctx, m.txs); err != nil {
		b.logf("transaction histories not read: %v", err)
	} else {
		b.res.Histories = shape
	}
	var last time.Time
	for _, t := range closeTimes {
		if t.After(last) {
			last = t
		}
	}
	if n := len(closeTimes); n > 0 && last.After(m.start) {
		b.res.Workflows.Ours = WorkflowRate{Count: n, Seconds: last.Sub(m.start).Seconds(), PerSec: float64(n) / last.Sub(m.start).Seconds()}
	}
	return nil
}

// lossCheck compares what was sent with PostgreSQL and Temporal. It returns the close times of the
// main phase's workflows, for the completion rate.
func (b *bench) lossCheck(ctx context.Context, main []*ekoTx, ps []*partnerTx, others ...[]*ekoTx) (LossReport, []time.Time, error) {
	want := b.expectedRows(ps, append([][]*ekoTx{main}, others...)...)
	rep := LossReport{Expected: len(want)}
	mainIDs := map[string]bool{}
	for _, tx := range main {
		mainIDs[workflows.WorkflowID("eko", tx.ref)] = true
	}
	for _, p := range ps {
		mainIDs[workflows.WorkflowID(b.partnerProvider(), p.ref)] = true
	}

	// PostgreSQL.
	rows, err := b.db.QueryContext(ctx, `SELECT provider, client_ref_id, state, final_at IS NOT NULL FROM transactions`)
	if err != nil {
		return rep, nil, fmt.Errorf("read transactions: %w", err)
	}
	seen := map[rowKey]bool{}
	for rows.Next() {
		var k rowKey
		var state string
		var final bool
		if err := rows.Scan(&k.provider, &k.ref, &state, &final); err != nil {
			rows.Close()
			return rep, nil, err
		}
		rep.Rows++
		seen[k] = true
		wantState, expected := want[k]
		switch {
		case !expected:
			rep.UnexpectedRows++
			rep.example("unexpected row %s/%s (%s)", k.provider, k.ref, state)
		case !final:
			rep.NotFinal++
			rep.example("%s/%s not final: %s", k.provider, k.ref, state)
		case wantState != "" && state != wantState:
			rep.FinalRows++
			rep.WrongState++
			rep.example("%s/%s is %s, want %s", k.provider, k.ref, state, wantState)
		default:
			rep.FinalRows++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, nil, err
	}
	for k := range want {
		if !seen[k] {
			rep.LostRows++
			rep.example("no row for %s/%s", k.provider, k.ref)
		}
	}
	if err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&rep.OutboxUndelivered); err != nil {
		return rep, nil, fmt.Errorf("count outbox backlog: %w", err)
	}

	// Temporal. Visibility is updated asynchronously: wait (bounded) until it lists them all.
	wantIDs := map[string]bool{}
	for k := range want {
		wantIDs[workflows.WorkflowID(k.provider, k.ref)] = true
	}
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.TransactionWorkflowName)
	completed := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED.String()
	var closeTimes []time.Time
	deadline := time.Now().Add(2 * time.Minute)
	for {
		runs := map[string]int{}
		notCompleted := map[string]string{}
		closeTimes = closeTimes[:0]
		err := listWorkflows(ctx, b.tc, b.o.namespace, query, func(id, status string, closed time.Time) {
			runs[id]++
			if status != completed {
				notCompleted[id] = status
			}
			if mainIDs[id] && !closed.IsZero() {
				closeTimes = append(closeTimes, closed)
			}
		})
		if err != nil {
			return rep, nil, fmt.Errorf("list workflows: %w", err)
		}
		rep.Workflows, rep.LostWorkflows, rep.DuplicatedWorkflows, rep.NotCompleted, rep.UnexpectedWorkflows = 0, 0, 0, 0, 0
		var examples []string
		for id, n := range runs {
			rep.Workflows += n
			switch {
			case !wantIDs[id]:
				rep.UnexpectedWorkflows++
				examples = append(examples, "unexpected workflow "+id)
			case n > 1:
				rep.DuplicatedWorkflows++
				examples = append(examples, fmt.Sprintf("workflow %s has %d executions", id, n))
			}
			if st, bad := notCompleted[id]; bad {
				rep.NotCompleted++
				examples = append(examples, fmt.Sprintf("workflow %s is %s", id, st))
			}
		}
		for id := range wantIDs {
			if runs[id] == 0 {
				rep.LostWorkflows++
				examples = append(examples, "no workflow "+id)
			}
		}
		if rep.LostWorkflows+rep.NotCompleted == 0 || time.Now().After(deadline) {
			sort.Strings(examples)
			for _, e := range examples {
				rep.example("%s", e)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	count := func(q string) int {
		resp, err := b.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: b.o.namespace, Query: q})
		if err != nil {
			rep.example("count %s: %v", q, err)
			return -1
		}
		return int(resp.GetCount())
	}
	if b.o.eventsStats != "" {
		if err := b.eventsCheck(ctx, &rep); err != nil {
			return rep, nil, err
		}
	}
	rep.WorkflowsEko = count(`TxProvider = 'eko'`)
	rep.WorkflowsPartner = count(fmt.Sprintf(`TxProvider = '%s'`, b.partnerProvider()))
	return rep, closeTimes, nil
}

// finalEventTypes are the events that report a transaction's final state.
const finalEventTypes = `'transaction.succeeded','transaction.failed','transaction.reversed','transaction.expired','transaction.resolved'`

// eventsCheck compares the final transactions with the events table and with what the platform's
// receiver got: each final transaction has exactly one final event, acknowledged; nothing was
// delivered twice; every delivery verified. It runs after the workflows completed, and a workflow
// completes only once its events were acknowledged.
func (b *bench) eventsCheck(ctx context.Context, rep *LossReport) error {
	rep.EventsChecked = true
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.o.eventsStats, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("read the platform receiver's stats: %w", err)
	}
	var stats platformStats
	err = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("decode the platform receiver's stats: %w", err)
	}
	rep.EventsBadSignature = stats.BadSignatures
	for id, n := range stats.ByEvent {
		if n > 1 {
			rep.EventsDuplicated++
			rep.example("event %s delivered %d times", id, n)
		}
	}
	rows, err := b.db.QueryContext(ctx, `
		SELECT t.provider, t.client_ref_id,
			count(e.event_id) FILTER (WHERE e.acknowledged_at IS NOT NULL AND e.type IN (`+finalEventTypes+`)),
			coalesce(min(e.event_id) FILTER (WHERE e.acknowledged_at IS NOT NULL AND e.type IN (`+finalEventTypes+`)), '')
		FROM transactions t LEFT JOIN webhook_events e ON e.transaction_id = t.id
		WHERE t.final_at IS NOT NULL GROUP BY t.id`)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var provider, ref, eventID string
		var n int
		if err := rows.Scan(&provider, &ref, &n, &eventID); err != nil {
			return err
		}
		switch {
		case n != 1:
			rep.EventsMissing++
			rep.example("%s/%s has %d acknowledged final events", provider, ref, n)
		case stats.ByEvent[eventID] == 0:
			rep.EventsNotReceived++
			rep.example("event %s of %s/%s acknowledged but never received", eventID, provider, ref)
		default:
			rep.EventsOK++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return b.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NULL`).Scan(&rep.EventsUnacknowledged)
}
