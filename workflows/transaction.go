package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/txstate"
)

// a is only used to name activity methods; the worker registers a real *activities.Activities.
var a *activities.Activities

// Transaction drives one transaction from its debit-hook (or first partner callback) to a final
// state that the provider itself confirmed, parking anything it cannot decide in needs_review.
func Transaction(ctx workflow.Context, in Input) (Snapshot, error) {
	t := &txn{
		in:       in,
		snap:     Snapshot{State: StatePending},
		seen:     map[string]bool{},
		outcomes: workflow.GetSignalChannel(ctx, SignalOutcome),
		resolves: workflow.GetSignalChannel(ctx, SignalResolve),
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Snapshot, error) { return t.snap, nil }); err != nil {
		return t.snap, fmt.Errorf("register state query: %w", err)
	}
	for !txstate.IsFinal(t.snap.State) {
		var err error
		switch t.snap.State {
		case StatePending:
			err = t.awaitOutcome(ctx)
		case StateInquiry, StateReversalPending:
			err = t.inquire(ctx)
		case StateUnknown:
			err = t.awaitPartnerUpdate(ctx)
		case StateNeedsReview:
			err = t.awaitResolution(ctx)
		default:
			err = t.transition(ctx, StateNeedsReview, "unexpected state "+t.snap.State)
		}
		if err != nil {
			return t.snap, err
		}
	}
	// Signals unread when a workflow returns are lost: record late reports before closing.
	if err := t.drainLate(ctx); err != nil {
		return t.snap, err
	}
	return t.snap, nil
}

type txn struct {
	in       Input
	snap     Snapshot
	seq      int
	seen     map[string]bool // signal EventIDs already handled
	outcomes workflow.ReceiveChannel
	resolves workflow.ReceiveChannel

	inquiryStarted time.Time
	backoff        time.Duration
	everFound      bool
}

func (t *txn) isPartner() bool { return t.in.Provider != ProviderEko }

// transition records a state change in PostgreSQL (idempotently) and in the search attributes.
func (t *txn) transition(ctx workflow.Context, to, reason string) error {
	return t.record(ctx, activities.Record{Kind: "state_changed", From: t.snap.State, To: to, Reason: reason, Final: txstate.IsFinal(to)})
}

func (t *txn) record(ctx workflow.Context, r activities.Record) error {
	t.seq++
	r.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	r.Key = "wf:" + strconv.Itoa(t.seq)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// A database outage must not lose a transition: retry for as long as it takes.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteActivity(actx, a.Record, r).Get(ctx, nil); err != nil {
		return fmt.Errorf("record %s: %w", r.Kind, err)
	}
	if r.To != "" {
		t.snap.State, t.snap.Reason = r.To, r.Reason
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrTxState.ValueSet(r.To)); err != nil {
			return fmt.Errorf("upsert TxState: %w", err)
		}
	}
	return nil
}

// onOutcome acts on a provider's report, skipping repeats.
func (t *txn) onOutcome(ctx workflow.Context, o Outcome) error {
	if t.seen[o.EventID] {
		return nil
	}
	t.seen[o.EventID] = true
	t.snap.Outcomes++
	if t.isPartner() {
		return t.applyPartner(ctx, o)
	}
	return t.applyEko(ctx, o.TxStatus)
}

func (t *txn) onResolve(ctx workflow.Context, r Resolution) error {
	if t.seen[r.EventID] {
		return nil
	}
	t.seen[r.EventID] = true
	if t.snap.State != StateNeedsReview || (r.State != StateSuccess && r.State != StateFailed) {
		return t.record(ctx, activities.Record{Kind: "resolve_ignored",
			Reason: "resolution to " + r.State + " ignored in state " + t.snap.State,
			Detail: map[string]string{"by": r.By, "reason": r.Reason}})
	}
	return t.record(ctx, activities.Record{Kind: "resolved", From: t.snap.State, To: r.State, Final: true,
		Reason: fmt.Sprintf("resolved by %s: %s", r.By, r.Reason), Detail: map[string]string{"by": r.By, "reason": r.Reason}})
}

// wait blocks until a signal arrives or d passes (d <= 0: no timer); fired reports the timer.
func (t *txn) wait(ctx workflow.Context, d time.Duration) (fired bool, err error) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(t.outcomes, func(c workflow.ReceiveChannel, _ bool) {
		var o Outcome
		c.Receive(ctx, &o)
		err = t.onOutcome(ctx, o)
	})
	sel.AddReceive(t.resolves, func(c workflow.ReceiveChannel, _ bool) {
		var r Resolution
		c.Receive(ctx, &r)
		err = t.onResolve(ctx, r)
	})
	if d > 0 {
		sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { fired = true })
	}
	sel.Select(ctx)
	return fired, err
}

