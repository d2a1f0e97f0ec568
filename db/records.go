package db

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aepsflow/aepsflow/txstate"
)

// Change is a workflow's write to a transaction: an event, optionally a state change and a flag.
type Change struct {
	WorkflowID string
	Key        string // idempotency key within the transaction
	Kind       string
	From, To   txstate.State
	Reason     string // the new state's reason
	Final      bool
	Flag       string
	Detail     map[string]string
	// EkoTID and BankRefNum, when set, are Eko's references for the transaction (from an
	// inquiry), kept exactly on the transaction for reconciliation.
	EkoTID, BankRefNum string
}

// ApplyChange appends the event and applies the state change once: a retried call with the same
// key changes nothing.
func (s *Store) ApplyChange(ctx context.Context, c Change) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM transactions WHERE workflow_id = $1 FOR UPDATE`, c.WorkflowID); err != nil {
			return fmt.Errorf("look up transaction: %w", err)
		}
		if c.Flag != "" {
			if c.Detail == nil {
				c.Detail = map[string]string{}
			}
			c.Detail["flag"] = c.Flag
		}
		inserted, err := insertEvent(ctx, tx, Event{TransactionID: id, Kind: c.Kind, From: c.From, To: c.To, Detail: c.Detail, DedupeKey: c.Key})
		if err != nil || !inserted {
			return err
		}
		if c.To != "" {
			// storable: a reason may quote a report, and a write that can never succeed would
			// make the workflow retry this record forever.
			if _, err := tx.ExecContext(ctx, `
				UPDATE transactions SET state = $2, state_reason = $3, updated_at = now(),
					final_at = CASE WHEN $4 THEN now() ELSE NULL END
				WHERE id = $1`, id, c.To, storable(c.Reason), c.Final); err != nil {
				return fmt.Errorf("set state %s: %w", c.To, err)
			}
		}
		if c.EkoTID != "" || c.BankRefNum != "" {
			if _, err := tx.ExecContext(ctx, `
				UPDATE transactions SET eko_tid = CASE WHEN $2 = '' THEN eko_tid ELSE $2 END,
					bank_ref_num = CASE WHEN $3 = '' THEN bank_ref_num ELSE $3 END, updated_at = now()
				WHERE id = $1`, id, storableKey(c.EkoTID), storableKey(c.BankRefNum)); err != nil {
				return fmt.Errorf("keep Eko's references: %w", err)
			}
		}
		if c.Flag != "" {
			return flag(ctx, tx, id, c.Flag)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply %s to %s: %w", c.Kind, c.WorkflowID, err)
	}
	return nil
}
