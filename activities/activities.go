package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/webhook"
)

// ErrTypeNonRetryable marks errors that retrying cannot fix (e.g. Eko refusing our signature).
const ErrTypeNonRetryable = "NonRetryable"

// Inquirer asks the provider for a transaction's status. A returned error is retried unless
// Permanent says otherwise.
type Inquirer interface {
	Inquire(ctx context.Context, clientRefID, userCode string) (InquiryResult, error)
	// Permanent reports whether err cannot be fixed by retrying.
	Permanent(err error) bool
}

// Activities are the workflow's side effects.
type Activities struct {
	Store    *db.Store
	Inquirer Inquirer
	// Webhook sends events to the platform; nil when WEBHOOK_URL is unset (events are off).
	Webhook *webhook.Client
	// Workflows looks at and restarts transaction workflows (reconciliation).
	Workflows Workflows
	// EventSlots bounds the deliveries in flight (each holds a database connection for its POST,
	// the event's row lock): a slow platform must not take the connections that record
	// transactions. nil: unbounded.
	EventSlots chan struct{}
}

// Record writes one history entry (and state change) for the workflow's transaction, once.
func (a *Activities) Record(ctx context.Context, r Record) error {
	detail := map[string]string{}
	for k, v := range r.Detail {
		detail[k] = v
	}
	// The event keeps its own "reason" when it has one (an operator's, for a resolution); the
	// state's reason travels separately.
	if _, ok := detail["reason"]; !ok && r.Reason != "" {
		detail["reason"] = r.Reason
	}
	return a.Store.ApplyChange(ctx, db.Change{
		WorkflowID: r.WorkflowID, Key: runKey(ctx, r.Key), Kind: r.Kind, From: r.From, To: r.To, Reason: r.Reason,
		Final: r.Final, Flag: r.Flag, Detail: detail,
	})
}

// runKey makes a workflow's record key unique across its runs. The workflow numbers its records
// from the same sequence in every run: after an operator resets it, the new run's records must
// not be taken for retries of the old run's and skipped. Done here, not in the workflow, so that
// it holds for workflows of every version (activity code is never replayed).
func runKey(ctx context.Context, key string) string {
	return activity.GetInfo(ctx).WorkflowExecution.RunID + "/" + key
}

// Inquire runs Eko's Transaction Inquiry and records its answer in the transaction's history.
func (a *Activities) Inquire(ctx context.Context, req InquiryRequest) (InquiryResult, error) {
	res, err := a.Inquirer.Inquire(ctx, req.ClientRefID, req.UserCode)
	if err != nil {
		// An error caused by our own context ending (activity timeout, worker shutdown) is
		// retried whatever the Inquirer makes of it.
		if ctx.Err() == nil && a.Inquirer.Permanent(err) {
			return InquiryResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNonRetryable, err)
		}
		return InquiryResult{}, fmt.Errorf("inquire %s: %w", req.ClientRefID, err)
	}
	// Local and regular activities are numbered apart: the kind keeps their keys apart too.
	key := "inquiry:" + activity.GetInfo(ctx).ActivityID
	if activity.GetInfo(ctx).IsLocalActivity {
		key = "inquiry:local:" + activity.GetInfo(ctx).ActivityID
	}
	err = a.Store.ApplyChange(ctx, db.Change{
		WorkflowID: req.WorkflowID, Key: runKey(ctx, key), Kind: "inquiry",
		Detail: map[string]string{"class": res.Class, "tx_status": res.TxStatus, "tx_status_desc": res.TxStatusDesc,
			"tid": res.TID, "bank_ref_num": res.BankRefNum, "amount": res.Amount},
		EkoTID: res.TID, BankRefNum: res.BankRefNum,
	})
	if err != nil {
		return InquiryResult{}, fmt.Errorf("record inquiry of %s: %w", req.ClientRefID, err)
	}
	return res, nil
}
