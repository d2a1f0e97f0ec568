package activities

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/webhook"
)

// Workflow statuses as reconciliation sees them.
const (
	WorkflowRunning = "running"
	WorkflowStuck   = "stuck"   // running, but its workflow task keeps failing
	WorkflowMissing = "missing" // Temporal does not know it
	WorkflowClosed  = "closed"  // closed while its transaction is open
)

// Workflows looks at transaction workflows in Temporal and starts one again (app implements it
// with the Temporal client).
type Workflows interface {
	// Status is one of the Workflow* constants, with a detail for people.
	Status(ctx context.Context, workflowID string) (status, detail string, err error)
	// Restart starts the transaction's workflow anew; it fails for a workflow that completed.
	Restart(ctx context.Context, t db.FinanceRow) error
}

// ReconcileRequest is one reconciliation run's parameters.
type ReconcileRequest struct {
	Date      string        `json:"date"` // YYYY-MM-DD
	OpenAfter time.Duration `json:"open_after"`
	Sample    string        `json:"sample"` // as config.ParseSample reads it
	Percent   float64       `json:"percent"`
	Count     int           `json:"count"`
	RunID     string        `json:"run_id"`
}

// OpenResult is what the check of open transactions found.
type OpenResult struct {
	Checked   int      `json:"checked"`   // open past EKO_RESPONSE_TIMEOUT
	Missing   int      `json:"missing"`   // no workflow, or a closed one
	Stuck     int      `json:"stuck"`     // workflow task failing
	Restarted int      `json:"restarted"` // a new workflow started
	Refs      []string `json:"refs"`      // the transactions that were missing or stuck
}

// Mismatch is a successful withdrawal that Eko's Inquiry API does not confirm.
type Mismatch struct {
	Reference     string `json:"reference"`
	Amount        string `json:"amount"`
	EkoTxStatus   string `json:"eko_tx_status"`
	EkoAmount     string `json:"eko_amount"`
	EkoClass      string `json:"eko_class"`
	Reason        string `json:"reason"`
	InquiryFailed bool   `json:"inquiry_failed,omitempty"`
}

// SuccessResult is what the re-check of the day's successes found.
type SuccessResult struct {
	Total      int        `json:"total"`
	Sampled    int        `json:"sampled"`
	Mismatches []Mismatch `json:"mismatches"`
}

// maxOpenPerRun bounds one run's work on open transactions (the next run takes the rest).
const maxOpenPerRun = 10000

