package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// EkoResponse is a parsed eko-response ready to be recorded.
type EkoResponse struct {
	Inbound     Inbound
	ClientRefID string
	ContentHash string
	TxStatus    string
	Status      string
	Message     string
	TID         string
	BankRefNum  string
	UserCode    string
	Aadhaar     string                         // masked
	Amounts     map[string]decimal.NullDecimal // amount, commission, tds, fee, balance, customer_balance
	Response    []byte                         // all of detail.response, canonical JSON, Aadhaar masked
	// Signal builds the outbox entry that delivers the response to the transaction's workflow.
	Signal func(tx TxRef, responseID int64) (OutboxEntry, error)
}

// TxRef is what building a workflow message needs to know of a transaction: a signal may have
// to start the workflow too (SignalWithStart), so it carries the start input's fields.
type TxRef struct {
	ID            int64          `db:"id"`
	Provider      string         `db:"provider"`
	ClientRefID   string         `db:"client_ref_id"`
	ProviderRef   string         `db:"provider_ref"`
	WorkflowID    string         `db:"workflow_id"`
	State         txstate.State  `db:"state"`
	TxType        string         `db:"tx_type"`
	AgentUserCode sql.NullString `db:"agent_user_code"`
	AmountText    sql.NullString `db:"amount_text"`
	CreatedAt     time.Time      `db:"created_at"`
	// CustomerMobile is stored as received; mask it (redact.Mobile) before it leaves.
	CustomerMobile sql.NullString `db:"customer_mobile"`
}

const txRefColumns = `id, provider, client_ref_id, provider_ref, workflow_id, state, tx_type, agent_user_code, amount_text, created_at, customer_mobile`

// Outcomes of recording a report.
const (
	OutcomeRecorded         = "recorded"
	OutcomeDuplicate        = "duplicate"
	OutcomeUnknownReference = "unknown_reference"
	OutcomeAfterFinal       = "after_final"
)

// ResponseResult says what recording an eko-response did.
type ResponseResult struct {
	Outcome       string
	TransactionID int64
	ResponseID    int64
	Flagged       bool
	FlagReason    string
}

// RecordEkoResponse stores an eko-response and, for a transaction still in progress, queues it for
// the workflow, in one PostgreSQL transaction. A repeat is recorded as a request and changes
// nothing else; a response for an unknown reference is kept and flagged; a response after the
// final state is kept and, if it contradicts that state, flags the transaction.
func (s *Store) RecordEkoResponse(ctx context.Context, r EkoResponse) (ResponseResult, error) {
	res, err := txValue(ctx, s, func(tx *sqlx.Tx) (ResponseResult, error) { return recordEkoResponse(ctx, tx, r) })
	if err != nil {
		return ResponseResult{}, fmt.Errorf("record eko-response for %s: %w", r.ClientRefID, err)
	}
	return res, nil
}

