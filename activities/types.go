// Package activities holds the side effects of the transaction workflow: writing its state to
// PostgreSQL and asking Eko for a transaction's status. Each is safe to retry.
package activities

import "github.com/aepsflow/aepsflow/txstate"

// Record is one entry in a transaction's history, optionally changing its state. Key makes the
// write idempotent: a retried activity writes nothing twice.
type Record struct {
	WorkflowID string            `json:"workflow_id"`
	Key        string            `json:"key"`
	Kind       string            `json:"kind"` // state_changed | late_outcome | resolve_ignored ...
	From       txstate.State     `json:"from,omitempty"`
	To         txstate.State     `json:"to,omitempty"` // empty: no state change
	Reason     string            `json:"reason,omitempty"`
	Final      bool              `json:"final,omitempty"`
	Flag       string            `json:"flag,omitempty"` // non-empty: flag the transaction for review
	Detail     map[string]string `json:"detail,omitempty"`
}

// InquiryRequest asks Eko about one transaction.
type InquiryRequest struct {
	WorkflowID  string `json:"workflow_id"`
	ClientRefID string `json:"client_ref_id"`
	UserCode    string `json:"user_code"`
}

// Inquiry classes, as the workflow branches on them.
const (
	ClassFinal           = "final"
	ClassPending         = "pending"
	ClassReversalPending = "reversal_pending"
	ClassNotFound        = "not_found"
	ClassSuspicious      = "suspicious"
)

// InquiryResult is Eko's answer, reduced to what the workflow decides on.
type InquiryResult struct {
	Class        string `json:"class"`
	TxStatus     string `json:"tx_status"`
	TxStatusDesc string `json:"tx_status_desc,omitempty"`
	TID          string `json:"tid,omitempty"`
	BankRefNum   string `json:"bank_ref_num,omitempty"`
	Amount       string `json:"amount,omitempty"`
}
