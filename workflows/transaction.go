package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/searchattr"
	"github.com/aepsflow/aepsflow/txstate"
)

// a is only used to name activity methods; the worker registers a real *activities.Activities.
var a *activities.Activities

// Transaction drives one transaction from its debit-hook (or first partner callback) to a final
// state that the provider itself confirmed, parking anything it cannot decide in needs_review.
func Transaction(ctx workflow.Context, in Input) (Snapshot, error) {
	p := in.Policy.withDefaults()
	now := workflow.Now(ctx)
	createdAt := in.CreatedAt
	if createdAt.IsZero() {
		createdAt = now
	}
	// operator-view 1 shows the transaction in the Web UI; 2 also counts the response timeout
	// from the transaction's creation, since the relay now starts the workflow with a start delay
	// of that timeout (its first task runs when the eko-response comes, or the timeout is over),
	// and starts no response timer when the report is already there. 3 is the light workflow
	// (see light below). One change ID for all of them: the SDK records a marker and upserts
	// TemporalChangeVersion for every change ID a new workflow asks about, so from 3 on this is
	// the only GetVersion a workflow calls, asked first; the earlier changes are all in force.
	opView := workflow.GetVersion(ctx, changeOperatorView, workflow.DefaultVersion, 3)
	// Version 1 records state changes with a local activity; histories recorded before it
	// (remote Record activities) keep replaying on the default version. Version 2 put the run ID
	// in each record's key here; the Record activity now does that for every version (workflows
	// started before version 2 can be reset too), so 2 behaves as 1 and stays only because
	// histories carry it.
	version := workflow.Version(2)
	if opView < 3 {
		version = workflow.GetVersion(ctx, changeLocalRecord, workflow.DefaultVersion, 2)
	}
	responseFrom := now
	if opView >= 2 {
		responseFrom = createdAt
	}
	t := &txn{
		in:       in,
		p:        p,
		snap:     Snapshot{State: txstate.Pending},
		seen:     map[string]bool{},
		outcomes: workflow.GetSignalChannel(ctx, SignalOutcome),
		resolves: workflow.GetSignalChannel(ctx, SignalResolve),
		deadline: createdAt.Add(p.InquiryDeadline),
		// Fixed at the start: signals that change nothing must not push it back.
		responseBy:  responseFrom.Add(p.ResponseTimeout),
		localRecord: version >= 1,
		view:        opView >= 1,
		lighter:     opView >= 2,
		light:       opView >= 3,
		since:       createdAt,
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Snapshot, error) { return t.snap, nil }); err != nil {
		return t.snap, fmt.Errorf("register state query: %w", err)
	}
	t.startEvents(ctx)
	for !txstate.IsFinal(t.snap.State) {
		var err error
		switch t.snap.State {
		case txstate.Pending:
			err = t.awaitOutcome(ctx)
		case txstate.Inquiry, txstate.ReversalPending:
			err = t.inquire(ctx)
		case txstate.Unknown:
			err = t.awaitPartnerUpdate(ctx)
		case txstate.NeedsReview:
			err = t.waitForSignal(ctx)
		default:
			err = t.transition(ctx, txstate.NeedsReview, "unexpected state "+string(t.snap.State))
		}
		if err != nil {
			return t.snap, err
		}
	}
	// The platform's events go out before the workflow closes (each acknowledged or set aside).
	// Their delivery may outlast this task (a retried activity): the final state is upserted first.
	if err := t.flush(ctx); err != nil {
		return t.snap, err
	}
	if err := t.finishEvents(ctx); err != nil {
		return t.snap, err
	}
	// Signals unread when a workflow returns are lost: record late reports before closing.
	if err := t.drainLate(ctx); err != nil {
		return t.snap, err
	}
	if err := t.waiting(ctx); err != nil {
		return t.snap, err
	}
	return t.snap, nil
}

// changeLocalRecord names the workflow changes that made Record a local activity (1) and put the
// run ID in record keys (2).
const changeLocalRecord = "record-as-local-activity"

// changeReviewReport names the workflow change that records partner reports in needs_review.
const changeReviewReport = "record-partner-report-in-review"

// changeCompareAmount names the workflow change that compares the amount Eko's inquiry (or a
// partner's later report) gives with the amount the transaction was allowed for. Histories
// recorded before it took a reported success at its word.
const changeCompareAmount = "compare-reported-amount"

// PreferVersions is the worker's choice of versions for new workflows. With light false, new
// transaction workflows record operator-view 2 instead of the light 3 (WORKFLOW_LIGHT=false):
// during a rolling deploy no worker that lacks version 3 may meet a workflow that recorded it,
// and the benchmark measures what the light workflow saves. Recorded versions always replay.
func PreferVersions(light bool) worker.PreferredVersionProvider {
	if light {
		return nil // the newest version of every change
	}
	return func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
		if in.ChangeID == changeOperatorView {
			return &worker.VersionPreference{Version: 2, ClampToSupportedRange: true}
		}
		return nil
	}
}

