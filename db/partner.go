package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// PartnerCallback is a validated partner status callback ("post-request") ready to be recorded.
type PartnerCallback struct {
	Inbound   Inbound
	PartnerID string // the authenticated client_id
	Provider  string // "partner:<client_id>"
	TxnID     string // exact decimal digits
	// ContentHash identifies the delivery's content; DetailsHash the transaction it describes
	// (type, amount, agent, ClientRefID), which every callback for one ClientRefID must share.
	ContentHash                           string
	DetailsHash                           string
	ClientRefID                           string
	Status                                string
	StatusDesc                            string
	Outcome                               string // success | failed | unknown
	TxnType                               string // as received
	TxType                                string // ours, e.g. cash_withdrawal
	TxnTypeKnown                          bool
	ProductCode                           string
	Amount                                decimal.NullDecimal
	AmountText                            string
	CreatedDate, UpdatedDate, TxnDateTime time.Time
	BusinessDay                           string // YYYY-MM-DD, txnDateTime's day in IST
	CustomerIdentification                string // masked
	RRN, Username, ParamB, ParamC         string
	Flags                                 []string
}

// Outcomes of recording a partner callback, besides OutcomeRecorded, OutcomeDuplicate and
// OutcomeAfterFinal.
const (
	// PartnerConflict: the txnId was delivered before with other content. Kept, flagged, not
	// applied: a re-delivery must not be able to rewrite an outcome.
	PartnerConflict = "conflict"
	// PartnerDetailsMismatch: the ClientRefID's transaction has another type, amount or agent.
	// Kept, flagged, not applied: it describes some other transaction.
	PartnerDetailsMismatch = "details_mismatch"
)

// PartnerResult says what recording a partner callback did.
type PartnerResult struct {
	Outcome       string // recorded | duplicate | conflict | details_mismatch | after_final
	TransactionID int64
	CallbackID    int64 // 0 for a duplicate
	Created       bool  // this callback created the transaction
	Flagged       bool
	FlagReason    string
}

// RecordPartnerCallback stores a partner callback durably, in one PostgreSQL transaction: the
// request, the transaction (created on its first callback, state pending, with the start of its
// workflow queued), the callback row, an event, and the outbox signal that delivers it to the
// workflow. A re-delivery of the same content stores only the request. Deliveries of one txnId
// are serialised by an advisory lock, so concurrent re-deliveries cannot both count as new.
func (s *Store) RecordPartnerCallback(ctx context.Context, to Intents, p PartnerCallback) (PartnerResult, error) {
	res, err := txValue(ctx, s, func(tx *sqlx.Tx) (PartnerResult, error) { return recordPartnerCallback(ctx, tx, to, p) })
	if err != nil {
		return PartnerResult{}, fmt.Errorf("record partner %s callback txnId %s: %w", p.PartnerID, p.TxnID, err)
	}
	return res, nil
}

