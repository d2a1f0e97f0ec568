package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// Transaction is a transaction as the read API shows it.
type Transaction struct {
	ID            int64               `db:"id" json:"-"`
	Provider      string              `db:"provider" json:"provider"`
	ClientRefID   string              `db:"client_ref_id" json:"client_ref_id"`
	ProviderRef   string              `db:"provider_ref" json:"provider_ref"`
	WorkflowID    string              `db:"workflow_id" json:"workflow_id"`
	TxType        string              `db:"tx_type" json:"type"`
	AgentUserCode sql.NullString      `db:"agent_user_code" json:"-"`
	Customer      sql.NullString      `db:"customer_mobile" json:"-"`
	BankCode      sql.NullString      `db:"bank_code" json:"-"`
	Amount        decimal.NullDecimal `db:"amount" json:"amount"`
	AmountText    sql.NullString      `db:"amount_text" json:"-"`
	State         txstate.State       `db:"state" json:"state"`
	StateReason   string              `db:"state_reason" json:"state_reason"`
	Flagged       bool                `db:"flagged" json:"flagged"`
	FlagReason    string              `db:"flag_reason" json:"flag_reason,omitempty"`
	BusinessDay   time.Time           `db:"business_day" json:"-"`
	DetailsHash   string              `db:"details_hash" json:"-"`
	CreatedAt     time.Time           `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time           `db:"updated_at" json:"updated_at"`
	FinalAt       sql.NullTime        `db:"final_at" json:"-"`
	// Eko's references, from its Transaction Inquiry (exact).
	EkoTID     string `db:"eko_tid" json:"eko_tid,omitempty"`
	BankRefNum string `db:"bank_ref_num" json:"bank_ref_num,omitempty"`
	// EkoReports counts the eko-responses recorded for the transaction while it was open, up
	// to one past EKO_MAX_REPORTS (past the cap they are only stored).
	EkoReports int `db:"eko_reports" json:"eko_reports"`
}

// StoredEvent is one entry of a transaction's history.
type StoredEvent struct {
	At     time.Time       `db:"at" json:"at"`
	Kind   string          `db:"kind" json:"kind"`
	From   txstate.State   `db:"from_state" json:"from,omitempty"`
	To     txstate.State   `db:"to_state" json:"to,omitempty"`
	Detail json.RawMessage `db:"detail" json:"detail"`
}

// StoredResponse is a recorded eko-response.
type StoredResponse struct {
	ID              int64               `db:"id" json:"id"`
	ReceivedAt      time.Time           `db:"received_at" json:"received_at"`
	TxStatus        string              `db:"tx_status" json:"tx_status"`
	Status          string              `db:"status" json:"status"`
	Message         string              `db:"message" json:"message"`
	TID             string              `db:"tid" json:"tid"`
	BankRefNum      string              `db:"bank_ref_num" json:"bank_ref_num"`
	Amount          decimal.NullDecimal `db:"amount" json:"amount"`
	Commission      decimal.NullDecimal `db:"commission" json:"commission"`
	TDS             decimal.NullDecimal `db:"tds" json:"tds"`
	Fee             decimal.NullDecimal `db:"fee" json:"fee"`
	Balance         decimal.NullDecimal `db:"balance" json:"balance"`
	CustomerBalance decimal.NullDecimal `db:"customer_balance" json:"customer_balance"`
	Aadhaar         string              `db:"aadhaar_masked" json:"aadhaar"`
	UserCode        string              `db:"user_code" json:"user_code"`
	AfterFinal      bool                `db:"after_final" json:"after_final"`
	Contradicts     bool                `db:"contradicts_final" json:"contradicts_final"`
	Signalled       bool                `db:"signalled" json:"signalled"`
	OverCap         bool                `db:"over_cap" json:"over_cap,omitempty"`
	Response        json.RawMessage     `db:"response" json:"response"`
}

const txColumns = `id, provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code, customer_mobile,
	bank_code, amount, amount_text, state, state_reason, flagged, flag_reason, business_day, details_hash,
	created_at, updated_at, final_at, eko_tid, bank_ref_num, eko_reports`

// FindTransactions returns the transactions whose client_ref_id (or provider reference) is ref,
// across providers unless provider is given.
func (s *Store) FindTransactions(ctx context.Context, ref, provider string) ([]Transaction, error) {
	var out []Transaction
	err := s.db.SelectContext(ctx, &out, `SELECT `+txColumns+` FROM transactions
		WHERE (client_ref_id = $1 OR provider_ref = $1) AND ($2 = '' OR provider = $2)
		ORDER BY (client_ref_id = $1) DESC, id`, ref, provider)
	if err != nil {
		return nil, fmt.Errorf("find transactions %s: %w", ref, err)
	}
	return out, nil
}

// TransactionByWorkflowID returns one transaction or ErrNotFound.
func (s *Store) TransactionByWorkflowID(ctx context.Context, workflowID string) (Transaction, error) {
	var t Transaction
	err := s.db.GetContext(ctx, &t, `SELECT `+txColumns+` FROM transactions WHERE workflow_id = $1`, workflowID)
	if errors.Is(err, sql.ErrNoRows) {
		return Transaction{}, ErrNotFound
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("get transaction %s: %w", workflowID, err)
	}
	return t, nil
}

// Events returns a transaction's history, oldest first.
func (s *Store) Events(ctx context.Context, txID int64) ([]StoredEvent, error) {
	out := []StoredEvent{}
	err := s.db.SelectContext(ctx, &out, `SELECT at, kind, from_state, to_state, detail FROM tx_events
		WHERE transaction_id = $1 ORDER BY id`, txID)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// EkoResponses returns the eko-responses recorded for a transaction, oldest first.
func (s *Store) EkoResponses(ctx context.Context, txID int64) ([]StoredResponse, error) {
	out := []StoredResponse{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, received_at, tx_status, status, message, tid, bank_ref_num,
		amount, commission, tds, fee, balance, customer_balance, aadhaar_masked, user_code, after_final,
		contradicts_final, signalled, over_cap, response
		FROM eko_responses WHERE transaction_id = $1 ORDER BY id`, txID)
	if err != nil {
		return nil, fmt.Errorf("list eko-responses: %w", err)
	}
	return out, nil
}