// changeOperatorView names the workflow change that explains the transaction in the Web UI:
// current details, named timers and activities, and the TxReason, TxFlagged and TxProviderTxnID
// search attributes upserted with the state. Workflows started before it show none of these.
const changeOperatorView = "operator-view"

type txn struct {
	localRecord bool
	in          Input
	p           Policy // in.Policy with defaults filled
	snap        Snapshot
	seq         int
	seen        map[string]bool // signal EventIDs already handled
	outcomes    workflow.ReceiveChannel
	resolves    workflow.ReceiveChannel
	events      *events // nil: no events to the platform

	deadline     time.Time // CreatedAt + InquiryDeadline: past it, needs_review
	responseBy   time.Time // no report by then: inquire (Eko) or review (partner)
	unknownSince time.Time // when a partner's status became unknown

	inquiryStarted time.Time
	backoff        time.Duration
	everFound      bool   // an inquiry has found the transaction
	lastReport     string // tx_status of the latest eko-response ("missing" when absent), "" before any
	inquired       string // latest inquiry tx_status that reports an outcome (0, 1, 3, 4)

	// lighter (operator-view 2): the response timeout counts from the creation, and a report
	// already waiting is handled before any response timer is started.
	lighter bool
	// light (operator-view 3): what can be decided in the workflow task a report wakes is
	// decided there. The first inquiry and the first delivery of each platform event are tried
	// as local activities (a failure falls back to the retried activity), and the search
	// attributes are upserted once per workflow task, when it is about to wait (flush), not
	// once per record. A verified report then costs one workflow task instead of three.
	light        bool
	localInquiry bool          // the first inquiry was tried as a local activity
	attrs        []pendingAttr // light: upserts not yet sent

	// The operator's view (changeOperatorView); none of it decides anything.
	view          bool
	since         time.Time // when the state was entered
	reportText    string    // the latest report, as the current details show it
	inquiryText   string    // the latest inquiry's answer, likewise
	nextInquiry   time.Time
	providerTxnID string // the provider's transaction ID, once a report or inquiry gave it
	txnIDPending  bool   // providerTxnID changed since the last upsert
	flag          string
}

func (t *txn) isPartner() bool { return t.in.Provider != txstate.ProviderEko }

// inquiring reports whether the state is one the inquiry loop serves.
func inquiring(state txstate.State) bool {
	return state == txstate.Inquiry || state == txstate.ReversalPending
}

// transition records a state change in PostgreSQL (idempotently) and in the search attributes.
func (t *txn) transition(ctx workflow.Context, to txstate.State, reason string) error {
	return t.record(ctx, activities.Record{Kind: "state_changed", From: t.snap.State, To: to, Reason: reason, Final: txstate.IsFinal(to)})
}

func (t *txn) record(ctx workflow.Context, r activities.Record) error {
	t.seq++
	r.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	r.Key = "wf:" + strconv.Itoa(t.seq) // the activity adds the run ID
	// A local activity: one short PostgreSQL write needs no task queue round trip through the
	// server (its result is a marker in the history), which roughly halves the server's work
	// per transaction. A database outage must not lose a transition: retry for as long as it
	// takes (the SDK turns long retry intervals into workflow timers).
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	var summary string
	if t.view {
		summary = "record: " + r.Kind
		if r.To != "" {
			summary = "record: " + string(r.From) + " → " + string(r.To)
		}
	}
	var f workflow.Future
	if t.localRecord {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: retry, Summary: summary})
		f = workflow.ExecuteLocalActivity(lctx, a.Record, r)
	} else {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry, Summary: summary})
		f = workflow.ExecuteActivity(actx, a.Record, r)
	}
	if err := f.Get(ctx, nil); err != nil {
		return fmt.Errorf("record %s: %w", r.Kind, err)
	}
	var attrs []pendingAttr
	set := func(k interface{ GetName() string }, u temporal.SearchAttributeUpdate) {
		attrs = append(attrs, pendingAttr{name: k.GetName(), update: u})
	}
	if r.To != "" {
		t.snap.State, t.snap.Reason = r.To, r.Reason
		t.since = workflow.Now(ctx)
		set(searchattr.Key.TxState, searchattr.Key.TxState.ValueSet(string(r.To)))
		if t.view {
			set(searchattr.Key.TxReason, searchattr.Key.TxReason.ValueSet(ReasonClass(r.Reason)))
		}
		t.emit(ctx, r)
	}
	if t.view && r.Flag != "" {
		t.flag = r.Flag
		set(searchattr.Key.TxFlagged, searchattr.Key.TxFlagged.ValueSet(true))
	}
	// The provider's transaction ID rides along with the next upsert rather than costing one.
	if t.view && len(attrs) > 0 && t.txnIDPending {
		t.txnIDPending = false
		set(searchattr.Key.TxProviderTxnID, searchattr.Key.TxProviderTxnID.ValueSet(t.providerTxnID))
	}
	t.queueAttrs(attrs)
	if !t.light {
		if err := t.flush(ctx); err != nil {
			return err
		}
	}
	t.show(ctx)
	return nil
}