// ReconcileOpen finds transactions open past EKO_RESPONSE_TIMEOUT whose workflow is missing,
// closed or stuck: each gets a fresh inquiry (Eko's, recorded in its history) and a running
// workflow again; one that cannot be restarted (or is stuck) is flagged for review.
func (a *Activities) ReconcileOpen(ctx context.Context, req ReconcileRequest) (OpenResult, error) {
	var res OpenResult
	rows, err := a.Store.OpenTransactions(ctx, time.Now().Add(-req.OpenAfter), maxOpenPerRun)
	if err != nil {
		return res, err
	}
	for _, t := range rows {
		activity.RecordHeartbeat(ctx, t.ID)
		res.Checked++
		status, detail, err := a.Workflows.Status(ctx, t.WorkflowID)
		if err != nil {
			return res, fmt.Errorf("status of %s: %w", t.WorkflowID, err)
		}
		if status == WorkflowRunning {
			continue
		}
		res.Refs = append(res.Refs, t.ClientRefID)
		change := db.Change{WorkflowID: t.WorkflowID, Key: "reconcile:" + req.RunID + ":open", Kind: "reconcile_open",
			Detail: map[string]string{"workflow": status, "workflow_detail": detail}}
		if t.Provider == "eko" {
			inq, err := a.Inquirer.Inquire(ctx, t.ClientRefID, t.AgentUserCode.String)
			if err != nil {
				change.Detail["inquiry_error"] = err.Error()
			} else {
				change.Detail["class"], change.Detail["tx_status"], change.Detail["amount"] = inq.Class, inq.TxStatus, inq.Amount
				change.Detail["tid"], change.Detail["bank_ref_num"] = inq.TID, inq.BankRefNum
			}
		}
		switch status {
		case WorkflowStuck:
			res.Stuck++
			change.Flag = "reconciliation: workflow stuck (" + detail + "); an operator must look"
		default:
			res.Missing++
			if err := a.Workflows.Restart(ctx, t); err != nil {
				change.Flag = fmt.Sprintf("reconciliation: open transaction without a running workflow (%s), and it could not be started again: %v", status, err)
			} else {
				res.Restarted++
				change.Detail["restarted"] = "true"
			}
		}
		if err := a.Store.ApplyChange(ctx, change); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ReconcileSuccesses asks Eko's Inquiry API again about a sample of the day's successful cash
// withdrawals and compares state and amount. A mismatch flags the transaction for review; its
// state is never changed.
func (a *Activities) ReconcileSuccesses(ctx context.Context, req ReconcileRequest) (SuccessResult, error) {
	res := SuccessResult{Mismatches: []Mismatch{}}
	total, rows, err := a.Store.SuccessfulWithdrawals(ctx, req.Date, req.Count, req.Percent)
	if err != nil {
		return res, err
	}
	res.Total, res.Sampled = total, len(rows)
	for _, t := range rows {
		activity.RecordHeartbeat(ctx, t.ID)
		m := Mismatch{Reference: t.ClientRefID, Amount: t.Amount.Decimal.StringFixed(2)}
		inq, err := a.Inquirer.Inquire(ctx, t.ClientRefID, t.AgentUserCode.String)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			m.InquiryFailed, m.Reason = true, "Transaction Inquiry failed: "+err.Error()
		default:
			m.EkoTxStatus, m.EkoAmount, m.EkoClass = inq.TxStatus, inq.Amount, inq.Class
			if inq.Class != ClassFinal || inq.TxStatus != "0" {
				m.Reason = fmt.Sprintf("Eko reports tx_status %q (%s), we have success", inq.TxStatus, inq.Class)
			} else if inq.Amount != "" {
				// Eko's amount is compared when it sends one: exact decimals, "100" equals "100.00".
				d, err := decimal.NewFromString(inq.Amount)
				if err != nil || !t.Amount.Valid || !d.Equal(t.Amount.Decimal) {
					m.Reason = fmt.Sprintf("Eko reports amount %q, we have %s", inq.Amount, m.Amount)
				}
			}
		}
		if m.Reason == "" {
			continue
		}
		res.Mismatches = append(res.Mismatches, m)
		if err := a.Store.ApplyChange(ctx, db.Change{WorkflowID: t.WorkflowID, Key: "reconcile:" + req.RunID + ":success",
			Kind: "reconciliation_mismatch", Flag: "reconciliation " + req.Date + ": " + m.Reason,
			Detail: map[string]string{"eko_tx_status": m.EkoTxStatus, "eko_amount": m.EkoAmount, "reason": m.Reason}}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ReconciliationRecord is what a run writes.
type ReconciliationRecord struct {
	Date       string        `json:"date"`
	WorkflowID string        `json:"workflow_id"`
	RunID      string        `json:"run_id"`
	StartedAt  time.Time     `json:"started_at"`
	Open       OpenResult    `json:"open"`
	Successes  SuccessResult `json:"successes"`
}

// SaveReconciliation writes the run's record (once).
func (a *Activities) SaveReconciliation(ctx context.Context, r ReconciliationRecord) (int64, error) {
	detail, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return a.Store.SaveReconciliation(ctx, db.Reconciliation{BusinessDay: r.Date, WorkflowID: r.WorkflowID, RunID: r.RunID,
		StartedAt: r.StartedAt, OpenChecked: r.Open.Checked, Restarted: r.Open.Restarted, SuccessTotal: r.Successes.Total,
		Sampled: r.Successes.Sampled, Mismatches: len(r.Successes.Mismatches), Detail: detail})
}

// reconciliationEvent is the body of reconciliation.completed: counts and the references of the
// mismatches, nothing personal.
type reconciliationEvent struct {
	EventID          string   `json:"event_id"`
	Type             string   `json:"type"`
	Date             string   `json:"date"`
	ReconciliationID int64    `json:"reconciliation_id"`
	OpenChecked      int      `json:"open_checked"`
	Missing          int      `json:"missing"`
	Stuck            int      `json:"stuck"`
	Restarted        int      `json:"restarted"`
	SuccessTotal     int      `json:"success_total"`
	Sampled          int      `json:"sampled"`
	Mismatches       int      `json:"mismatches"`
	MismatchRefs     []string `json:"mismatch_references"`
	OccurredAt       string   `json:"occurred_at"`
}

// SendReconciliationEvent sends reconciliation.completed to the platform (once per run).
func (a *Activities) SendReconciliationEvent(ctx context.Context, r ReconciliationRecord, id int64) error {
	if a.Webhook == nil {
		return nil
	}
	sum := sha256.Sum256([]byte("reconciliation\x00" + r.RunID))
	eventID := "evt_" + hex.EncodeToString(sum[:16])
	refs := []string{}
	for _, m := range r.Successes.Mismatches {
		refs = append(refs, m.Reference)
	}
	body, err := json.Marshal(reconciliationEvent{EventID: eventID, Type: webhook.TypeReconciliation, Date: r.Date,
		ReconciliationID: id, OpenChecked: r.Open.Checked, Missing: r.Open.Missing, Stuck: r.Open.Stuck,
		Restarted: r.Open.Restarted, SuccessTotal: r.Successes.Total, Sampled: r.Successes.Sampled,
		Mismatches: len(r.Successes.Mismatches), MismatchRefs: refs, OccurredAt: time.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	if _, err := a.Store.EnsureEvent(ctx, eventID, sql.NullInt64{}, webhook.TypeReconciliation, body); err != nil {
		return err
	}
	_, err = a.Store.DeliverEvent(ctx, eventID, func(b []byte) db.Attempt {
		res := a.Webhook.Send(ctx, eventID, b)
		return db.Attempt{Status: res.Status, Error: res.Detail}
	})
	return err
}
