// Package workflows holds the Temporal workflow that drives one AePS transaction to a final,
// verified state. It does no I/O itself: activities read and write PostgreSQL and call Eko.
package workflows

import (
	"time"

	"github.com/aepsflow/aepsflow/txstate"
)

// Names shared by the starter (outbox relay), the worker and the API.
const (
	TransactionWorkflowName = "Transaction"
	SignalOutcome           = "outcome"
	SignalResolve           = "resolve"
	QueryState              = "state"
)

// WorkflowID derives the workflow ID from the provider and our client_ref_id: one workflow per
// transaction, and the same ID whichever replica or retry computes it.
func WorkflowID(provider, clientRefID string) string {
	return "aeps/" + provider + "/" + clientRefID
}

// Policy carries the timings a workflow runs with. It travels in the input so that a
// configuration change affects new transactions only and never breaks replay.
type Policy struct {
	ResponseTimeout       time.Duration `json:"response_timeout"`
	InquiryInitialBackoff time.Duration `json:"inquiry_initial_backoff"`
	InquiryMaxBackoff     time.Duration `json:"inquiry_max_backoff"`
	InquiryDeadline       time.Duration `json:"inquiry_deadline"`
	NotFoundGrace         time.Duration `json:"not_found_grace"`
	VerifySuccess         bool          `json:"verify_success"`
	// VerifyFailure confirms a reported failure (1) or refund (4) of a cash withdrawal by inquiry.
	// Absent from inputs written before it existed, so those keep their behaviour on replay.
	VerifyFailure      bool          `json:"verify_failure"`
	UnknownReviewAfter time.Duration `json:"unknown_review_after"`
	// Events sends the transaction's events to the platform (WEBHOOK_URL set when it started),
	// retried with backoff until EventDeadline. Absent from older inputs: no events.
	Events              bool          `json:"events,omitempty"`
	EventDeadline       time.Duration `json:"event_deadline,omitempty"`
	EventInitialBackoff time.Duration `json:"event_initial_backoff,omitempty"`
	EventMaxBackoff     time.Duration `json:"event_max_backoff,omitempty"`
	// EventAttemptTimeout bounds one delivery attempt (WEBHOOK_TIMEOUT and a margin): a worker
	// that dies mid-delivery is retried after it.
	EventAttemptTimeout time.Duration `json:"event_attempt_timeout,omitempty"`
}

// Defaults for timings missing from a Policy (the configuration's defaults). The input is
// durable, so a zero timing in it must not mean "no timer" (wait forever) or a retry policy
// that the server refuses.
const (
	DefaultResponseTimeout       = 5 * time.Minute
	DefaultInquiryInitialBackoff = 30 * time.Second
	DefaultInquiryMaxBackoff     = 30 * time.Minute
	DefaultInquiryDeadline       = 5 * 24 * time.Hour
	DefaultNotFoundGrace         = 30 * time.Minute
	DefaultUnknownReviewAfter    = 24 * time.Hour
	DefaultEventDeadline         = 72 * time.Hour
	DefaultEventInitialBackoff   = 10 * time.Second
	DefaultEventMaxBackoff       = 10 * time.Minute
	DefaultEventAttemptTimeout   = 30 * time.Second
)

// withDefaults fills timings that are zero or negative and keeps the maximum backoff at or
// above the initial one.
func (p Policy) withDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.ResponseTimeout, DefaultResponseTimeout)
	def(&p.InquiryInitialBackoff, DefaultInquiryInitialBackoff)
	def(&p.InquiryMaxBackoff, DefaultInquiryMaxBackoff)
	def(&p.InquiryDeadline, DefaultInquiryDeadline)
	def(&p.NotFoundGrace, DefaultNotFoundGrace)
	def(&p.UnknownReviewAfter, DefaultUnknownReviewAfter)
	def(&p.EventDeadline, DefaultEventDeadline)
	def(&p.EventInitialBackoff, DefaultEventInitialBackoff)
	def(&p.EventMaxBackoff, DefaultEventMaxBackoff)
	def(&p.EventAttemptTimeout, DefaultEventAttemptTimeout)
	p.EventMaxBackoff = max(p.EventMaxBackoff, p.EventInitialBackoff)
	p.InquiryMaxBackoff = max(p.InquiryMaxBackoff, p.InquiryInitialBackoff)
	return p
}

