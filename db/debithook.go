package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// DebitHook is everything the decision on one debit-hook needs.
type DebitHook struct {
	Inbound     Inbound
	Provider    string
	ProviderRef string // Eko's client_ref_id
	// NewClientRefID, when set, generates our own key for the transaction (CLIENT_REF_ID_SOURCE=own).
	NewClientRefID func() (string, error)
	TxType         string
	CashWithdrawal bool
	AgentUserCode  string
	CustomerMobile string
	BankCode       string
	Amount         decimal.NullDecimal
	AmountText     string
	DetailsHash    string
	BusinessDay    time.Time
	DefaultLimits  Limits
	// Timestamp is the secret_key_timestamp a first allow is signed with; it is stored, and
	// every repeat is signed with the stored one.
	Timestamp string
	// AllowRepeatAfterResult confirms a repeated debit-hook even once the workflow has reached
	// an outcome (never once an eko-response was received).
	AllowRepeatAfterResult bool
	// RequireLaunchWithin > 0 refuses a new transaction of an agent without an issued gateway
	// launch that recent (REQUIRE_GATEWAY_SESSION; see checkLaunch).
	RequireLaunchWithin time.Duration
}

// Limits are an agent's per-day cash-withdrawal limits.
type Limits struct {
	Count  int
	Amount decimal.Decimal
}

// Decision is the answer to a debit-hook.
type Decision struct {
	Allow         bool
	Code          string // allowed | allowed_repeat | unknown_agent | agent_suspended | no_gateway_session | daily_count_limit | daily_amount_limit | reference_conflict | already_processed | already_reported
	Message       string // shown to the agent when refused
	ClientRefID   string // our key for the transaction
	TransactionID int64
	// Booked is, when allowed, what the reply must sign: read back from the transaction's row,
	// never taken from the request.
	Booked Booked
}

// Booked is what a transaction was booked with: the values its request_hash covers and the
// secret_key_timestamp its first allow was signed with, exactly as stored.
type Booked struct {
	TxType         string `db:"tx_type"`
	CustomerMobile string `db:"customer_mobile"`
	AmountText     string `db:"amount_text"`
	AgentUserCode  string `db:"agent_user_code"`
	Timestamp      string `db:"secret_key_timestamp"`
}

// bookedColumns selects Booked from a transactions row t.
const bookedColumns = `coalesce(t.tx_type, '') AS tx_type, coalesce(t.customer_mobile, '') AS customer_mobile,
	coalesce(t.amount_text, '') AS amount_text, coalesce(t.agent_user_code, '') AS agent_user_code,
	coalesce(t.secret_key_timestamp, '') AS secret_key_timestamp`

// DecideDebitHook records the request, decides on it and, when allowed, records the pending
// transaction and the intent to start its workflow, all in one PostgreSQL transaction. The
// per-agent row lock makes the daily limits exact under concurrent debit-hooks.
func (s *Store) DecideDebitHook(ctx context.Context, to Intents, h DebitHook) (Decision, error) {
	d, err := txValue(ctx, s, func(tx *sqlx.Tx) (Decision, error) { return decide(ctx, tx, to, h) })
	if err != nil {
		return Decision{}, fmt.Errorf("decide debit-hook %s: %w", h.ProviderRef, err)
	}
	return d, nil
}

