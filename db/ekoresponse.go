package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
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
	// MaxReports caps the eko-responses delivered to one transaction's workflow (DefaultMaxReports
	// when 0): past it, a report is stored and the transaction flagged, nothing more.
	MaxReports int
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

// DefaultMaxReports is the cap on eko-responses per transaction when none is configured.
const DefaultMaxReports = 20

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
	// Signalled says the report was queued for the workflow: it is the first of its tx_status
	// class (txstate.ReportClass) and within the cap.
	Signalled bool
	OverCap   bool
}

// RecordEkoResponse stores an eko-response and, for a transaction still in progress, queues it for
// the workflow, in one PostgreSQL transaction. A repeat is recorded as a request and changes
// nothing else; a response for an unknown reference is kept and flagged; a response after the
// final state is kept and, if it contradicts that state, flags the transaction.
//
// The eko-response comes from the agent's browser, unauthenticated, so what it can do to a
// workflow is bounded: only the first report of each tx_status class is signalled (a repeat of a
// class tells the workflow nothing new), and past MaxReports per transaction a report is only
// stored, and the transaction flagged once.
func (s *Store) RecordEkoResponse(ctx context.Context, to Intents, r EkoResponse) (ResponseResult, error) {
	res, err := txValue(ctx, s, func(tx *sqlx.Tx) (ResponseResult, error) { return recordEkoResponse(ctx, tx, to, r) })
	if err != nil {
		return ResponseResult{}, fmt.Errorf("record eko-response for %s: %w", r.ClientRefID, err)
	}
	return res, nil
}