func (t *txn) awaitOutcome(ctx workflow.Context) error {
	fired, err := t.wait(ctx, t.in.Policy.ResponseTimeout)
	if err != nil || !fired {
		return err
	}
	if t.isPartner() {
		return t.transition(ctx, StateNeedsReview, "no partner callback received")
	}
	return t.startInquiry(ctx, fmt.Sprintf("no eko-response within %s", t.in.Policy.ResponseTimeout))
}

// startClock starts the inquiry clock (for the not-found grace) and the backoff, once.
func (t *txn) startClock(ctx workflow.Context) {
	if t.inquiryStarted.IsZero() {
		t.inquiryStarted = workflow.Now(ctx)
		t.backoff = t.in.Policy.InquiryInitialBackoff
	}
}

func (t *txn) startInquiry(ctx workflow.Context, reason string) error {
	t.startClock(ctx)
	if t.snap.State == StateInquiry {
		return nil
	}
	return t.transition(ctx, StateInquiry, reason)
}

// applyEko moves the transaction on an eko-response's tx_status (seed: 0 success, 1 failed,
// 2 inquire, anything else suspicious; the Inquiry API adds 3 refund pending, 4 refunded).
func (t *txn) applyEko(ctx workflow.Context, txStatus string) error {
	state := t.snap.State
	if state == StateNeedsReview {
		return nil // a human decides now; the report is already in PostgreSQL
	}
	claimed := t.snap.ClaimedTxStatus
	if outcomeClass(txStatus) != "" {
		t.snap.ClaimedTxStatus = txStatus
	}
	if outcomeClass(claimed) != "" && outcomeClass(txStatus) != "" && outcomeClass(claimed) != outcomeClass(txStatus) {
		return t.transition(ctx, StateNeedsReview, fmt.Sprintf("eko-responses disagree: tx_status %s then %s", claimed, txStatus))
	}
	switch txStatus {
	case "0":
		if t.in.Policy.VerifySuccess && t.in.TxType == "cash_withdrawal" {
			return t.startInquiry(ctx, "eko-response reported success; verifying with Transaction Inquiry")
		}
		return t.transition(ctx, StateSuccess, "eko-response tx_status 0")
	case "1":
		return t.transition(ctx, StateFailed, "eko-response tx_status 1")
	case "2", "":
		return t.startInquiry(ctx, "eko-response tx_status "+orNone(txStatus)+": inquiring")
	case "3":
		if state == StateReversalPending {
			return nil
		}
		t.startClock(ctx)
		return t.transition(ctx, StateReversalPending, "eko-response tx_status 3 (refund pending)")
	case "4":
		return t.transition(ctx, StateReversed, "eko-response tx_status 4 (refunded)")
	default:
		return t.transition(ctx, StateNeedsReview, fmt.Sprintf("suspicious tx_status %q: contact Eko", txStatus))
	}
}

// outcomeClass groups tx_status values that can follow each other without contradiction:
// 3 (refund pending) may become 4 (refunded), but neither may follow 0.
func outcomeClass(txStatus string) string {
	switch txStatus {
	case "0":
		return "success"
	case "1", "3", "4":
		return "not_success"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// inquire runs one Transaction Inquiry, acts on its answer, then waits for the next one.
func (t *txn) inquire(ctx workflow.Context) error {
	t.startClock(ctx)
	deadline := t.in.CreatedAt.Add(t.in.Policy.InquiryDeadline)
	remaining := deadline.Sub(workflow.Now(ctx))
	if remaining <= 0 {
		return t.transition(ctx, StateNeedsReview, fmt.Sprintf("no final status from Eko within %s", t.in.Policy.InquiryDeadline))
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: max(remaining, time.Minute),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: t.in.Policy.InquiryMaxBackoff,
			NonRetryableErrorTypes: []string{activities.ErrTypeNonRetryable},
		},
	})
	var res activities.InquiryResult
	err := workflow.ExecuteActivity(actx, a.Inquire, activities.InquiryRequest{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, ClientRefID: t.in.ClientRefID, UserCode: t.in.AgentUserCode,
	}).Get(ctx, &res)
	t.snap.Inquiries++
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) || temporal.IsTimeoutError(err) {
			return t.transition(ctx, StateNeedsReview, "Transaction Inquiry failed: "+rootMessage(err))
		}
		return fmt.Errorf("inquire: %w", err)
	}
	t.snap.InquiryTxStatus = res.TxStatus
	if done, err := t.applyInquiry(ctx, res); done || err != nil {
		return err
	}
	if _, err := t.wait(ctx, t.backoff); err != nil {
		return err
	}
	t.backoff = min(t.backoff*2, t.in.Policy.InquiryMaxBackoff)
	return nil
}