func decide(ctx context.Context, tx *sqlx.Tx, to Intents, h DebitHook) (Decision, error) {
	known, err := lookUpReference(ctx, tx, h)
	if err != nil {
		return Decision{}, err
	}
	if known.ID.Valid {
		return repeatOf(ctx, tx, h, known)
	}
	// An eko-response for this reference that came before any debit-hook is not looked at: it
	// was forged or misrouted (Eko waits for our reply before it proceeds), and anyone who can
	// guess a reference could send one. Refusing on it would let them block the genuine
	// transaction; the debit-hook is decided on its own merits.

	// The launch first: without one (REQUIRE_GATEWAY_SESSION), the sender may be anyone, and
	// must learn nothing of the agent it names: whether it is registered, suspended or at its
	// daily limit. An unregistered or suspended agent never has an issued launch.
	d, err := checkLaunch(ctx, tx, h)
	if err == nil && d.Allow {
		d, err = checkAgent(ctx, tx, h)
	}
	if err == nil && limitRefusal(d.Code) {
		// The same debit-hook, sent twice at once, may have been allowed by the other request
		// while this one waited for the agent lock: its withdrawal is then counted as used, and
		// this repeat must get the repeat answer, not a limit refusal. Asked only here, on the
		// rare refusal path, so the common path pays no extra round trip.
		if known, err = lookUpReference(ctx, tx, h); err != nil {
			return Decision{}, err
		}
		if known.ID.Valid {
			return repeatOf(ctx, tx, h, known)
		}
	}
	if err != nil || !d.Allow {
		return d, errors.Join(err, finishInbound(ctx, tx, h.Inbound, d))
	}

	clientRefID := h.ProviderRef
	if h.NewClientRefID != nil {
		if clientRefID, err = h.NewClientRefID(); err != nil {
			return Decision{}, fmt.Errorf("generate client_ref_id: %w", err)
		}
	}
	var row struct {
		ID        int64     `db:"id"`
		CreatedAt time.Time `db:"created_at"`
		Booked
	}
	// What the reply signs is read back from the row just written: what was booked.
	err = tx.GetContext(ctx, &row, `
		INSERT INTO transactions AS t (provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code,
			customer_mobile, bank_code, amount, amount_text, details_hash, business_day, state, secret_key_timestamp)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id, created_at, `+bookedColumns,
		h.Provider, clientRefID, h.ProviderRef, to.WorkflowID(h.Provider, clientRefID), h.TxType, h.AgentUserCode, h.CustomerMobile,
		h.BankCode, h.Amount, nullIfEmpty(h.AmountText), h.DetailsHash, h.BusinessDay, txstate.Pending, nullIfEmpty(h.Timestamp))
	if err != nil {
		return Decision{}, fmt.Errorf("insert transaction: %w", err)
	}
	// The workflow input carries the creation time, which only the insert knows.
	entry, err := to.Start(TxRef{ID: row.ID, Provider: h.Provider, ClientRefID: clientRefID, ProviderRef: h.ProviderRef,
		WorkflowID: to.WorkflowID(h.Provider, clientRefID), State: txstate.Pending, TxType: row.TxType,
		AgentUserCode: nullIfEmpty(row.AgentUserCode), AmountText: nullIfEmpty(row.AmountText), CreatedAt: row.CreatedAt,
		CustomerMobile: nullIfEmpty(row.CustomerMobile)})
	if err != nil {
		return Decision{}, err
	}
	d = Decision{Allow: true, Code: "allowed", ClientRefID: clientRefID, TransactionID: row.ID, Booked: row.Booked}
	return d, insertAllowed(ctx, tx, entry, Event{TransactionID: row.ID, Kind: "created", To: txstate.Pending,
		Detail: map[string]string{"reason": "debit-hook allowed"}, DedupeKey: "created"}, inboundOf(h.Inbound, d))
}