// pendingAttr is a search attribute update not sent yet.
type pendingAttr struct {
	name   string
	update temporal.SearchAttributeUpdate
}

// queueAttrs keeps updates for the next flush; a later value of an attribute replaces the
// earlier one, which nobody could have seen (the server takes a task's commands together).
func (t *txn) queueAttrs(attrs []pendingAttr) {
	for _, a := range attrs {
		i := slices.IndexFunc(t.attrs, func(p pendingAttr) bool { return p.name == a.name })
		if i >= 0 {
			t.attrs[i].update = a.update
			continue
		}
		t.attrs = append(t.attrs, a)
	}
}

// flush sends the queued search attributes in one upsert. It is called wherever the workflow is
// about to wait, so that the Web UI is never behind what the workflow knows once its task ends.
func (t *txn) flush(ctx workflow.Context) error {
	if len(t.attrs) == 0 {
		return nil
	}
	updates := make([]temporal.SearchAttributeUpdate, len(t.attrs))
	for i, p := range t.attrs {
		updates[i] = p.update
	}
	t.attrs = t.attrs[:0]
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upsert search attributes (state %s): %w", t.snap.State, err)
	}
	return nil
}

// waiting flushes the queued search attributes and shows the current details: the workflow is
// about to wait for a signal, a timer or an activity.
func (t *txn) waiting(ctx workflow.Context) error {
	if err := t.flush(ctx); err != nil {
		return err
	}
	t.show(ctx)
	return nil
}

// show sets the current details the Web UI shows: called wherever the workflow is about to wait,
// so that what an operator reads is never behind what the workflow knows.
func (t *txn) show(ctx workflow.Context) {
	if !t.view {
		return
	}
	v := view{state: t.snap.State, reason: t.snap.Reason, since: t.since, lastReport: t.reportText, lastInquiry: t.inquiryText,
		inquiries: t.snap.Inquiries, providerTxnID: t.providerTxnID, flag: t.flag}
	switch {
	case t.snap.State == txstate.Pending:
		v.responseBy = t.responseBy
	case inquiring(t.snap.State):
		v.nextInquiry = t.nextInquiry
	}
	if t.in.Provider == txstate.ProviderEko {
		v.deadline = t.deadline
	}
	workflow.SetCurrentDetails(ctx, t.in.currentDetails(v))
}

// noteTxnID keeps the provider's transaction ID a report or inquiry gave.
func (t *txn) noteTxnID(id string) {
	if id != "" && id != t.providerTxnID {
		t.providerTxnID, t.txnIDPending = id, true
	}
}

// timer starts a timer, named for the Web UI's timeline in workflows that show one.
func (t *txn) timer(ctx workflow.Context, d time.Duration, summary string) workflow.Future {
	if !t.view {
		return workflow.NewTimer(ctx, d)
	}
	return workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary})
}

// addSignals makes sel handle the next outcome or resolution; *err receives the handling's error.
func (t *txn) addSignals(ctx workflow.Context, sel workflow.Selector, err *error) {
	sel.AddReceive(t.outcomes, func(c workflow.ReceiveChannel, _ bool) {
		var o Outcome
		c.Receive(ctx, &o)
		*err = t.onOutcome(ctx, o)
	})
	sel.AddReceive(t.resolves, func(c workflow.ReceiveChannel, _ bool) {
		var r Resolution
		c.Receive(ctx, &r)
		*err = t.onResolve(ctx, r)
	})
}

