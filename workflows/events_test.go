package workflows_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/webhook"
	"github.com/aepsflow/aepsflow/workflows"
)

type sendCall struct {
	req activities.EventRequest
	at  time.Duration
}

// runEvents runs a transaction that goes to needs_review (a suspicious report at 1m) and is
// resolved at resolveAt, with events on; send answers each SendEvent call.
func runEvents(t *testing.T, deadline, resolveAt time.Duration, send func(req activities.EventRequest, elapsed time.Duration) error) (calls []sendCall, gaveUp []string, records []activities.Record) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	in := ekoInput(func(in *workflows.Input) {
		in.Policy.Events, in.Policy.EventDeadline = true, deadline
		in.Policy.EventInitialBackoff, in.Policy.EventMaxBackoff = 10*time.Second, 10*time.Minute
	})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(in.Provider, in.ClientRefID)})
	env.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
	var mu sync.Mutex
	elapsed := func() time.Duration { return env.Now().Sub(t0) }
	env.OnActivity(acts.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.Record) error {
		mu.Lock()
		defer mu.Unlock()
		records = append(records, r)
		return nil
	})
	env.OnActivity(acts.SendEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, req activities.EventRequest) (activities.EventResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, sendCall{req, elapsed()})
		if req.Hold != "" {
			return activities.EventResult{}, nil
		}
		return activities.EventResult{Sent: true, Enabled: true}, send(req, elapsed())
	})
	env.OnActivity(acts.GiveUpEvent, mock.Anything, mock.Anything).Return(func(_ context.Context, req activities.EventRequest) error {
		mu.Lock()
		defer mu.Unlock()
		gaveUp = append(gaveUp, req.Type)
		return nil
	}).Maybe()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalOutcome, workflows.Outcome{EventID: "r1", Source: workflows.SourceEko, TxStatus: "9"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalResolve, workflows.Resolution{EventID: "res1", State: txstate.Success, Reason: "bank statement", By: "asha"})
	}, resolveAt)
	env.ExecuteWorkflow(workflows.TransactionWorkflowName, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	return calls, gaveUp, records
}

// TestEventsInOrder: the platform refuses the needs_review event for three hours. The resolution
// at two hours is recorded at once (the transaction never waits on the platform), but its event
// goes out only after needs_review was acknowledged; each is acknowledged once.
func TestEventsInOrder(t *testing.T) {
	calls, gaveUp, records := runEvents(t, 72*time.Hour, 2*time.Hour, func(req activities.EventRequest, at time.Duration) error {
		if req.Type == webhook.TypeNeedsReview && at < 3*time.Hour {
			return errors.New("platform answered 503")
		}
		return nil
	})
	var types []string
	var ackNeedsReview, firstResolved time.Duration = -1, -1
	for _, c := range calls {
		if len(types) == 0 || types[len(types)-1] != c.req.Type {
			types = append(types, c.req.Type)
		}
		if c.req.Type == webhook.TypeNeedsReview && c.at >= 3*time.Hour && ackNeedsReview < 0 {
			ackNeedsReview = c.at
		}
		if c.req.Type == webhook.TypeResolved && firstResolved < 0 {
			firstResolved = c.at
		}
		if c.req.WorkflowID != "aeps/eko/1700000000001" || c.req.OccurredAt.IsZero() {
			t.Errorf("event request %+v", c.req)
		}
	}
	if !slices.Equal(types, []string{webhook.TypeNeedsReview, webhook.TypeResolved}) {
		t.Fatalf("events sent %v, want needs_review (retried) then resolved", types)
	}
	if n := len(calls); n < 5 || calls[n-1].req.Type != webhook.TypeResolved || calls[n-2].req.Type != webhook.TypeNeedsReview {
		t.Fatalf("%d calls: needs_review retried until acknowledged, then resolved once: %+v", n, calls)
	}
	if firstResolved < ackNeedsReview {
		t.Errorf("resolved sent at %s, before needs_review was acknowledged at %s", firstResolved, ackNeedsReview)
	}
	if last := calls[len(calls)-1].req; last.State != "success" || last.OccurredAt.Sub(t0) != 2*time.Hour {
		t.Errorf("resolved event %+v: want state success, occurred at the resolution (2h)", last)
	}
	if gaveUp != nil {
		t.Errorf("gave up %v", gaveUp)
	}
	var resolvedRecord bool
	for _, r := range records {
		resolvedRecord = resolvedRecord || r.Kind == "resolved"
	}
	if !resolvedRecord {
		t.Error("the resolution was not recorded")
	}
}

// TestEventsDeadline: an event never acknowledged within WEBHOOK_DEADLINE is set aside (the
// transaction flagged) and the later events are held behind it, not sent out of order.
func TestEventsDeadline(t *testing.T) {
	calls, gaveUp, _ := runEvents(t, time.Hour, 10*time.Minute, func(req activities.EventRequest, _ time.Duration) error {
		return errors.New("connection refused")
	})
	if !slices.Equal(gaveUp, []string{webhook.TypeNeedsReview}) {
		t.Fatalf("gave up %v, want needs_review", gaveUp)
	}
	last := calls[len(calls)-1]
	if last.req.Type != webhook.TypeResolved || last.req.Hold == "" || last.at < time.Hour-10*time.Minute {
		t.Fatalf("last call %+v: want the resolved event held (not sent) once retries stopped (the next would pass the deadline)", last)
	}
	for _, c := range calls[:len(calls)-1] {
		if c.req.Type != webhook.TypeNeedsReview || c.at > time.Hour+time.Minute {
			t.Errorf("call %+v after the deadline or out of order", c)
		}
	}
}
