package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// WebhookEvent is an event to the platform and its delivery state.
type WebhookEvent struct {
	EventID        string        `db:"event_id" json:"event_id"`
	TransactionID  sql.NullInt64 `db:"transaction_id" json:"-"`
	Type           string        `db:"type" json:"type"`
	Body           string        `db:"body" json:"-"`
	CreatedAt      time.Time     `db:"created_at" json:"created_at"`
	Attempts       int           `db:"attempts" json:"attempts"`
	LastAttemptAt  sql.NullTime  `db:"last_attempt_at" json:"-"`
	LastStatus     int           `db:"last_status" json:"last_status"`
	LastError      string        `db:"last_error" json:"last_error,omitempty"`
	AcknowledgedAt sql.NullTime  `db:"acknowledged_at" json:"-"`
	GaveUpAt       sql.NullTime  `db:"gave_up_at" json:"-"`
}

const webhookColumns = `event_id, transaction_id, type, body, created_at, attempts, last_attempt_at, last_status,
	last_error, acknowledged_at, gave_up_at`

// EnsureEvent stores the event the first time (its body fixed from then on) and returns the stored
// row: a retry, or another worker, gets the same body back whatever it built.
func (s *Store) EnsureEvent(ctx context.Context, eventID string, txID sql.NullInt64, typ string, body []byte) (WebhookEvent, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO webhook_events (event_id, transaction_id, type, body)
		VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`, eventID, txID, typ, string(body)); err != nil {
		return WebhookEvent{}, fmt.Errorf("store event %s: %w", eventID, err)
	}
	var e WebhookEvent
	if err := s.db.GetContext(ctx, &e, `SELECT `+webhookColumns+` FROM webhook_events WHERE event_id = $1`, eventID); err != nil {
		return WebhookEvent{}, fmt.Errorf("read event %s: %w", eventID, err)
	}
	return e, nil
}

// Attempt is the outcome of one delivery attempt.
type Attempt struct {
	Status int
	Error  string // "" with a 2xx status: acknowledged
}

// ErrNotAcknowledged is returned when the platform did not answer 2xx.
var ErrNotAcknowledged = errors.New("event not acknowledged")

// DeliverEvent sends a stored event unless it was already acknowledged, holding the event's row
// lock while it sends: two senders (a retried activity whose first attempt is still running, an
// operator's re-send) never send one event at the same time, and once one has recorded the
// acknowledgement the other sends nothing. A process that dies mid-send releases the lock with
// its connection, and nothing was recorded: the event is sent again, as it must be.
// sent reports whether this call sent it; the error is ErrNotAcknowledged (wrapped) after a
// non-2xx answer.
func (s *Store) DeliverEvent(ctx context.Context, eventID string, send func(body []byte) Attempt) (sent bool, err error) {
	// The row lock and the record outlive ctx (the caller's, which a worker's shutdown cancels):
	// an acknowledgement that came back must be recorded, or the event would be sent again.
	// send itself uses ctx, so a shutdown still cuts a pending POST short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var e WebhookEvent
		if err := tx.GetContext(ctx, &e, `SELECT `+webhookColumns+` FROM webhook_events WHERE event_id = $1 FOR UPDATE`, eventID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("lock event %s: %w", eventID, err)
		}
		if e.AcknowledgedAt.Valid {
			return nil
		}
		sent = true
		a := send([]byte(e.Body))
		ok := a.Error == "" && a.Status >= 200 && a.Status < 300
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = clock_timestamp(),
			last_status = $2, last_error = $3,
			acknowledged_at = CASE WHEN $4 THEN clock_timestamp() END,
			gave_up_at = CASE WHEN $4 THEN NULL ELSE gave_up_at END
			WHERE event_id = $1`, eventID, a.Status, storable(truncate(a.Error, 1000)), ok); err != nil {
			return fmt.Errorf("record delivery of %s: %w", eventID, err)
		}
		return nil // a failed attempt is committed too: it is on record
	})
	if err != nil {
		return sent, err
	}
	e, err := s.Event(ctx, eventID)
	if err != nil {
		return sent, err
	}
	if !e.AcknowledgedAt.Valid {
		return sent, fmt.Errorf("%w: %s", ErrNotAcknowledged, e.LastError)
	}
	return sent, nil
}

// Event returns one stored event.
func (s *Store) Event(ctx context.Context, eventID string) (WebhookEvent, error) {
	var e WebhookEvent
	err := s.db.GetContext(ctx, &e, `SELECT `+webhookColumns+` FROM webhook_events WHERE event_id = $1`, eventID)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("read event %s: %w", eventID, err)
	}
	return e, nil
}

// GiveUpEvent sets an unacknowledged event aside (past WEBHOOK_DEADLINE, or held behind one that
// was) and flags its transaction.
func (s *Store) GiveUpEvent(ctx context.Context, eventID, reason string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var txID sql.NullInt64
		err := tx.GetContext(ctx, &txID, `UPDATE webhook_events SET gave_up_at = coalesce(gave_up_at, now()),
			last_error = CASE WHEN last_error = '' THEN $2 ELSE last_error END
			WHERE event_id = $1 AND acknowledged_at IS NULL RETURNING transaction_id`, eventID, storable(truncate(reason, 1000)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // acknowledged meanwhile, or never stored
		}
		if err != nil {
			return fmt.Errorf("set event %s aside: %w", eventID, err)
		}
		if txID.Valid {
			return flag(ctx, tx, txID.Int64, reason)
		}
		return nil
	})
}

// TransactionEvents returns a transaction's events in the order they were created (sent).
func (s *Store) TransactionEvents(ctx context.Context, txID int64) ([]WebhookEvent, error) {
	out := []WebhookEvent{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+webhookColumns+` FROM webhook_events
		WHERE transaction_id = $1 ORDER BY created_at, event_id`, txID)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}