// waitUntil handles signals until the time until has come (fired) or one of them has changed
// the state. One timer serves the whole wait, so a repeated or ignored signal neither re-arms
// it nor cuts it short.
func (t *txn) waitUntil(ctx workflow.Context, until time.Time, name string) (fired bool, err error) {
	state := t.snap.State
	d := until.Sub(workflow.Now(ctx))
	if d <= 0 {
		return true, nil
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := t.timer(tctx, d, fmt.Sprintf(name, FormatDuration(d.Round(time.Millisecond))))
	for {
		if err := t.waiting(ctx); err != nil {
			return false, err
		}
		var timerErr error
		sel := workflow.NewSelector(ctx)
		t.addSignals(ctx, sel, &err)
		sel.AddFuture(timer, func(f workflow.Future) { fired, timerErr = true, f.Get(ctx, nil) })
		sel.Select(ctx)
		switch {
		case err != nil:
			return false, err
		case fired:
			return true, timerErr // a cancelled workflow ends here with its CanceledError
		case t.snap.State != state:
			return false, nil
		}
	}
}

// waitForSignal handles one signal, however long it takes (needs_review waits for an operator).
func (t *txn) waitForSignal(ctx workflow.Context) error {
	var err error
	if t.outcomes.Len() > 0 || t.resolves.Len() > 0 {
		t.show(ctx) // a signal is waiting: this task goes on, so its upserts can wait too
	} else if err := t.waiting(ctx); err != nil {
		return err
	}
	sel := workflow.NewSelector(ctx)
	t.addSignals(ctx, sel, &err)
	sel.Select(ctx)
	return err
}

// onOutcome acts on a provider's report, skipping repeats.
func (t *txn) onOutcome(ctx workflow.Context, o Outcome) error {
	if t.seen[o.EventID] {
		return nil
	}
	t.seen[o.EventID] = true
	t.snap.Outcomes++
	t.noteReport(ctx, o)
	if t.isPartner() {
		return t.applyPartner(ctx, o)
	}
	return t.applyEko(ctx, o.TxStatus)
}

// noteReport keeps what the current details show of a provider's report.
func (t *txn) noteReport(ctx workflow.Context, o Outcome) {
	if !t.view {
		return
	}
	at := workflow.Now(ctx).UTC().Format(timeLayout)
	if o.Source == SourcePartner {
		t.reportText = fmt.Sprintf("partner status `%s` (%s) at %s", oneLine(o.PartnerStatus), o.PartnerOutcome, at)
	} else {
		t.reportText = fmt.Sprintf("eko-response tx_status `%s` at %s", orNone(oneLine(o.TxStatus)), at)
	}
	t.noteTxnID(o.ProviderTxnID)
}

func (t *txn) onResolve(ctx workflow.Context, r Resolution) error {
	if t.seen[r.EventID] {
		return nil
	}
	t.seen[r.EventID] = true
	if t.snap.State != txstate.NeedsReview || (r.State != txstate.Success && r.State != txstate.Failed) {
		return t.record(ctx, activities.Record{Kind: "resolve_ignored",
			Reason: "resolution to " + string(r.State) + " ignored in state " + string(t.snap.State),
			Detail: map[string]string{"by": r.By, "reason": r.Reason}})
	}
	return t.record(ctx, activities.Record{Kind: "resolved", From: t.snap.State, To: r.State, Final: true,
		Reason: fmt.Sprintf("resolved by %s: %s", r.By, r.Reason), Detail: map[string]string{"by": r.By, "reason": r.Reason}})
}

func (t *txn) awaitOutcome(ctx workflow.Context) error {
	if t.lighter {
		// The start delay usually ends because a report came: handle what is waiting before
		// starting a response timer that would only be cancelled (two events saved).
		for t.snap.State == txstate.Pending && (t.outcomes.Len() > 0 || t.resolves.Len() > 0) {
			if err := t.waitForSignal(ctx); err != nil {
				return err
			}
		}
		if t.snap.State != txstate.Pending {
			return nil
		}
	}
	name := "waiting for eko-response (%s)"
	if t.isPartner() {
		name = "waiting for partner callback (%s)"
	}
	fired, err := t.waitUntil(ctx, t.responseBy, name)
	if err != nil || !fired {
		return err
	}
	if t.isPartner() {
		return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("no partner callback received within %s", t.p.ResponseTimeout))
	}
	return t.startInquiry(ctx, fmt.Sprintf("no eko-response within %s", t.p.ResponseTimeout))
}

// startClock starts the inquiry clock (for the not-found grace) and the backoff, once.
func (t *txn) startClock(ctx workflow.Context) {
	if t.inquiryStarted.IsZero() {
		t.inquiryStarted = workflow.Now(ctx)
		t.backoff = t.p.InquiryInitialBackoff
	}
}

func (t *txn) startInquiry(ctx workflow.Context, reason string) error {
	t.startClock(ctx)
	if inquiring(t.snap.State) {
		return nil // already inquiring; reversal_pending must not fall back to inquiry
	}
	return t.transition(ctx, txstate.Inquiry, reason)
}

