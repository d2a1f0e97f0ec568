package db

import (
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// Intents is the hand-off from a request to its transaction's workflow. Within the request's own
// PostgreSQL transaction, the store asks it for the outbox entry that tells the workflow what the
// request means: start, report an outcome, resolve. Package intents implements it; the store knows
// no workflow IDs, inputs or lifecycle policy.
type Intents interface {
	// WorkflowID names the workflow of the provider's transaction clientRefID (ours).
	WorkflowID(provider, clientRefID string) string
	// Start starts a new transaction's workflow.
	Start(t TxRef) (OutboxEntry, error)
	// Report delivers a provider's report to the transaction's workflow.
	Report(t TxRef, r Report) (OutboxEntry, error)
	// Resolve delivers an operator's resolution, identified by eventID.
	Resolve(t TxRef, eventID string, r Resolution) (OutboxEntry, error)
}

// Sources of reports: the table each report is stored in.
const (
	ReportEko     = "eko_response"
	ReportPartner = "partner_callback"
)

// Report is a provider's report of a transaction's outcome, as stored: row ID of Source's table.
type Report struct {
	Source   string // ReportEko | ReportPartner
	ID       int64
	TxStatus string // Eko: tx_status as text, "" when absent
	TxnID    string // the provider's own transaction id: Eko's tid, the partner's txnId
	// A partner's report: its outcome (success | failed | unknown), its status as received and
	// its txnAmount.
	Outcome string
	Status  string
	Amount  decimal.NullDecimal
}

// Resolution is an operator's decision on a transaction that needs review.
type Resolution struct {
	State  txstate.State // success | failed
	Reason string
	By     string
}
