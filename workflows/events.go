package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/webhook"
)

// changePlatformEvents names the workflow change that sends events to the platform (version 1).
// Only workflows started with events on (WEBHOOK_URL set) ask for it, so histories without
// events carry no marker and replay unchanged.
const changePlatformEvents = "platform-events"

// eventTypes maps a state to its event; resolutions have their own (webhook.TypeResolved).
var eventTypes = map[txstate.State]string{
	txstate.Success: webhook.TypeSucceeded, txstate.Failed: webhook.TypeFailed, txstate.Reversed: webhook.TypeReversed,
	txstate.Expired: webhook.TypeExpired, txstate.NeedsReview: webhook.TypeNeedsReview,
}

// events sends the transaction's events to the platform one after the other, in a workflow
// goroutine of its own: the transaction never waits on the platform, and an event is sent only
// after every earlier one was acknowledged (or, past the deadline, set aside, after which the
// later ones are held for the operator's re-send, in order).
type events struct {
	queue workflow.Channel
	done  workflow.Future
}

// startEvents starts the sender when the workflow runs with events on.
func (t *txn) startEvents(ctx workflow.Context) {
	if !t.p.Events || (!t.light && workflow.GetVersion(ctx, changePlatformEvents, workflow.DefaultVersion, 1) == workflow.DefaultVersion) {
		return
	}
	done, settle := workflow.NewFuture(ctx)
	t.events = &events{queue: workflow.NewBufferedChannel(ctx, 16), done: done}
	workflow.Go(ctx, func(ctx workflow.Context) {
		settle.Set(nil, t.sendEvents(ctx))
	})
}

func (t *txn) sendEvents(ctx workflow.Context) error {
	store := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}})
	send := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    t.p.EventAttemptTimeout,
		ScheduleToCloseTimeout: t.p.EventDeadline,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: t.p.EventInitialBackoff, BackoffCoefficient: 2,
			MaximumInterval: t.p.EventMaxBackoff,
			// The deadline ends the retries; a count large enough never to come first (0, the
			// server's "unlimited", means 10 attempts in the SDK's test environment).
			MaximumAttempts: 1 << 20},
	})
	// Short: the workflow task waits for a local activity, and the transaction must not wait on
	// the platform; a slower platform gets the retried activity.
	once := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: min(t.p.EventAttemptTimeout, localEventTimeout),
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	held := ""
	for {
		var req activities.EventRequest
		if !t.events.queue.Receive(ctx, &req) {
			return nil // closed and drained
		}
		if held != "" {
			req.Hold = held
			if err := workflow.ExecuteActivity(store, a.SendEvent, req).Get(ctx, nil); err != nil {
				return fmt.Errorf("hold %s: %w", req.Type, err)
			}
			continue
		}
		var canceled *temporal.CanceledError
		if t.light {
			// The first delivery runs in the current workflow task, a local activity tried once;
			// a platform that does not acknowledge it (in 3 s) gets the retried activity below.
			// Either way an acknowledged event is never sent again (its row in PostgreSQL says so).
			lerr := workflow.ExecuteLocalActivity(once, a.SendEvent, req).Get(ctx, nil)
			if lerr == nil {
				continue
			}
			if errors.As(lerr, &canceled) {
				return fmt.Errorf("send %s: %w", req.Type, lerr)
			}
		}
		err := workflow.ExecuteActivity(send, a.SendEvent, req).Get(ctx, nil)
		if err == nil {
			continue
		}
		if errors.As(err, &canceled) {
			return fmt.Errorf("send %s: %w", req.Type, err)
		}
		// Retries stopped: past WEBHOOK_DEADLINE (the server then reports the last attempt's
		// failure, not a timeout). Set aside, transaction flagged; the later events wait behind it.
		if err := workflow.ExecuteActivity(store, a.GiveUpEvent, req).Get(ctx, nil); err != nil {
			return fmt.Errorf("set %s aside: %w", req.Type, err)
		}
		held = fmt.Sprintf("held: the earlier event %s (%s) was not acknowledged; re-send them in order",
			webhook.EventID(req.WorkflowID, req.Type), req.Type)
	}
}

// localEventTimeout bounds the light workflow's local try of an event's first delivery.
const localEventTimeout = 3 * time.Second

// emit queues the event a recorded change calls for, if any.
func (t *txn) emit(ctx workflow.Context, r activities.Record) {
	if t.events == nil || r.To == "" {
		return
	}
	typ, ok := eventTypes[r.To]
	if r.Kind == "resolved" {
		typ, ok = webhook.TypeResolved, true
	}
	if !ok {
		return
	}
	t.events.queue.Send(ctx, activities.EventRequest{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Type: typ,
		State: string(r.To), Reason: r.Reason, OccurredAt: workflow.Now(ctx)})
}

// finishEvents waits until every queued event was acknowledged or set aside.
func (t *txn) finishEvents(ctx workflow.Context) error {
	if t.events == nil {
		return nil
	}
	t.events.queue.Close()
	return t.events.done.Get(ctx, nil)
}