// conflict describes the earlier report that txStatus contradicts, or returns "". Only
// statuses that report an outcome can conflict: 3 (refund pending) may become 4 (refunded) or
// agree with 1, but none of them may follow or precede 0.
func (t *txn) conflict(txStatus string) string {
	c := txstate.EkoClass(txStatus)
	if c == "" {
		return ""
	}
	if p := t.snap.ClaimedTxStatus; txstate.EkoClass(p) != "" && txstate.EkoClass(p) != c {
		return "eko-response reported tx_status " + p
	}
	if p := t.inquired; txstate.EkoClass(p) != "" && txstate.EkoClass(p) != c {
		return "Transaction Inquiry reported tx_status " + p
	}
	return ""
}

// applyEko moves the transaction on an eko-response's tx_status (docs/eko-aeps.md#status-codes:
// 0 success, 1 failed, 2 inquire, anything else suspicious; the Inquiry API adds 3 refund
// pending, 4 refunded).
func (t *txn) applyEko(ctx workflow.Context, txStatus string) error {
	t.lastReport = orNone(txStatus)
	state := t.snap.State
	if state == txstate.NeedsReview {
		return nil // a human decides now; the report is already in PostgreSQL
	}
	prior := t.conflict(txStatus)
	if txstate.EkoClass(txStatus) != "" {
		t.snap.ClaimedTxStatus = txStatus
	}
	if prior != "" {
		return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("%s, but an eko-response reports tx_status %s", prior, txStatus))
	}
	switch txStatus {
	case "0":
		if t.p.VerifySuccess && t.in.TxType == "cash_withdrawal" {
			return t.startInquiry(ctx, "eko-response reported success; verifying with Transaction Inquiry")
		}
		return t.transition(ctx, txstate.Success, "eko-response tx_status 0")
	case "1", "4":
		// The browser's word alone would free the agent's daily limit and book no money moved;
		// only Eko's own answer may. Already inquiring (e.g. reversal_pending): the next
		// inquiry confirms it.
		if t.p.VerifyFailure && t.in.TxType == "cash_withdrawal" {
			return t.startInquiry(ctx, "eko-response reported tx_status "+txStatus+"; verifying with Transaction Inquiry")
		}
		if txStatus == "4" {
			return t.transition(ctx, txstate.Reversed, "eko-response tx_status 4 (refunded)")
		}
		return t.transition(ctx, txstate.Failed, "eko-response tx_status 1")
	case "2", "":
		return t.startInquiry(ctx, "eko-response tx_status "+orNone(txStatus)+": inquiring")
	case "3":
		if state == txstate.ReversalPending {
			return nil
		}
		t.startClock(ctx)
		return t.transition(ctx, txstate.ReversalPending, "eko-response tx_status 3 (refund pending)")
	default:
		return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("suspicious tx_status %q: contact Eko", txStatus))
	}
}