func recordEkoResponse(ctx context.Context, tx *sqlx.Tx, to Intents, r EkoResponse) (ResponseResult, error) {
	maxReports := r.MaxReports
	if maxReports <= 0 {
		maxReports = DefaultMaxReports
	}
	var t struct {
		TxRef
		EkoReports int `db:"eko_reports"`
	}
	// Our key first, then Eko's original reference (CLIENT_REF_ID_SOURCE=own). The row lock
	// orders concurrent reports for one transaction; a transaction already past the cap needs no
	// order (its reports are only stored), so a flood of them does not queue on its lock and
	// hold up the genuine requests for it. The count only grows, so a stale read that is not yet
	// past the cap merely takes the locked path.
	lookUp := func(lock string) error {
		return tx.GetContext(ctx, &t, `
			SELECT `+txRefColumns+`, eko_reports FROM transactions
			WHERE provider = 'eko' AND (client_ref_id = $1 OR provider_ref = $1)
			ORDER BY (client_ref_id = $1) DESC LIMIT 1`+lock, r.ClientRefID)
	}
	err := lookUp("")
	overCap := err == nil && !txstate.IsFinal(t.State) && t.EkoReports > maxReports
	if err == nil && !overCap {
		err = lookUp(" FOR UPDATE")
	}
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ResponseResult{}, fmt.Errorf("look up transaction: %w", err)
	}
	res := ResponseResult{Outcome: OutcomeRecorded}
	if known {
		res.TransactionID = t.ID
		r.Inbound.TransactionID = sql.NullInt64{Int64: t.ID, Valid: true}
	}

	// A repeat of a report of this transaction (or, with none yet, of another report sent before
	// any debit-hook): one sent before the debit-hook never makes the genuine one a repeat.
	var dup bool
	if err := tx.GetContext(ctx, &dup, `SELECT EXISTS (SELECT 1 FROM eko_responses
		WHERE client_ref_id = $1 AND content_hash = $2 AND coalesce(transaction_id, 0) = $3)`,
		r.ClientRefID, r.ContentHash, t.ID); err != nil {
		return ResponseResult{}, fmt.Errorf("check for repeat: %w", err)
	}
	switch {
	case dup:
		res.Outcome = OutcomeDuplicate
	case !known:
		// Eko sends the eko-response only after our allow: one before any debit-hook was forged
		// or misrouted. It is kept and flagged, and never becomes the outcome of a transaction
		// that a later debit-hook creates under this reference (it stays unlinked).
		res.Outcome, res.Flagged = OutcomeUnknownReference, true
		res.FlagReason = "eko-response for a client_ref_id with no debit-hook: kept, never counted as its transaction's outcome"
	case txstate.IsFinal(t.State):
		res.Outcome = OutcomeAfterFinal
		// The workflow's rule: 3 after success contradicts it, 4 after failed does not.
		if txstate.ContradictsEko(t.State, r.TxStatus) {
			res.Flagged = true
			res.FlagReason = fmt.Sprintf("eko-response after the final state reports %s (tx_status %s), transaction is %s",
				ekoOutcomeWords(r.TxStatus), r.TxStatus, t.State)
		}
	case overCap:
		res.OverCap = true // flagged when the cap was passed
	default:
		var seen struct {
			Reports int            `db:"eko_reports"`
			Classes pq.StringArray `db:"signalled_classes"`
		}
		if err := tx.GetContext(ctx, &seen, `UPDATE transactions SET eko_reports = eko_reports + 1
			WHERE id = $1 RETURNING eko_reports, signalled_classes`, t.ID); err != nil {
			return ResponseResult{}, fmt.Errorf("count reports: %w", err)
		}
		class := txstate.ReportClass(r.TxStatus)
		switch {
		case seen.Reports > maxReports:
			res.OverCap = true
			if seen.Reports == maxReports+1 { // flag once, not on every later report
				res.Flagged = true
				res.FlagReason = fmt.Sprintf("more than %d eko-responses for this transaction: later ones are stored, not delivered to the workflow", maxReports)
			}
		case !slices.Contains(seen.Classes, class):
			res.Signalled = true
			if _, err := tx.ExecContext(ctx, `UPDATE transactions SET signalled_classes = array_append(signalled_classes, $2)
				WHERE id = $1`, t.ID, class); err != nil {
				return ResponseResult{}, fmt.Errorf("note signalled class: %w", err)
			}
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
			user_code, response, unknown_reference, after_final, contradicts_final, signalled, over_cap)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)
		RETURNING id`,
		inboundID, r.Inbound.TransactionID, r.ClientRefID, r.ContentHash, storable(r.TxStatus), storable(r.Status),
		storable(r.Message), storableRef(r.TID), storableRef(r.BankRefNum), a("amount"), a("commission"), a("tds"), a("fee"),
		a("balance"), a("customer_balance"), storable(r.Aadhaar), storable(r.UserCode), response, !known,
		res.Outcome == OutcomeAfterFinal, res.Flagged && known && res.Outcome == OutcomeAfterFinal, res.Signalled, res.OverCap)
	if err != nil {
		return ResponseResult{}, fmt.Errorf("insert eko-response: %w", err)
	}
	if !known {
		return res, nil
	}
	if res.OverCap && !res.Flagged {
		return res, nil // stored; the history already says the cap was reached
	}
	ev := Event{TransactionID: t.ID, Kind: "eko_response", DedupeKey: "eko_response:" + strconv.FormatInt(res.ResponseID, 10),
		Detail: map[string]string{"tx_status": r.TxStatus, "message": r.Message, "tid": r.TID}}
	if res.Outcome == OutcomeAfterFinal {
		ev.Kind = "late_eko_response"
	} else if !res.Signalled {
		ev.Detail["not_delivered"] = "a report of the same tx_status class was delivered already"
		if res.OverCap {
			ev.Detail["not_delivered"] = "over the cap of eko-responses per transaction"
		}
	}
	if res.Flagged {
		ev.Detail["flag"] = res.FlagReason
		if err := flag(ctx, tx, t.ID, res.FlagReason); err != nil {
			return ResponseResult{}, err
		}
	}
	if _, err := insertEvent(ctx, tx, ev); err != nil {
		return ResponseResult{}, err
	}
	if !res.Signalled {
		return res, nil // the workflow has ended, or has been told this already
	}
	entry, err := to.Report(t.TxRef, Report{Source: ReportEko, ID: res.ResponseID, TxStatus: r.TxStatus, TxnID: r.TID})
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
