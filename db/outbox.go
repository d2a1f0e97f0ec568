package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// PendingEntry is an outbox entry claimed for delivery.
type PendingEntry struct {
	ID         int64  `db:"id"`
	Kind       string `db:"kind"`
	WorkflowID string `db:"workflow_id"`
	SignalName string `db:"signal_name"`
	Payload    []byte `db:"payload"`
	Attempts   int    `db:"attempts"`
}

// Delivery is the result of delivering one entry.
type Delivery struct {
	ID         int64
	WorkflowID string
	Err        error  // nil: delivered
	Note       string // what happened, e.g. "workflow already closed"
	// Retry is when to try again after an error.
	Retry time.Duration
	// Dead marks an entry that can never be delivered as stored (Err says why). It is set aside,
	// not retried: retrying cannot help, and it would hold back every later entry of its
	// workflow. Its transaction is flagged for an operator.
	Dead bool
	// NoWorkflow marks a signal that found no running workflow (Err says which): it was not
	// acted on, so it is set aside, not recorded as delivered, and its transaction flagged.
	NoWorkflow bool
}

// ClaimOutbox locks up to limit due entries (skipping those another relay holds), hands them to
// deliver and records the results, all in one transaction: a relay that dies mid-batch releases
// its locks and another delivers the entries again, which is why delivery must be idempotent.
//
// An entry is claimed only when no earlier entry of its workflow is still undelivered, so each
// workflow gets its starts and signals in the order they were committed: whether that earlier
// entry is held by another relay, or waiting for its retry after a failed delivery. (Ids follow
// commit order within a workflow because every writer of a workflow's entries first locks its
// transactions row, or inserts it.) A batch thus holds at most one entry per workflow.
//
// It returns how many entries it settled (delivered or set aside as dead): when none, nothing
// that is due can go now, and the caller should wait for a notification or its sweep.
func (s *Store) ClaimOutbox(ctx context.Context, limit int, deliver func([]PendingEntry) []Delivery) (int, error) {
	var settled int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var entries []PendingEntry
		if err := tx.SelectContext(ctx, &entries, `
			SELECT id, kind, workflow_id, signal_name, payload, attempts FROM outbox o
			WHERE delivered_at IS NULL AND available_at <= now()
			  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.workflow_id = o.workflow_id
			                  AND p.delivered_at IS NULL AND p.id < o.id)
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit); err != nil {
			return fmt.Errorf("claim outbox entries: %w", err)
		}
		if len(entries) == 0 {
			return nil
		}
		// clock_timestamp, not now(): now() is when this transaction began, and a batch waiting
		// on a slow Temporal can outlast a retry's whole backoff.
		for _, d := range deliver(entries) {
			var err error
			switch {
			case d.Err == nil:
				settled++
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET delivered_at = clock_timestamp(), attempts = attempts + 1,
					delivery_note = $2 WHERE id = $1`, d.ID, d.Note)
			case d.NoWorkflow:
				settled++
				reason := storable(truncate(d.Err.Error(), 1000))
				if _, err = tx.ExecContext(ctx, `UPDATE outbox SET delivered_at = clock_timestamp(), attempts = attempts + 1,
					last_error = $2, delivery_note = 'not delivered: ' || $2 WHERE id = $1`, d.ID, reason); err == nil {
					err = flagWorkflow(ctx, tx, d.WorkflowID, fmt.Sprintf("outbox entry %d was not delivered: %s", d.ID, reason))
				}
			case d.Dead:
				settled++
				reason := storable(truncate(d.Err.Error(), 1000))
				if _, err = tx.ExecContext(ctx, `UPDATE outbox SET delivered_at = clock_timestamp(), attempts = attempts + 1,
					last_error = $2, delivery_note = 'undeliverable: ' || $2 WHERE id = $1`, d.ID, reason); err == nil {
					err = flagWorkflow(ctx, tx, d.WorkflowID, fmt.Sprintf("outbox entry %d could not be delivered to the workflow: %s", d.ID, reason))
				}
			default:
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
					available_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE id = $1`,
					d.ID, storable(truncate(d.Err.Error(), 1000)), d.Retry.Milliseconds())
			}
			if err != nil {
				return fmt.Errorf("record delivery of outbox entry %d: %w", d.ID, err)
			}
		}
		return nil
	})
	return settled, err
}

// flagWorkflow flags the transaction of a workflow, if it has one.
func flagWorkflow(ctx context.Context, tx *sqlx.Tx, workflowID, reason string) error {
	var id int64
	err := tx.GetContext(ctx, &id, `SELECT id FROM transactions WHERE workflow_id = $1`, workflowID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up the transaction of %s: %w", workflowID, err)
	}
	return flag(ctx, tx, id, reason)
}

// OutboxBacklog counts undelivered entries and the age of the oldest, for readiness and metrics.
func (s *Store) OutboxBacklog(ctx context.Context) (count int, oldest time.Duration, err error) {
	var row struct {
		N   int     `db:"n"`
		Age float64 `db:"age"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT count(*) AS n,
		coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
		FROM outbox WHERE delivered_at IS NULL`)
	if err != nil {
		return 0, 0, fmt.Errorf("measure outbox backlog: %w", err)
	}
	return row.N, time.Duration(row.Age * float64(time.Second)), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