func orNone(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// inquire runs one Transaction Inquiry, acts on its answer, then waits out the backoff. Signals
// are handled throughout: a report that settles the transaction while Eko's API is slow or down
// must not wait for the inquiry.
func (t *txn) inquire(ctx workflow.Context) error {
	t.startClock(ctx)
	remaining := t.deadline.Sub(workflow.Now(ctx))
	if remaining <= 0 {
		return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("no final status from Eko within %s", t.p.InquiryDeadline))
	}
	actx, cancel := workflow.WithCancel(ctx)
	defer cancel() // abandons an inquiry whose answer is no longer needed
	actx = workflow.WithActivityOptions(actx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// Transport errors are retried until the deadline and no longer.
		ScheduleToCloseTimeout: remaining,
		RetryPolicy: &temporal.RetryPolicy{
			// The server refuses a maximum below the initial interval.
			InitialInterval: min(5*time.Second, t.p.InquiryMaxBackoff), BackoffCoefficient: 2, MaximumInterval: t.p.InquiryMaxBackoff,
			NonRetryableErrorTypes: []string{activities.ErrTypeNonRetryable},
		},
	})
	if t.view {
		n := t.snap.Inquiries + 1
		actx = workflow.WithActivityOptions(actx, withSummary(workflow.GetActivityOptions(actx),
			fmt.Sprintf("inquiry %d of ≤ %d (deadline %s)", n, t.maxInquiries(workflow.Now(ctx)), t.deadline.UTC().Format(timeLayout))))
		t.nextInquiry = time.Time{}
	}
	req := activities.InquiryRequest{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, ClientRefID: t.in.ClientRefID, UserCode: t.in.AgentUserCode,
	}
	// light: the first inquiry runs in the workflow task that asked for it, a local activity
	// tried once; usually Eko answers at once and the transaction is decided in that task.
	local := t.light && !t.localInquiry
	var fut workflow.Future
	if local {
		t.localInquiry = true
		o := workflow.GetActivityOptions(actx)
		fut = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(actx, workflow.LocalActivityOptions{
			StartToCloseTimeout: min(localInquiryTimeout, remaining),
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
			Summary:             o.Summary,
		}), a.Inquire, req)
	} else {
		fut = workflow.ExecuteActivity(actx, a.Inquire, req)
	}
	var (
		res    activities.InquiryResult
		actErr error
		err    error
		done   bool
	)
	for !done {
		if local {
			t.show(ctx) // a local activity: this workflow task goes on, and its upserts can wait
		} else if err := t.waiting(ctx); err != nil {
			return err
		}
		sel := workflow.NewSelector(ctx)
		t.addSignals(ctx, sel, &err)
		sel.AddFuture(fut, func(f workflow.Future) { done, actErr = true, f.Get(ctx, &res) })
		sel.Select(ctx)
		if err != nil {
			return err
		}
		if !done && !inquiring(t.snap.State) {
			return nil // a report settled (or parked) the transaction meanwhile
		}
	}
	if local && actErr != nil && !abandoned(actErr) {
		// Eko slow, away or refusing this once: the retried activity takes over at once, and
		// only its verdict counts.
		return nil
	}
	t.snap.Inquiries++
	t.noteInquiry(ctx, res, actErr)
	if actErr != nil {
		var canceled *temporal.CanceledError
		switch {
		case errors.As(actErr, &canceled):
			return actErr // the workflow itself is being cancelled
		case temporal.IsTimeoutError(actErr):
			return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("no final status from Eko within %s: Transaction Inquiry kept failing: %s",
				t.p.InquiryDeadline, rootMessage(actErr)))
		}
		return t.transition(ctx, txstate.NeedsReview, "Transaction Inquiry failed: "+rootMessage(actErr))
	}
	if done, err := t.applyInquiry(ctx, res); done || err != nil {
		return err
	}
	next := workflow.Now(ctx).Add(t.backoff)
	if next.After(t.deadline) {
		next = t.deadline // decide at the deadline, not up to a backoff later
	}
	t.backoff = min(t.backoff*2, t.p.InquiryMaxBackoff)
	t.nextInquiry = next
	name := "inquiry backoff %s"
	if next.Equal(t.deadline) {
		name = "inquiry deadline in %s"
	}
	_, err = t.waitUntil(ctx, next, name)
	return err
}

// localInquiryTimeout bounds the light workflow's local try of the first inquiry: longer, and
// the retried activity (30 s per attempt) is the better place to wait.
const localInquiryTimeout = 10 * time.Second

// abandoned reports an error that ends an inquiry for good: the workflow being cancelled, or Eko
// refusing it in a way no retry can fix.
func abandoned(err error) bool {
	var canceled *temporal.CanceledError
	var app *temporal.ApplicationError
	return errors.As(err, &canceled) || (errors.As(err, &app) && app.Type() == activities.ErrTypeNonRetryable)
}

func withSummary(o workflow.ActivityOptions, summary string) workflow.ActivityOptions {
	o.Summary = summary
	return o
}

// noteInquiry keeps what the current details show of an inquiry's answer.
func (t *txn) noteInquiry(ctx workflow.Context, res activities.InquiryResult, err error) {
	if !t.view {
		return
	}
	at := workflow.Now(ctx).UTC().Format(timeLayout)
	if err != nil {
		t.inquiryText = fmt.Sprintf("#%d failed at %s: %s", t.snap.Inquiries, at, oneLine(rootMessage(err)))
		return
	}
	t.inquiryText = fmt.Sprintf("#%d `%s` (tx_status `%s`) at %s", t.snap.Inquiries, res.Class, orNone(oneLine(res.TxStatus)), at)
	t.noteTxnID(res.TID)
}