func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// applyInquiry acts on Eko's server-to-server answer. done reports a state change that ends
// this round of inquiries.
func (t *txn) applyInquiry(ctx workflow.Context, res activities.InquiryResult) (done bool, err error) {
	claimed := t.snap.ClaimedTxStatus
	disagree := func() (bool, error) {
		return true, t.transition(ctx, StateNeedsReview, fmt.Sprintf(
			"eko-response reported tx_status %s but Transaction Inquiry reports %s (%s)", claimed, res.TxStatus, res.Class))
	}
	if res.Class != activities.ClassNotFound {
		t.everFound = true
	}
	switch res.Class {
	case activities.ClassFinal:
		switch res.TxStatus {
		case "0":
			return true, t.transition(ctx, StateSuccess, "confirmed by Transaction Inquiry (tx_status 0)")
		case "1":
			if claimed == "0" {
				return disagree()
			}
			return true, t.transition(ctx, StateFailed, "Transaction Inquiry reports tx_status 1")
		case "4":
			if claimed == "0" {
				return disagree()
			}
			return true, t.transition(ctx, StateReversed, "Transaction Inquiry reports tx_status 4 (refunded)")
		}
		return true, t.transition(ctx, StateNeedsReview, "Transaction Inquiry reports unexpected final tx_status "+res.TxStatus)
	case activities.ClassReversalPending:
		if claimed == "0" {
			return disagree()
		}
		if t.snap.State != StateReversalPending {
			return false, t.transition(ctx, StateReversalPending, "Transaction Inquiry reports tx_status 3 (refund pending)")
		}
		return false, nil
	case activities.ClassPending:
		return false, nil
	case activities.ClassNotFound:
		if workflow.Now(ctx).Sub(t.inquiryStarted) < t.in.Policy.NotFoundGrace {
			return false, nil
		}
		if claimed == "0" || t.everFound {
			return true, t.transition(ctx, StateNeedsReview, fmt.Sprintf(
				"Eko does not know this transaction after %s, but it was reported (tx_status %s)", t.in.Policy.NotFoundGrace, orNone(claimed)))
		}
		return true, t.transition(ctx, StateExpired, fmt.Sprintf("Eko does not know this transaction after %s: no money moved", t.in.Policy.NotFoundGrace))
	default:
		return true, t.transition(ctx, StateNeedsReview, fmt.Sprintf("Transaction Inquiry reports suspicious tx_status %q: contact Eko", res.TxStatus))
	}
}

func (t *txn) applyPartner(ctx workflow.Context, o Outcome) error {
	switch t.snap.State {
	case StateNeedsReview:
		return nil
	}
	switch o.PartnerOutcome {
	case StateSuccess:
		return t.transition(ctx, StateSuccess, "partner status "+o.PartnerStatus)
	case StateFailed:
		return t.transition(ctx, StateFailed, "partner status "+o.PartnerStatus)
	}
	if t.snap.State == StateUnknown {
		return nil
	}
	return t.transition(ctx, StateUnknown, fmt.Sprintf("partner status %q is neither success nor failure", o.PartnerStatus))
}

func (t *txn) awaitPartnerUpdate(ctx workflow.Context) error {
	fired, err := t.wait(ctx, t.in.Policy.UnknownReviewAfter)
	if err != nil || !fired {
		return err
	}
	return t.transition(ctx, StateNeedsReview, fmt.Sprintf("partner status still unknown after %s", t.in.Policy.UnknownReviewAfter))
}

func (t *txn) awaitResolution(ctx workflow.Context) error {
	_, err := t.wait(ctx, 0)
	return err
}

// drainLate records reports that arrived after the final state; one that contradicts the final
// state flags the transaction.
func (t *txn) drainLate(ctx workflow.Context) error {
	for {
		var o Outcome
		if !t.outcomes.ReceiveAsync(&o) {
			break
		}
		if t.seen[o.EventID] {
			continue
		}
		t.seen[o.EventID] = true
		r := activities.Record{Kind: "late_outcome", Reason: "report received after the final state",
			Detail: map[string]string{"event_id": o.EventID, "tx_status": o.TxStatus, "partner_outcome": o.PartnerOutcome}}
		if ContradictsFinal(t.snap.State, o) {
			r.Flag = fmt.Sprintf("late report (%s) contradicts final state %s", o.EventID, t.snap.State)
		}
		if err := t.record(ctx, r); err != nil {
			return err
		}
	}
	for {
		var r Resolution
		if !t.resolves.ReceiveAsync(&r) {
			return nil
		}
		if err := t.onResolve(ctx, r); err != nil {
			return err
		}
	}
}

// ContradictsFinal reports whether an outcome report disagrees with a final state.
func ContradictsFinal(final string, o Outcome) bool { return txstate.Contradicts(final, reported(o)) }

// reported is the final outcome a report claims, or "" for none.
func reported(o Outcome) string {
	if o.Source == SourcePartner {
		switch o.PartnerOutcome {
		case StateSuccess, StateFailed:
			return o.PartnerOutcome
		}
		return ""
	}
	return txstate.FromEkoTxStatus(o.TxStatus)
}
