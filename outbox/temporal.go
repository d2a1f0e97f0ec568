package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/searchattr"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// payload is what an outbox entry carries: the workflow's start input (a signal may have to start
// the workflow) and, for signals, the signal's argument.
type payload struct {
	Input  workflows.Input `json:"input"`
	Signal json.RawMessage `json:"signal,omitempty"`
}

// StartEntry builds the entry that starts a transaction's workflow.
func StartEntry(workflowID string, in workflows.Input) (db.OutboxEntry, error) {
	b, err := json.Marshal(payload{Input: in})
	if err != nil {
		return db.OutboxEntry{}, fmt.Errorf("encode start of %s: %w", workflowID, err)
	}
	return db.OutboxEntry{Kind: "start", WorkflowID: workflowID, Payload: b, DedupeKey: "start:" + workflowID}, nil
}

// SignalEntry builds the entry that delivers a signal, starting the workflow if need be.
func SignalEntry(workflowID, signal, dedupeKey string, in workflows.Input, arg any) (db.OutboxEntry, error) {
	a, err := json.Marshal(arg)
	if err != nil {
		return db.OutboxEntry{}, fmt.Errorf("encode %s signal for %s: %w", signal, workflowID, err)
	}
	b, err := json.Marshal(payload{Input: in, Signal: a})
	if err != nil {
		return db.OutboxEntry{}, fmt.Errorf("encode %s signal for %s: %w", signal, workflowID, err)
	}
	return db.OutboxEntry{Kind: "signal", WorkflowID: workflowID, SignalName: signal, Payload: b, DedupeKey: dedupeKey}, nil
}

// LateHandler records a signal that reached a workflow which had already closed.
type LateHandler func(ctx context.Context, workflowID string, o workflows.Outcome) error

// Temporal delivers entries with a Temporal client.
type Temporal struct {
	Client    client.Client
	TaskQueue string
	Late      LateHandler
	// NoStartDelay starts workflows at once (config START_DELAY=false), as before the start delay.
	NoStartDelay bool
}

// Options are the start options every transaction workflow gets. REJECT_DUPLICATE means a
// finished transaction can never be started again by a late callback; USE_EXISTING makes a
// repeated start of a running one a no-op. The summary and details are what the Temporal Web UI
// shows an operator before anything else (they cost no workflow task).
func Options(workflowID, taskQueue string, in workflows.Input) client.StartWorkflowOptions {
	attrs := []temporal.SearchAttributeUpdate{
		searchattr.Key.ClientRefID.ValueSet(in.ClientRefID),
		searchattr.Key.AgentUserCode.ValueSet(in.AgentUserCode),
		searchattr.Key.TxType.ValueSet(in.TxType),
		searchattr.Key.TxState.ValueSet(string(txstate.Pending)),
		searchattr.Key.TxProvider.ValueSet(in.Provider),
		searchattr.Key.TxFlagged.ValueSet(false),
	}
	if amount, ok := in.AmountIndex(); ok {
		attrs = append(attrs, searchattr.Key.TxAmount.ValueSet(amount))
	}
	return client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		StaticSummary:            in.Summary(),
		StaticDetails:            in.Details(),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}
}

// Deliver starts or signals the entry's workflow.
func (t *Temporal) Deliver(ctx context.Context, e db.PendingEntry) (string, error) {
	var p payload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return "", badEntry(e.ID, err)
	}
	opts := Options(e.WorkflowID, t.TaskQueue, p.Input)
	var err error
	switch e.Kind {
	case "start":
		// The first workflow task waits for the eko-response (the relay delivers it with
		// SignalWithStart, which ends the delay; a plain signal would not) or the response
		// timeout: a transaction costs no task before there is anything to do.
		if !t.NoStartDelay {
			opts.StartDelay = p.Input.StartDelay(time.Now())
		}
		_, err = t.Client.ExecuteWorkflow(ctx, opts, workflows.TransactionWorkflowName, p.Input)
	case "signal":
		if e.SignalName == workflows.SignalOutcome {
			var o workflows.Outcome
			if uerr := json.Unmarshal(p.Signal, &o); uerr != nil {
				return "", badEntry(e.ID, uerr)
			}
			_, err = t.Client.SignalWithStartWorkflow(ctx, e.WorkflowID, e.SignalName, o, opts, workflows.TransactionWorkflowName, p.Input)
			if isAlreadyStarted(err) && t.Late != nil {
				// The workflow finished between the API's check and this delivery.
				if lerr := t.Late(ctx, e.WorkflowID, o); lerr != nil {
					return "", fmt.Errorf("record late outcome: %w", lerr)
				}
			}
		} else {
			var r workflows.Resolution
			if uerr := json.Unmarshal(p.Signal, &r); uerr != nil {
				return "", badEntry(e.ID, uerr)
			}
			err = t.Client.SignalWorkflow(ctx, e.WorkflowID, "", e.SignalName, r)
		}
	default:
		return "", badEntry(e.ID, fmt.Errorf("unknown kind %q", e.Kind))
	}
	var nf *serviceerror.NotFound
	if e.Kind == "signal" && (isAlreadyStarted(err) || errors.As(err, &nf)) {
		// A signal that finds no running workflow (closed, or never started for a resolve) has
		// not been acted on: that is for an operator to see, never "delivered".
		return "", fmt.Errorf("%w: %s signal for %s: %v", ErrNoRunningWorkflow, e.SignalName, e.WorkflowID, err)
	}
	if isAlreadyStarted(err) {
		return "workflow already closed", nil // a repeated start: nothing to do
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", e.Kind, e.WorkflowID, err)
	}
	return "", nil
}

func isAlreadyStarted(err error) bool {
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &as)
}