// QueueResolution records an operator's request to resolve a transaction that needs review and
// queues it for the workflow, with an audit event naming the operator (by). It refuses unless the
// transaction is in needs_review.
func (s *Store) QueueResolution(ctx context.Context, to Intents, workflowID string, r Resolution) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var t TxRef
		if err := tx.GetContext(ctx, &t, `SELECT `+txRefColumns+` FROM transactions
			WHERE workflow_id = $1 FOR UPDATE`, workflowID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("look up transaction: %w", err)
		}
		if t.State != txstate.NeedsReview {
			return fmt.Errorf("%w: transaction is %s, not needs_review", ErrConflict, t.State)
		}
		var seq int64
		if err := tx.GetContext(ctx, &seq, `SELECT count(*) + 1 FROM tx_events WHERE transaction_id = $1 AND kind = 'resolve_requested'`, t.ID); err != nil {
			return fmt.Errorf("number resolution: %w", err)
		}
		eventID := fmt.Sprintf("resolve:%d:%d", t.ID, seq)
		if _, err := insertEvent(ctx, tx, Event{TransactionID: t.ID, Kind: "resolve_requested", DedupeKey: eventID,
			Detail: map[string]string{"to": string(r.State), "reason": r.Reason, "by": r.By}}); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, Audit{Operator: r.By, Action: "resolve", Target: workflowID,
			TransactionID: sql.NullInt64{Int64: t.ID, Valid: true},
			Detail:        map[string]any{"from": t.State, "to": r.State, "reason": r.Reason, "event_id": eventID}}); err != nil {
			return err
		}
		e, err := to.Resolve(t, eventID, r)
		if err != nil {
			return err
		}
		return insertOutbox(ctx, tx, e)
	})
}

// ErrConflict is returned when a request does not fit the transaction's current state.
var ErrConflict = errors.New("conflict")
