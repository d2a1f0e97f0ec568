// Package intents is the one hand-off from a request to its transaction's workflow. The store calls
// it inside the request's own PostgreSQL transaction to turn what the request means for the
// workflow (start it, report an outcome to it, resolve it) into an outbox entry, which the relay
// then delivers to Temporal. It alone knows workflow IDs, workflow inputs and the lifecycle policy;
// the API and the store know none of them.
package intents

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// Intents implements db.Intents with the configured lifecycle policy, and reads a workflow's own
// view of its transaction for operators.
type Intents struct {
	cfg      config.Config
	temporal client.Client // for WorkflowState only; may be nil
}

var _ db.Intents = (*Intents)(nil)

// New builds the hand-off. tc may be nil: WorkflowState then says Temporal is not configured.
func New(cfg config.Config, tc client.Client) *Intents { return &Intents{cfg: cfg, temporal: tc} }

// WorkflowID is the ID of the transaction's workflow: one per transaction, the same whichever
// replica or retry computes it.
func (i *Intents) WorkflowID(provider, clientRefID string) string {
	return workflows.WorkflowID(provider, clientRefID)
}

// Start builds the entry that starts a new transaction's workflow.
func (i *Intents) Start(t db.TxRef) (db.OutboxEntry, error) {
	e, err := outbox.StartEntry(t.WorkflowID, i.input(t))
	// Held back (OUTBOX_START_DEFER): an eko-response meanwhile supersedes it. A deferred start
	// wakes no relay, and the sweep delivers it up to one sweep interval after it is due; both
	// together stay within half the response timeout, so that the workflow is there well before
	// it must notice a missing report.
	e.Defer = max(min(i.cfg.OutboxStartDefer, i.cfg.Lifecycle.EkoResponseTimeout/2-i.cfg.RelaySweepInterval), 0)
	return e, err
}

// Report builds the entry that delivers a provider's report to the transaction's workflow,
// starting it if need be. Request text that the workflow quotes in reasons (tx_status, a partner's
// status) is masked here, since the outbox payload, and the workflow's input, are stored as built.
func (i *Intents) Report(t db.TxRef, r db.Report) (db.OutboxEntry, error) {
	var o workflows.Outcome
	switch r.Source {
	case db.ReportEko:
		o = workflows.Outcome{Source: workflows.SourceEko, TxStatus: redact.Text(r.TxStatus)}
	case db.ReportPartner:
		o = workflows.Outcome{Source: workflows.SourcePartner, PartnerOutcome: r.Outcome,
			PartnerStatus: redact.Text(strings.TrimSpace(r.Status)),
			Amount:        partnerAmount(r.Amount)} // the workflow holds it to the first report's
	default:
		return db.OutboxEntry{}, fmt.Errorf("report from unknown source %q", r.Source)
	}
	o.EventID = o.Source + ":" + strconv.FormatInt(r.ID, 10)
	// A reference (Eko's tid, the partner's txnId): operators search by it, so only a written
	// number in it is masked, never a bare 12-digit one (TextKeepingBare), as in its column.
	o.ProviderTxnID = redact.TextKeepingBare(r.TxnID)
	e, err := outbox.SignalEntry(t.WorkflowID, workflows.SignalOutcome, o.EventID, i.input(t), o)
	e.StartsWorkflow = true // the relay delivers reports with SignalWithStart
	return e, err
}

// partnerAmount is a partner's txnAmount as the workflow compares it: "0" for none.
func partnerAmount(a decimal.NullDecimal) string {
	if !a.Valid {
		return "0"
	}
	return a.Decimal.String()
}

// Resolve builds the entry that delivers an operator's resolution, under eventID.
func (i *Intents) Resolve(t db.TxRef, eventID string, r db.Resolution) (db.OutboxEntry, error) {
	res := workflows.Resolution{EventID: eventID, State: r.State, Reason: r.Reason, By: r.By}
	return outbox.SignalEntry(t.WorkflowID, workflows.SignalResolve, eventID, i.input(t), res)
}

// WorkflowState asks the workflow for its own view of the transaction, briefly: the read API
// must answer even while Temporal is away, so a failure is part of the answer, not an error.
func (i *Intents) WorkflowState(ctx context.Context, workflowID string) any {
	if i.temporal == nil {
		return map[string]string{"error": "temporal not configured"}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	val, err := i.temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &notReady) {
		// Started with the relay's start delay, the workflow runs its first task only when a
		// report comes or the response timeout is over: until then it is pending by definition.
		return map[string]any{"workflow_id": workflowID, "state": workflows.Snapshot{State: txstate.Pending,
			Reason: "waiting for the report: the workflow's first task runs when it comes or the response timeout is over"}}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// A new transaction's start is held back for its report (OUTBOX_START_DEFER), or waits
		// in the outbox while Temporal is away: PostgreSQL's state above is the answer.
		return map[string]any{"workflow_id": workflowID, "started": false,
			"note": "not in Temporal yet: its start is held back for the report (OUTBOX_START_DEFER) or waits in the outbox"}
	}
	if err != nil {
		return map[string]string{"workflow_id": workflowID, "error": err.Error()}
	}
	var snap workflows.Snapshot
	if err := val.Get(&snap); err != nil {
		return map[string]string{"workflow_id": workflowID, "error": err.Error()}
	}
	return map[string]any{"workflow_id": workflowID, "state": snap}
}

// input rebuilds a workflow's input from its stored transaction: a signal may have to start the
// workflow (SignalWithStart), so every entry carries it.
func (i *Intents) input(t db.TxRef) workflows.Input {
	return Input(i.cfg, t.Provider, t.ClientRefID, t.ProviderRef, t.TxType, t.AgentUserCode.String, t.AmountText.String,
		t.CustomerMobile.String, t.CreatedAt)
}

// Input builds a transaction workflow's input with the configured lifecycle policy (the API's
// starts and reconciliation's restarts alike). The policy travels in the input, so a
// configuration change affects new transactions only. customer is the customer's mobile number,
// masked here.
func Input(cfg config.Config, provider, clientRefID, providerRef, txType, agent, amount, customer string, createdAt time.Time) workflows.Input {
	l := cfg.Lifecycle
	if customer != "" {
		customer = redact.Mobile(customer)
	}
	return workflows.Input{
		Provider: provider, ClientRefID: clientRefID, ProviderRef: providerRef, TxType: txType,
		AgentUserCode: agent, Amount: amount, CreatedAt: createdAt.UTC(), Customer: customer, APIURL: cfg.PublicAPIURL,
		Policy: workflows.Policy{
			ResponseTimeout: l.EkoResponseTimeout, InquiryInitialBackoff: l.InquiryInitialBackoff,
			InquiryMaxBackoff: l.InquiryMaxBackoff, InquiryDeadline: l.InquiryDeadline,
			NotFoundGrace: l.NotFoundGrace, VerifySuccess: l.VerifySuccess, VerifyFailure: l.VerifyFailure,
			UnknownReviewAfter: l.PartnerUnknownReview,
			Events:             l.Events, EventDeadline: l.EventDeadline,
			EventInitialBackoff: l.EventInitialBackoff, EventMaxBackoff: l.EventMaxBackoff,
			EventAttemptTimeout: cfg.WebhookTimeout + 5*time.Second,
		},
	}
}