// maxInquiries is the number of the inquiry about to start plus how many more fit before the
// deadline at the current backoff: the "of ≤ n" the timeline shows.
func (t *txn) maxInquiries(now time.Time) int {
	n := t.snap.Inquiries + 1
	at, b := now, t.backoff
	for b < t.p.InquiryMaxBackoff {
		at = at.Add(b)
		if !at.Before(t.deadline) {
			return n
		}
		n++
		b = min(b*2, t.p.InquiryMaxBackoff)
	}
	if rem := t.deadline.Sub(at); rem > 0 && b > 0 {
		n += int((rem - 1) / b) // constant steps from here on
	}
	return n
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
	if res.Class != activities.ClassNotFound {
		t.everFound = true
	}
	var prior string
	if res.Class == activities.ClassFinal || res.Class == activities.ClassReversalPending {
		prior = t.conflict(res.TxStatus)
		if txstate.EkoClass(res.TxStatus) != "" {
			t.inquired = res.TxStatus
		}
	}
	if res.TxStatus != "" {
		t.snap.InquiryTxStatus = res.TxStatus
	}
	// Eko's references, for reconciliation (the Inquire activity stores them too).
	if res.TID != "" {
		t.snap.EkoTID = res.TID
	}
	if res.BankRefNum != "" {
		t.snap.BankRefNum = res.BankRefNum
	}
	if prior != "" {
		// Both versions stay in the snapshot (ClaimedTxStatus, InquiryTxStatus) and the reason.
		return true, t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("%s, but Transaction Inquiry reports %s (%s)", prior, res.TxStatus, res.Class))
	}
	if movesMoney(res) && t.in.TxType == "cash_withdrawal" {
		if why := t.amountMismatch(ctx, "Transaction Inquiry reports tx_status "+res.TxStatus, res.Amount); why != "" {
			return true, t.transition(ctx, txstate.NeedsReview, why)
		}
	}
	switch res.Class {
	case activities.ClassFinal:
		switch res.TxStatus {
		case "0":
			return true, t.transition(ctx, txstate.Success, "confirmed by Transaction Inquiry (tx_status 0)")
		case "1":
			return true, t.transition(ctx, txstate.Failed, "Transaction Inquiry reports tx_status 1")
		case "4":
			return true, t.transition(ctx, txstate.Reversed, "Transaction Inquiry reports tx_status 4 (refunded)")
		}
		return true, t.transition(ctx, txstate.NeedsReview, "Transaction Inquiry reports unexpected final tx_status "+res.TxStatus)
	case activities.ClassReversalPending:
		if t.snap.State != txstate.ReversalPending {
			return false, t.transition(ctx, txstate.ReversalPending, "Transaction Inquiry reports tx_status 3 (refund pending)")
		}
		return false, nil
	case activities.ClassPending:
		return false, nil
	case activities.ClassNotFound:
		if workflow.Now(ctx).Sub(t.inquiryStarted) < t.p.NotFoundGrace {
			return false, nil
		}
		// Only a transaction nobody ever reported, or that was reported failed, is known not to
		// have moved money: Eko and the report agree then.
		switch {
		case t.p.VerifyFailure && t.lastReport == "1" && !t.everFound:
			return true, t.transition(ctx, txstate.Failed, fmt.Sprintf(
				"eko-response reported tx_status 1 and Eko does not know this transaction after %s: no money moved", t.p.NotFoundGrace))
		case t.lastReport != "":
			return true, t.transition(ctx, txstate.NeedsReview, fmt.Sprintf(
				"Eko does not know this transaction after %s, but an eko-response reported it (tx_status %s)", t.p.NotFoundGrace, t.lastReport))
		case t.everFound:
			return true, t.transition(ctx, txstate.NeedsReview, fmt.Sprintf(
				"Eko does not know this transaction after %s, but an earlier inquiry found it", t.p.NotFoundGrace))
		}
		return true, t.transition(ctx, txstate.Expired, fmt.Sprintf("Eko does not know this transaction after %s: no money moved", t.p.NotFoundGrace))
	default:
		return true, t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("Transaction Inquiry reports suspicious tx_status %q: contact Eko", res.TxStatus))
	}
}

// movesMoney reports an inquiry answer that settles money: success (0), refund pending (3) or
// refunded (4). Its amount must be the one we allowed.
func movesMoney(res activities.InquiryResult) bool {
	switch {
	case res.Class == activities.ClassFinal && (res.TxStatus == "0" || res.TxStatus == "4"):
		return true
	case res.Class == activities.ClassReversalPending && res.TxStatus == "3":
		return true
	}
	return false
}

// amountMismatch compares a reported amount with the amount the transaction was allowed for
// (the debit-hook's, or the partner's first report), as decimals: "100" equals "100.00". It
// returns the reason for needs_review, naming both amounts, or "" when they agree. An amount that
// is missing or not a number cannot be checked, which counts as a mismatch. Histories from
// before the change (changeCompareAmount) compared nothing.
func (t *txn) amountMismatch(ctx workflow.Context, what, reported string) string {
	if !t.light && workflow.GetVersion(ctx, changeCompareAmount, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ""
	}
	allowed, aerr := decimal.NewFromString(t.in.Amount)
	got, rerr := decimal.NewFromString(strings.TrimSpace(reported))
	if aerr == nil && rerr == nil && got.Equal(allowed) {
		return ""
	}
	if reported == "" {
		reported = "no amount"
	}
	return fmt.Sprintf("%s for amount %q, but the transaction was allowed for %q: amounts differ", what, reported, t.in.Amount)
}