func recordPartnerCallback(ctx context.Context, tx *sqlx.Tx, to Intents, p PartnerCallback) (PartnerResult, error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"partner_callback:"+p.PartnerID+":"+p.TxnID); err != nil {
		return PartnerResult{}, fmt.Errorf("lock txnId: %w", err)
	}
	var prior []struct {
		ID            int64  `db:"id"`
		ContentHash   string `db:"content_hash"`
		TransactionID int64  `db:"transaction_id"`
	}
	if err := tx.SelectContext(ctx, &prior, `SELECT id, content_hash, transaction_id FROM partner_callbacks
		WHERE partner_id = $1 AND txn_id = $2 ORDER BY id`, p.PartnerID, p.TxnID); err != nil {
		return PartnerResult{}, fmt.Errorf("look up earlier deliveries: %w", err)
	}
	for _, c := range prior {
		if c.ContentHash == p.ContentHash {
			res := PartnerResult{Outcome: OutcomeDuplicate, TransactionID: c.TransactionID}
			p.Inbound.TransactionID = sql.NullInt64{Int64: c.TransactionID, Valid: true}
			p.Inbound.Outcome = OutcomeDuplicate
			p.Inbound.OutcomeDetail = "same content as partner callback " + strconv.FormatInt(c.ID, 10)
			_, err := insertInbound(ctx, tx, p.Inbound)
			return res, err
		}
	}

	t, created, err := partnerTransaction(ctx, tx, to, p)
	if err != nil {
		return PartnerResult{}, err
	}
	res := PartnerResult{Outcome: OutcomeRecorded, TransactionID: t.ID, Created: created}
	var reported txstate.State // a partner's success or failed names the final state it reports
	if o := txstate.State(p.Outcome); o == txstate.Success || o == txstate.Failed {
		reported = o
	}
	flags := append([]string(nil), p.Flags...)
	var contradicts, amountDiffers bool
	switch {
	case len(prior) > 0:
		res.Outcome, res.Flagged = PartnerConflict, true
		res.FlagReason = fmt.Sprintf("partner txnId %s re-delivered with different content (status %s); not applied, review against partner callback %d",
			p.TxnID, p.Status, prior[0].ID)
	case t.DetailsHash != p.DetailsHash:
		res.Outcome, res.Flagged = PartnerDetailsMismatch, true
		res.FlagReason = fmt.Sprintf("partner txnId %s for ClientRefID %s has another txnType, amount or username than the transaction; not applied",
			p.TxnID, p.ClientRefID)
		// Another amount for the same transaction is a question about money, not only a
		// record: the workflow is told, compares the amounts and parks it in needs_review.
		if !sameAmount(t.Amount, p.Amount) && !txstate.IsFinal(t.State) {
			amountDiffers = true
			res.FlagReason += fmt.Sprintf("; txnAmount %q, earlier report %q", p.AmountText, t.AmountText.String)
		}
	case txstate.IsFinal(t.State):
		res.Outcome = OutcomeAfterFinal
		if txstate.Contradicts(t.State, reported) {
			contradicts, res.Flagged = true, true
			res.FlagReason = fmt.Sprintf("partner callback txnId %s after the final state reports %s (status %s), transaction is %s",
				p.TxnID, reported, p.Status, t.State)
		}
	}
	if res.Outcome != OutcomeRecorded {
		flags = append(flags, res.Outcome)
	}
	if contradicts {
		flags = append(flags, "contradicts_final")
	}

	p.Inbound.TransactionID = sql.NullInt64{Int64: t.ID, Valid: true}
	p.Inbound.Outcome, p.Inbound.OutcomeDetail = res.Outcome, res.FlagReason
	inboundID, err := insertInbound(ctx, tx, p.Inbound)
	if err != nil {
		return PartnerResult{}, err
	}
	err = tx.GetContext(ctx, &res.CallbackID, `
		INSERT INTO partner_callbacks (inbound_request_id, partner_id, txn_id, content_hash, transaction_id,
			client_ref_id, status, status_desc, outcome, disposition, txn_type, txn_type_known, product_code,
			amount, amount_text, created_date, updated_date, txn_date_time, customer_identification, rrn,
			username, param_b, param_c, flags, conflict, contradicts_final)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26)
		RETURNING id`,
		// Free text as the partner sent it, made storable; ClientRefID, our key, was checked printable.
		inboundID, p.PartnerID, p.TxnID, p.ContentHash, t.ID, p.ClientRefID, storable(p.Status), storable(p.StatusDesc),
		p.Outcome, res.Outcome, storable(p.TxnType), p.TxnTypeKnown, storable(p.ProductCode), p.Amount,
		storable(p.AmountText), p.CreatedDate, p.UpdatedDate, p.TxnDateTime, storable(p.CustomerIdentification),
		storableRef(p.RRN), storable(p.Username), storable(p.ParamB), storable(p.ParamC),
		pq.StringArray(storableAll(flags)), res.Outcome == PartnerConflict, contradicts)
	if err != nil {
		return PartnerResult{}, fmt.Errorf("insert partner callback: %w", err)
	}

	key := "partner_callback:" + strconv.FormatInt(res.CallbackID, 10)
	kind := map[string]string{
		OutcomeRecorded: "partner_callback", PartnerConflict: "partner_callback_conflict",
		PartnerDetailsMismatch: "partner_callback_mismatch", OutcomeAfterFinal: "late_partner_callback",
	}[res.Outcome]
	detail := map[string]string{"callback_id": strconv.FormatInt(res.CallbackID, 10), "txn_id": p.TxnID,
		"status": p.Status, "status_desc": p.StatusDesc, "outcome": p.Outcome, "rrn": p.RRN}
	if res.Flagged {
		detail["flag"] = res.FlagReason
		if err := flag(ctx, tx, t.ID, res.FlagReason); err != nil {
			return PartnerResult{}, err
		}
	}
	if _, err := insertEvent(ctx, tx, Event{TransactionID: t.ID, Kind: kind, Detail: detail, DedupeKey: key}); err != nil {
		return PartnerResult{}, err
	}
	if res.Outcome != OutcomeRecorded && !amountDiffers {
		return res, nil
	}
	entry, err := to.Report(t.TxRef, Report{Source: ReportPartner, ID: res.CallbackID, Outcome: p.Outcome, Status: p.Status,
		Amount: p.Amount, TxnID: p.TxnID})
	if err != nil {
		return PartnerResult{}, err
	}
	return res, insertOutbox(ctx, tx, entry)
}

// partnerTxRef is a transaction as recording a partner callback needs it.
type partnerTxRef struct {
	TxRef
	DetailsHash string              `db:"details_hash"`
	Amount      decimal.NullDecimal `db:"amount"`
}

// sameAmount compares two amounts as decimals, none counting as zero (as partner.DetailsHash).
func sameAmount(a, b decimal.NullDecimal) bool {
	x, y := decimal.Zero, decimal.Zero
	if a.Valid {
		x = a.Decimal
	}
	if b.Valid {
		y = b.Decimal
	}
	return x.Equal(y)
}