// Input starts a transaction workflow.
type Input struct {
	Provider      string    `json:"provider"`
	ClientRefID   string    `json:"client_ref_id"`
	ProviderRef   string    `json:"provider_ref"`
	TxType        string    `json:"tx_type"`
	AgentUserCode string    `json:"agent_user_code"`
	Amount        string    `json:"amount"`
	CreatedAt     time.Time `json:"created_at"`
	Policy        Policy    `json:"policy"`
	// Customer is the customer's mobile number masked (XXXXXX9999), for the operator's view in
	// the Temporal Web UI; never the full number.
	Customer string `json:"customer,omitempty"`
	// APIURL is the API's base URL as operators reach it (config PUBLIC_API_URL), for the links
	// and resolve commands of the operator's view; "" shows paths only.
	APIURL string `json:"api_url,omitempty"`
}

// StartDelay is how long the relay may hold back a transaction workflow's first task: until the
// response timeout (counted from the transaction's creation) is over, as the workflow measures it
// from operator-view 2 on. An eko-response (a SignalWithStart) runs the task at once; a workflow
// with nothing to do is not woken before. Zero once the timeout is past.
func (in Input) StartDelay(now time.Time) time.Duration {
	if in.CreatedAt.IsZero() {
		return 0
	}
	return max(0, in.CreatedAt.Add(in.Policy.withDefaults().ResponseTimeout).Sub(now))
}

// Outcome is a provider's report of a transaction's result, delivered as a signal. Only ids and
// the status travel; the full callback stays in PostgreSQL (claim check).
type Outcome struct {
	// EventID is unique per report (e.g. "eko_response:42"); Temporal does not deduplicate
	// signals, so the workflow does.
	EventID string `json:"event_id"`
	Source  string `json:"source"` // SourceEko | SourcePartner
	// TxStatus is Eko's tx_status as text ("" when absent). For partners: Outcome below.
	TxStatus string `json:"tx_status,omitempty"`
	// PartnerOutcome is success | failed | unknown for partner callbacks.
	PartnerOutcome string `json:"partner_outcome,omitempty"`
	PartnerStatus  string `json:"partner_status,omitempty"`
	// Amount is the partner's txnAmount as sent ("0" for none); the workflow compares it, as a
	// decimal, with the transaction's (its first report's). Empty in signals from before the
	// comparison, which compare nothing.
	Amount string `json:"amount,omitempty"`
	// ProviderTxnID is the provider's own transaction ID (Eko's tid, a partner's txnId), when the
	// report gives one: operators look transactions up by it (search attribute TxProviderTxnID).
	ProviderTxnID string `json:"provider_txn_id,omitempty"`
}

// Outcome sources.
const (
	SourceEko     = "eko_response"
	SourcePartner = "partner_callback"
)

// Resolution is an operator's decision on a transaction that needs review.
type Resolution struct {
	EventID string        `json:"event_id"`
	State   txstate.State `json:"state"` // success | failed
	Reason  string        `json:"reason"`
	By      string        `json:"by"`
}

// Snapshot is what the state query returns.
type Snapshot struct {
	State           txstate.State `json:"state"`
	Reason          string        `json:"reason"`
	ClaimedTxStatus string        `json:"claimed_tx_status,omitempty"`
	InquiryTxStatus string        `json:"inquiry_tx_status,omitempty"`
	// Eko's transaction id and bank reference number, from the latest inquiry that gave them.
	EkoTID     string `json:"eko_tid,omitempty"`
	BankRefNum string `json:"bank_ref_num,omitempty"`
	Inquiries  int    `json:"inquiries"`
	Outcomes   int    `json:"outcomes"`
}