func (t *txn) applyPartner(ctx workflow.Context, o Outcome) error {
	if o.Amount != "" {
		// A later report for another amount than the first describes some other transaction, or
		// a changed one: an operator decides. Zero and empty are the same amount (no amount).
		if why := t.partnerAmountMismatch(ctx, o); why != "" {
			if t.snap.State == txstate.NeedsReview {
				return t.record(ctx, activities.Record{Kind: "outcome_in_review", Reason: why,
					Detail: map[string]string{"event_id": o.EventID, "partner_outcome": o.PartnerOutcome, "partner_status": o.PartnerStatus}})
			}
			return t.transition(ctx, txstate.NeedsReview, why)
		}
	}
	if t.snap.State == txstate.NeedsReview {
		// An operator decides now, but must see that the partner has answered. Histories from
		// before this change handled such a report without any command.
		if !t.light && workflow.GetVersion(ctx, changeReviewReport, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return nil
		}
		return t.record(ctx, activities.Record{Kind: "outcome_in_review", Reason: "partner report received in needs_review; an operator decides",
			Detail: map[string]string{"event_id": o.EventID, "partner_outcome": o.PartnerOutcome, "partner_status": o.PartnerStatus}})
	}
	switch txstate.State(o.PartnerOutcome) {
	case txstate.Success:
		return t.transition(ctx, txstate.Success, "partner status "+o.PartnerStatus)
	case txstate.Failed:
		return t.transition(ctx, txstate.Failed, "partner status "+o.PartnerStatus)
	}
	if t.snap.State == txstate.Unknown {
		return nil // the review window runs from the first unknown report
	}
	t.unknownSince = workflow.Now(ctx)
	return t.transition(ctx, txstate.Unknown, fmt.Sprintf("partner status %q is neither success nor failure", o.PartnerStatus))
}

// partnerAmountMismatch compares a partner report's txnAmount with the transaction's (its first
// report's), as decimals, an empty amount counting as zero (as the store's details check does).
func (t *txn) partnerAmountMismatch(ctx workflow.Context, o Outcome) string {
	if !t.light && workflow.GetVersion(ctx, changeCompareAmount, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ""
	}
	amount := func(s string) (decimal.Decimal, bool) {
		if strings.TrimSpace(s) == "" {
			return decimal.Zero, true
		}
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		return d, err == nil
	}
	first, ok1 := amount(t.in.Amount)
	got, ok2 := amount(o.Amount)
	if ok1 && ok2 && first.Equal(got) {
		return ""
	}
	return fmt.Sprintf("partner report %s (status %s) gives txnAmount %q, but an earlier report gave %q: amounts differ",
		o.EventID, o.PartnerStatus, o.Amount, t.in.Amount)
}

func (t *txn) awaitPartnerUpdate(ctx workflow.Context) error {
	fired, err := t.waitUntil(ctx, t.unknownSince.Add(t.p.UnknownReviewAfter), "partner status unknown: review in %s")
	if err != nil || !fired {
		return err
	}
	return t.transition(ctx, txstate.NeedsReview, fmt.Sprintf("partner status still unknown after %s", t.p.UnknownReviewAfter))
}

// drainLate records reports that arrived after the final state; one that contradicts the final
// state flags the transaction. Recording takes activities, during which more signals may come:
// both channels are read until neither has anything left.
func (t *txn) drainLate(ctx workflow.Context) error {
	for {
		var o Outcome
		if t.outcomes.ReceiveAsync(&o) {
			if err := t.recordLate(ctx, o); err != nil {
				return err
			}
			continue
		}
		var r Resolution
		if t.resolves.ReceiveAsync(&r) {
			if err := t.onResolve(ctx, r); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

func (t *txn) recordLate(ctx workflow.Context, o Outcome) error {
	if t.seen[o.EventID] {
		return nil
	}
	t.seen[o.EventID] = true
	t.snap.Outcomes++
	t.noteReport(ctx, o)
	r := activities.Record{Kind: "late_outcome", Reason: "report received after the final state",
		Detail: map[string]string{"event_id": o.EventID, "tx_status": o.TxStatus, "partner_outcome": o.PartnerOutcome}}
	if ContradictsFinal(t.snap.State, o) {
		r.Flag = fmt.Sprintf("late report (%s) contradicts final state %s", o.EventID, t.snap.State)
	}
	return t.record(ctx, r)
}

// ContradictsFinal reports whether an outcome report disagrees with a final state, by the rule
// conflict applies while the transaction is open (txstate's money classes).
func ContradictsFinal(final txstate.State, o Outcome) bool {
	if o.Source == SourcePartner {
		switch reported := txstate.State(o.PartnerOutcome); reported {
		case txstate.Success, txstate.Failed:
			return txstate.Contradicts(final, reported)
		}
		return false
	}
	return txstate.ContradictsEko(final, o.TxStatus)
}