// partnerTransaction returns the ClientRefID's transaction, locked, creating it (state pending,
// workflow start queued) on the first callback. A concurrent first callback for the same
// ClientRefID makes the insert wait and then do nothing; the select then finds its row.
func partnerTransaction(ctx context.Context, tx *sqlx.Tx, to Intents, p PartnerCallback) (partnerTxRef, bool, error) {
	var t partnerTxRef
	err := tx.GetContext(ctx, &t, `
		INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code,
			amount, amount_text, details_hash, business_day, state)
		VALUES ($1,$2,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		ON CONFLICT DO NOTHING
		RETURNING `+txRefColumns+`, details_hash, amount`,
		p.Provider, p.ClientRefID, to.WorkflowID(p.Provider, p.ClientRefID), storable(p.TxType), storable(p.Username), p.Amount,
		nullIfEmpty(storable(p.AmountText)), p.DetailsHash, p.BusinessDay, txstate.Pending)
	if err == nil {
		return t, true, createdPartnerTransaction(ctx, tx, to, p, t)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return t, false, fmt.Errorf("insert transaction: %w", err)
	}
	err = tx.GetContext(ctx, &t, `SELECT `+txRefColumns+`, details_hash, amount FROM transactions
		WHERE provider = $1 AND client_ref_id = $2 FOR UPDATE`, p.Provider, p.ClientRefID)
	if err != nil {
		return t, false, fmt.Errorf("look up transaction: %w", err)
	}
	return t, false, nil
}

// createdPartnerTransaction records a new transaction's creation and queues its workflow's start.
// The start is queued even though every accepted callback's signal can start the workflow too:
// a transaction whose first callback is not applied (a conflict) must still get a workflow, which
// then parks it in needs_review when no usable callback comes.
func createdPartnerTransaction(ctx context.Context, tx *sqlx.Tx, to Intents, p PartnerCallback, t partnerTxRef) error {
	detail := map[string]string{"reason": "first partner callback", "txn_id": p.TxnID}
	if !p.TxnTypeKnown {
		reason := "unknown partner txnType " + p.TxnType
		detail["flag"] = reason
		if err := flag(ctx, tx, t.ID, reason); err != nil {
			return err
		}
	}
	if _, err := insertEvent(ctx, tx, Event{TransactionID: t.ID, Kind: "created", To: txstate.Pending,
		Detail: detail, DedupeKey: "created"}); err != nil {
		return err
	}
	entry, err := to.Start(t.TxRef)
	if err != nil {
		return err
	}
	return insertOutbox(ctx, tx, entry)
}

// storableAll is storable on each element, never nil (a NULL text[] would break the column).
func storableAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = storable(v)
	}
	return out
}

// StoredPartnerCallback is a recorded partner callback, as the read API shows it.
type StoredPartnerCallback struct {
	ID                     int64               `db:"id" json:"id"`
	ReceivedAt             time.Time           `db:"received_at" json:"received_at"`
	PartnerID              string              `db:"partner_id" json:"partner_id"`
	TxnID                  string              `db:"txn_id" json:"txn_id"` // exact digits, never a float
	Status                 string              `db:"status" json:"status"`
	StatusDesc             string              `db:"status_desc" json:"status_desc"`
	Outcome                string              `db:"outcome" json:"outcome"`
	Disposition            string              `db:"disposition" json:"disposition"`
	TxnType                string              `db:"txn_type" json:"txn_type"`
	TxnTypeKnown           bool                `db:"txn_type_known" json:"txn_type_known"`
	ProductCode            string              `db:"product_code" json:"product_code"`
	Amount                 decimal.NullDecimal `db:"amount" json:"amount"`
	AmountText             string              `db:"amount_text" json:"amount_text"`
	TxnDateTime            time.Time           `db:"txn_date_time" json:"txn_date_time"`
	CustomerIdentification string              `db:"customer_identification" json:"customer_identification"`
	RRN                    string              `db:"rrn" json:"rrn"`
	Username               string              `db:"username" json:"username"`
	ParamB                 string              `db:"param_b" json:"param_b"`
	ParamC                 string              `db:"param_c" json:"param_c"`
	Flags                  pq.StringArray      `db:"flags" json:"flags"`
	Conflict               bool                `db:"conflict" json:"conflict"`
	ContradictsFinal       bool                `db:"contradicts_final" json:"contradicts_final"`
	ContentHash            string              `db:"content_hash" json:"content_hash"`
}

// PartnerCallbacks returns the partner callbacks recorded for a transaction, oldest first.
func (s *Store) PartnerCallbacks(ctx context.Context, txID int64) ([]StoredPartnerCallback, error) {
	out := []StoredPartnerCallback{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, received_at, partner_id, txn_id::text AS txn_id, status,
		status_desc, outcome, disposition, txn_type, txn_type_known, product_code, amount, amount_text,
		txn_date_time, customer_identification, rrn, username, param_b, param_c, flags, conflict,
		contradicts_final, content_hash
		FROM partner_callbacks WHERE transaction_id = $1 ORDER BY id`, txID)
	if err != nil {
		return nil, fmt.Errorf("list partner callbacks: %w", err)
	}
	return out, nil
}