func recordEkoResponse(ctx context.Context, tx *sqlx.Tx, r EkoResponse) (ResponseResult, error) {
	var t TxRef
	// Our key first, then Eko's original reference (CLIENT_REF_ID_SOURCE=own). The row lock
	// orders concurrent reports for one transaction.
	err := tx.GetContext(ctx, &t, `
		SELECT `+txRefColumns+` FROM transactions
		WHERE provider = 'eko' AND (client_ref_id = $1 OR provider_ref = $1)
		ORDER BY (client_ref_id = $1) DESC LIMIT 1 FOR UPDATE`, r.ClientRefID)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ResponseResult{}, fmt.Errorf("look up transaction: %w", err)
	}
	res := ResponseResult{Outcome: OutcomeRecorded}
	if known {
		res.TransactionID = t.ID
		r.Inbound.TransactionID = sql.NullInt64{Int64: t.ID, Valid: true}
	}

	var dup bool
	if err := tx.GetContext(ctx, &dup, `SELECT EXISTS (SELECT 1 FROM eko_responses WHERE client_ref_id = $1 AND content_hash = $2)`,
		r.ClientRefID, r.ContentHash); err != nil {
		return ResponseResult{}, fmt.Errorf("check for repeat: %w", err)
	}
	switch {
	case dup:
		res.Outcome = OutcomeDuplicate
	case !known:
		res.Outcome, res.Flagged, res.FlagReason = OutcomeUnknownReference, true, "eko-response for an unknown client_ref_id"
	case txstate.IsFinal(t.State):
		res.Outcome = OutcomeAfterFinal
		// The workflow's rule: 3 after success contradicts it, 4 after failed does not.
		if txstate.ContradictsEko(t.State, r.TxStatus) {
			res.Flagged = true
			res.FlagReason = fmt.Sprintf("eko-response after the final state reports %s (tx_status %s), transaction is %s",
				ekoOutcomeWords(r.TxStatus), r.TxStatus, t.State)
		}
	}
	r.Inbound.Outcome, r.Inbound.OutcomeDetail = res.Outcome, res.FlagReason
	inboundID, err := insertInbound(ctx, tx, r.Inbound)
	if err != nil || dup {
		return res, err
	}

	// The outcome matters whatever the response holds: a \u0000 is stored as U+FFFD, never refused.
	response, err := storableJSON(r.Response)
	if err != nil {
		return ResponseResult{}, fmt.Errorf("encode response: %w", err)
	}
	a := func(k string) decimal.NullDecimal { return r.Amounts[k] }
	err = tx.GetContext(ctx, &res.ResponseID, `
		INSERT INTO eko_responses (inbound_request_id, transaction_id, client_ref_id, content_hash, tx_status, status,
			message, tid, bank_ref_num, amount, commission, tds, fee, balance, customer_balance, aadhaar_masked,
			user_code, response, unknown_reference, after_final, contradicts_final)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
		RETURNING id`,
		inboundID, r.Inbound.TransactionID, r.ClientRefID, r.ContentHash, storable(r.TxStatus), storable(r.Status),
		storable(r.Message), storable(r.TID), storable(r.BankRefNum), a("amount"), a("commission"), a("tds"), a("fee"),
		a("balance"), a("customer_balance"), storable(r.Aadhaar), storable(r.UserCode), response, !known,
		res.Outcome == OutcomeAfterFinal, res.Flagged && known)
	if err != nil {
		return ResponseResult{}, fmt.Errorf("insert eko-response: %w", err)
	}
	if !known {
		return res, nil
	}
	ev := Event{TransactionID: t.ID, Kind: "eko_response", DedupeKey: "eko_response:" + strconv.FormatInt(res.ResponseID, 10),
		Detail: map[string]string{"tx_status": r.TxStatus, "message": r.Message, "tid": r.TID}}
	if res.Outcome == OutcomeAfterFinal {
		ev.Kind = "late_eko_response"
		if res.Flagged {
			ev.Detail["flag"] = res.FlagReason
			if err := flag(ctx, tx, t.ID, res.FlagReason); err != nil {
				return ResponseResult{}, err
			}
		}
	}
	if _, err := insertEvent(ctx, tx, ev); err != nil {
		return ResponseResult{}, err
	}
	if res.Outcome == OutcomeAfterFinal {
		return res, nil // the workflow has ended; nothing more to deliver
	}
	entry, err := r.Signal(t, res.ResponseID)
	if err != nil {
		return ResponseResult{}, err
	}
	return res, insertOutbox(ctx, tx, entry)
}

// ekoOutcomeWords names, for a flag's reader, the tx_status values that report an outcome.
func ekoOutcomeWords(txStatus string) string {
	switch txStatus {
	case "0":
		return "success"
	case "1":
		return "failed"
	case "3":
		return "refund pending"
	case "4":
		return "refunded"
	}
	return "tx_status " + txStatus
}

func flag(ctx context.Context, tx *sqlx.Tx, id int64, reason string) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE transactions SET flagged = true,
			flag_reason = CASE WHEN flag_reason = '' THEN $2 ELSE flag_reason || '; ' || $2 END,
			updated_at = now()
		WHERE id = $1`, id, storable(reason)) // reasons quote request text
	if err != nil {
		return fmt.Errorf("flag transaction: %w", err)
	}
	return nil
}
