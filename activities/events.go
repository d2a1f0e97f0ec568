package activities

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/webhook"
)

// EventRequest asks for one event to the platform about the workflow's transaction.
type EventRequest struct {
	WorkflowID string    `json:"workflow_id"`
	Type       string    `json:"type"`  // webhook.Type*
	State      string    `json:"state"` // the state the event reports
	Reason     string    `json:"reason"`
	OccurredAt time.Time `json:"occurred_at"`
	// Hold stores the event without sending it and sets it aside with this reason: an earlier
	// event of the transaction was never acknowledged, and events must arrive in order.
	Hold string `json:"hold,omitempty"`
}

// EventResult says what became of the event.
type EventResult struct {
	EventID string `json:"event_id"`
	Sent    bool   `json:"sent"`    // false: webhooks are off, it was acknowledged before, or held
	Enabled bool   `json:"enabled"` // WEBHOOK_URL is set
}

// BuildEvent is the event's body from the transaction as stored now.
func BuildEvent(r db.FinanceRow, req EventRequest, eventID string) webhook.Event {
	e := webhook.Event{EventID: eventID, Type: req.Type, Provider: r.Provider, ClientRefID: r.ClientRefID,
		TxType: r.TxType, AgentUserCode: r.AgentUserCode.String,
		Amount: money(r.Amount), Commission: money(r.Commission), TDS: money(r.TDS),
		TID: r.TID, BankRefNum: r.BankRefNum, State: req.State,
		// The reason quotes reports and operators' words: masked like every stored text.
		Reason:     redact.Text(req.Reason),
		OccurredAt: req.OccurredAt.UTC().Format(time.RFC3339Nano),
	}
	return e
}

// SendEvent sends one event about a transaction to the platform, once: the body is stored at the
// first attempt and every retry sends the same bytes; an event already acknowledged is not sent
// again. A failed delivery returns an error, and Temporal retries it with backoff until the
// workflow's WEBHOOK_DEADLINE.
func (a *Activities) SendEvent(ctx context.Context, req EventRequest) (EventResult, error) {
	id := webhook.EventID(req.WorkflowID, req.Type)
	res := EventResult{EventID: id, Enabled: a.Webhook != nil}
	if a.Webhook == nil {
		return res, nil
	}
	e, err := a.Store.Event(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		row, err := a.Store.FinanceByWorkflowID(ctx, req.WorkflowID)
		if err != nil {
			return res, fmt.Errorf("read transaction %s: %w", req.WorkflowID, err)
		}
		body, err := json.Marshal(BuildEvent(row, req, id))
		if err != nil {
			return res, fmt.Errorf("encode event: %w", err)
		}
		if e, err = a.Store.EnsureEvent(ctx, id, sql.NullInt64{Int64: row.ID, Valid: true}, req.Type, body); err != nil {
			return res, err
		}
	} else if err != nil {
		return res, err
	}
	if req.Hold != "" {
		return res, a.Store.GiveUpEvent(ctx, id, req.Hold)
	}
	if e.AcknowledgedAt.Valid {
		return res, nil
	}
	if a.EventSlots != nil {
		select {
		case a.EventSlots <- struct{}{}:
			defer func() { <-a.EventSlots }()
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	res.Sent, err = a.Store.DeliverEvent(ctx, id, func(body []byte) db.Attempt {
		activity.RecordHeartbeat(ctx)
		r := a.Webhook.Send(ctx, id, body)
		return db.Attempt{Status: r.Status, Error: r.Detail}
	})
	if err != nil {
		return res, fmt.Errorf("deliver %s %s: %w", req.Type, id, err)
	}
	return res, nil
}

// GiveUpEvent sets an event aside after WEBHOOK_DEADLINE and flags its transaction; the event can
// be re-sent by the API or the CLI.
func (a *Activities) GiveUpEvent(ctx context.Context, req EventRequest) error {
	if a.Webhook == nil {
		return nil
	}
	id := webhook.EventID(req.WorkflowID, req.Type)
	return a.Store.GiveUpEvent(ctx, id, fmt.Sprintf("event %s (%s) not acknowledged by the platform within the deadline; re-send it with POST /v1/transactions/{ref}/events/resend", id, req.Type))
}

// money writes an exact amount with at least two decimals ("100.00", "0.325"); nil when absent.
func money(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := d.Decimal.StringFixed(2)
	if d.Decimal.Exponent() < -2 {
		s = d.Decimal.String()
	}
	return &s
}