// insertAllowed writes what an allowed debit-hook adds besides its transaction (the outbox
// entry, the "created" event and the request's record) in one statement: one round trip instead
// of three, on the path every allowed debit-hook takes. Each data-modifying WITH runs exactly
// once, read or not.
func insertAllowed(ctx context.Context, tx *sqlx.Tx, entry OutboxEntry, ev Event, in Inbound) error {
	if entry.StartsWorkflow {
		// Its supersede is a WITH of its own, which PostgreSQL allows only at the top level.
		return fmt.Errorf("queue %s for %s with the debit-hook's writes: only a start can be", entry.Kind, entry.WorkflowID)
	}
	oa, err := outboxArgs(entry)
	if err != nil {
		return err
	}
	ea, err := eventArgs(ev)
	if err != nil {
		return err
	}
	ia, err := inboundArgs(in)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		WITH o AS (`+outboxInsert(entry, 1)+`),
		e AS (INSERT INTO tx_events `+eventColumns+` VALUES `+placeholders(1+len(oa), len(ea))+eventConflict+`)
		INSERT INTO inbound_requests `+inboundColumns+` VALUES `+placeholders(1+len(oa)+len(ea), len(ia)),
		append(append(oa, ea...), ia...)...)
	if err != nil {
		return fmt.Errorf("queue start, append created event, store inbound request: %w", err)
	}
	return nil
}

// knownReference is what lookUpReference finds about a debit-hook's reference.
type knownReference struct {
	ID          sql.NullInt64  `db:"id"`
	ClientRefID sql.NullString `db:"client_ref_id"`
	DetailsHash sql.NullString `db:"details_hash"`
	State       sql.NullString `db:"state"`
	// Reported: an eko-response for the transaction exists, linked to it or received under
	// either of its references since it was created. One received before the first debit-hook
	// (forged: Eko reports only after our allow) does not count: it must not block the genuine
	// debit-hook's repeat.
	Reported bool `db:"reported"`
	Booked
}

// lookUpReference answers "is this reference known, and was it reported already?" in one
// statement: every round trip here is paid by every debit-hook. (The agent lock and today's usage
// in checkAgent cannot be folded the same way: one statement reads with the snapshot taken before
// it waited for the lock, so it would miss the withdrawal that the lock holder just committed.)
func lookUpReference(ctx context.Context, tx *sqlx.Tx, h DebitHook) (knownReference, error) {
	var known knownReference
	err := tx.GetContext(ctx, &known, `
		SELECT t.id, t.client_ref_id, t.details_hash, t.state, `+bookedColumns+`,
			t.id IS NOT NULL AND EXISTS (SELECT 1 FROM eko_responses e
				WHERE e.transaction_id = t.id OR (e.client_ref_id IN (t.client_ref_id, t.provider_ref)
					AND e.received_at >= t.created_at)) AS reported
		FROM (SELECT 1) AS one
		LEFT JOIN transactions t ON t.provider = $1 AND t.provider_ref = $2`, h.Provider, h.ProviderRef)
	if err != nil {
		return knownReference{}, fmt.Errorf("look up reference: %w", err)
	}
	return known, nil
}

// repeatOf decides, and records, a debit-hook whose reference is already a transaction. An
// allowed repeat is signed as the first allow was: same booked values, same timestamp.
func repeatOf(ctx context.Context, tx *sqlx.Tx, h DebitHook, known knownReference) (Decision, error) {
	d := repeatDecision(h, known)
	d.TransactionID = known.ID.Int64
	if !d.Allow && h.RequireLaunchWithin > 0 {
		// Without a launch for the agent it names, the sender may be anyone: it gets the reply a
		// new reference would get, so that it cannot tell which references exist. (An allowed
		// repeat needs no launch: it only repeats the first confirmation.)
		gate, err := checkLaunch(ctx, tx, h)
		if err != nil {
			return Decision{}, err
		}
		if !gate.Allow {
			gate.Message += " (the reference is known: " + d.Code + ")" // for the stored request only
			d = gate
		}
	}
	if d.Allow {
		d.Booked = known.Booked
		if d.Booked.Timestamp == "" {
			// Allowed before the timestamp was stored: this repeat's timestamp becomes the one.
			// coalesce keeps whichever concurrent repeat got there first.
			err := tx.GetContext(ctx, &d.Booked.Timestamp, `
				UPDATE transactions SET secret_key_timestamp = coalesce(secret_key_timestamp, $2)
				WHERE id = $1 RETURNING secret_key_timestamp`, known.ID.Int64, h.Timestamp)
			if err != nil {
				return Decision{}, fmt.Errorf("store the timestamp of an earlier allow: %w", err)
			}
		}
	}
	return d, finishInbound(ctx, tx, h.Inbound, d)
}

func limitRefusal(code string) bool {
	return code == "daily_count_limit" || code == "daily_amount_limit"
}

// repeatDecision decides on a repeat. Its refusals tell the agent what to do and nothing of the
// transaction's state: the code, stored with the request, says why.
func repeatDecision(h DebitHook, known knownReference) Decision {
	processed := fmt.Sprintf("Transaction %s has already been processed. Please start a new transaction.", h.ProviderRef)
	switch {
	case known.DetailsHash.String != h.DetailsHash:
		return Decision{Code: "reference_conflict",
			Message: fmt.Sprintf("Reference %s was already used for a different transaction. Please start a new transaction.", h.ProviderRef)}
	case known.Reported:
		// Eko has reported on the transaction (or someone has, in its name): a confirmation
		// now could only serve a replay, whatever state the workflow has reached.
		return Decision{Code: "already_reported", Message: processed}
	case txstate.State(known.State.String) != txstate.Pending && !h.AllowRepeatAfterResult:
		return Decision{Code: "already_processed", Message: processed}
	}
	return Decision{Allow: true, Code: "allowed_repeat", ClientRefID: known.ClientRefID.String}
}

func checkAgent(ctx context.Context, tx *sqlx.Tx, h DebitHook) (Decision, error) {
	var agent struct {
		Status      string              `db:"status"`
		CountLimit  sql.NullInt64       `db:"daily_cash_count_limit"`
		AmountLimit decimal.NullDecimal `db:"daily_cash_amount_limit"`
	}
	// FOR UPDATE serialises debit-hooks of one agent, so the limit check below and the insert
	// that follows it cannot interleave with another request's.
	err := tx.GetContext(ctx, &agent, `
		SELECT status, daily_cash_count_limit, daily_cash_amount_limit FROM agents
		WHERE user_code = $1 FOR UPDATE`, h.AgentUserCode)
	if errors.Is(err, sql.ErrNoRows) {
		return Decision{Code: "unknown_agent",
			Message: fmt.Sprintf("Agent %s is not registered for AePS. Please contact support.", h.AgentUserCode)}, nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("look up agent: %w", err)
	}
	if agent.Status != "active" {
		return Decision{Code: "agent_suspended",
			Message: fmt.Sprintf("Agent %s is suspended. Please contact support.", h.AgentUserCode)}, nil
	}
	if !h.CashWithdrawal {
		return Decision{Allow: true}, nil
	}
	limits := h.DefaultLimits
	if agent.CountLimit.Valid {
		limits.Count = int(agent.CountLimit.Int64)
	}
	if agent.AmountLimit.Valid {
		limits.Amount = agent.AmountLimit.Decimal
	}
	var used struct {
		Count  int             `db:"n"`
		Amount decimal.Decimal `db:"total"`
	}
	// Failed, expired and reversed withdrawals moved no money, so they do not count.
	err = tx.GetContext(ctx, &used, `
		SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM transactions
		WHERE agent_user_code = $1 AND business_day = $2 AND tx_type = $3 AND provider = $4
		  AND state NOT IN ('failed', 'expired', 'reversed')`,
		h.AgentUserCode, h.BusinessDay, h.TxType, h.Provider)
	if err != nil {
		return Decision{}, fmt.Errorf("sum today's withdrawals: %w", err)
	}
	if used.Count+1 > limits.Count {
		return Decision{Code: "daily_count_limit",
			Message: fmt.Sprintf("Daily limit of %d cash withdrawals reached. Please try again tomorrow.", limits.Count)}, nil
	}
	if used.Amount.Add(h.Amount.Decimal).GreaterThan(limits.Amount) {
		left := limits.Amount.Sub(used.Amount)
		if left.IsNegative() {
			left = decimal.Zero
		}
		return Decision{Code: "daily_amount_limit",
			Message: fmt.Sprintf("This withdrawal exceeds the daily limit of Rs %s; Rs %s is left today.", limits.Amount.StringFixed(2), left.StringFixed(2))}, nil
	}
	return Decision{Allow: true}, nil
}

func finishInbound(ctx context.Context, tx *sqlx.Tx, in Inbound, d Decision) error {
	if d.Code == "" {
		return nil // an error path: the caller records the request
	}
	_, err := insertInbound(ctx, tx, inboundOf(in, d))
	return err
}

// inboundOf is the request's record with the decision's outcome.
func inboundOf(in Inbound, d Decision) Inbound {
	in.Outcome = "refused"
	if d.Allow {
		in.Outcome = d.Code
		in.TransactionID = sql.NullInt64{Int64: d.TransactionID, Valid: d.TransactionID != 0}
	}
	in.OutcomeDetail = d.Code
	if d.Message != "" {
		in.OutcomeDetail += ": " + d.Message
	}
	return in
}

func nullIfEmpty(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
