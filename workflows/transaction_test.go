package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/searchattr"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// acts names the activity methods for mocks, as the workflow does; it is never called.
var acts *activities.Activities

// t0 is when every test transaction is created; the workflow starts at the same instant.
var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// testPolicy is the production default configuration (config.Lifecycle).
func testPolicy() workflows.Policy {
	return workflows.Policy{
		ResponseTimeout: 5 * time.Minute, InquiryInitialBackoff: 30 * time.Second, InquiryMaxBackoff: 30 * time.Minute,
		InquiryDeadline: 5 * day, NotFoundGrace: 30 * time.Minute, VerifySuccess: true, UnknownReviewAfter: day,
	}
}

func ekoInput(mod ...func(*workflows.Input)) workflows.Input {
	in := workflows.Input{
		Provider: txstate.ProviderEko, ClientRefID: "1700000000001", ProviderRef: "1700000000001",
		TxType: "cash_withdrawal", AgentUserCode: "20810200", Amount: "100", CreatedAt: t0, Policy: testPolicy(),
	}
	for _, m := range mod {
		m(&in)
	}
	return in
}

func partnerInput(mod ...func(*workflows.Input)) workflows.Input {
	in := ekoInput()
	in.Provider = txstate.PartnerPrefix + "acme"
	for _, m := range mod {
		m(&in)
	}
	return in
}

func noVerify(in *workflows.Input) { in.Policy.VerifySuccess = false }

func verifyFailure(in *workflows.Input) { in.Policy.VerifyFailure = true }

// step is a signal delivered at a time after the start.
type step struct {
	at      time.Duration
	outcome *workflows.Outcome
	resolve *workflows.Resolution
	// buffered delivers the signal without running the workflow, so that it is handled together
	// with the next step's (which must be at the same time).
	buffered bool
}

func ekoResp(at time.Duration, eventID, txStatus string) step {
	return step{at: at, outcome: &workflows.Outcome{EventID: eventID, Source: workflows.SourceEko, TxStatus: txStatus}}
}

func partnerCb(at time.Duration, eventID, outcome, status string) step {
	return step{at: at, outcome: &workflows.Outcome{EventID: eventID, Source: workflows.SourcePartner, PartnerOutcome: outcome, PartnerStatus: status}}
}

func resolveSig(at time.Duration, eventID string, state txstate.State) step {
	return step{at: at, resolve: &workflows.Resolution{EventID: eventID, State: state, Reason: "bank statement checked", By: "ops@example.com"}}
}

func buffered(s step) step { s.buffered = true; return s }

// inquiryFn answers the n-th inquiry (from 0), elapsed after the start.
type inquiryFn func(n int, elapsed time.Duration) (activities.InquiryResult, error)

// final is Eko's final answer for the Rs 100 of ekoInput, the amount as Eko writes it.
func final(txStatus string) activities.InquiryResult {
	return activities.InquiryResult{Class: activities.ClassFinal, TxStatus: txStatus, Amount: "100.0"}
}

var (
	pending         = activities.InquiryResult{Class: activities.ClassPending, TxStatus: "2"}
	reversalPending = activities.InquiryResult{Class: activities.ClassReversalPending, TxStatus: "3", Amount: "100.0"}
	notFound        = activities.InquiryResult{Class: activities.ClassNotFound}
)

// answers gives the scripted answers in order, repeating the last one.
func answers(rs ...activities.InquiryResult) inquiryFn {
	return func(n int, _ time.Duration) (activities.InquiryResult, error) {
		return rs[min(n, len(rs)-1)], nil
	}
}

// after answers before until the elapsed time reaches at, then then.
func after(at time.Duration, before, then activities.InquiryResult) inquiryFn {
	return func(_ int, elapsed time.Duration) (activities.InquiryResult, error) {
		if elapsed >= at {
			return then, nil
		}
		return before, nil
	}
}

func noInquiry(n int, _ time.Duration) (activities.InquiryResult, error) {
	return activities.InquiryResult{}, fmt.Errorf("unexpected inquiry %d", n)
}

type recorded struct {
	activities.Record
	At time.Duration // after the start
}

type runResult struct {
	records   []recorded      // up to the probe
	upserts   []txstate.State // TxState values upserted, up to the probe
	reasons   []string        // TxReason values upserted with them
	flags     int             // TxFlagged=true upserts
	txnIDs    []string        // TxProviderTxnID values upserted
	inquiries []time.Duration
	requests  []activities.InquiryRequest
	snap      workflows.Snapshot // queried at the end, or at the probe
	result    workflows.Snapshot // the workflow's result
	parked    bool               // still running at the probe
	err       error
}

// probeAt is when a workflow that is still running is queried and then resolved to end the test.
const probeAt = 30 * day

// runTx runs the workflow with time skipping, mocked activities and the given signals. A
// workflow still running at probeAt (parked in needs_review) is queried there and then ended
// by an operator's resolution; records and upserts are cut at the probe.
func runTx(t *testing.T, in workflows.Input, steps []step, inquire inquiryFn, recordTakes time.Duration) runResult {
	t.Helper()
	return runTxWith(t, worker.Options{}, in, steps, inquire, recordTakes)
}

// runTxWith is runTx on a worker with the given options.
func runTxWith(t *testing.T, opts worker.Options, in workflows.Input, steps []step, inquire inquiryFn, recordTakes time.Duration) runResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(opts)
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(in.Provider, in.ClientRefID)})
	env.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})

	var mu sync.Mutex
	var res runResult
	probed := false
	elapsed := func() time.Duration { return env.Now().Sub(t0) }
	env.OnActivity(acts.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if !probed {
			res.records = append(res.records, recorded{Record: r, At: elapsed()})
		}
		return nil
	}).After(recordTakes)
	env.OnActivity(acts.Inquire, mock.Anything, mock.Anything).Return(func(_ context.Context, req activities.InquiryRequest) (activities.InquiryResult, error) {
		mu.Lock()
		n, at := len(res.inquiries), elapsed()
		res.inquiries = append(res.inquiries, at)
		res.requests = append(res.requests, req)
		mu.Unlock()
		return inquire(n, at)
	}).Maybe()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		state, hasState := sa.GetKeyword(searchattr.Key.TxState)
		reason, hasReason := sa.GetKeyword(searchattr.Key.TxReason)
		flagged, hasFlag := sa.GetBool(searchattr.Key.TxFlagged)
		txnID, hasTxnID := sa.GetKeyword(searchattr.Key.TxProviderTxnID)
		switch {
		case hasState != hasReason:
			t.Errorf("upsert of TxState %q without TxReason, or TxReason %q without TxState", state, reason)
		case !hasState && !hasFlag:
			t.Errorf("upsert of %d attributes without TxState or TxFlagged", sa.Size())
		case hasFlag && !flagged:
			t.Error("upsert of TxFlagged=false: only a flag is upserted")
		case hasTxnID && txnID == "":
			t.Error("upsert of an empty TxProviderTxnID")
		}
		mu.Lock()
		defer mu.Unlock()
		if !probed {
			if hasState {
				res.upserts = append(res.upserts, txstate.State(state))
				res.reasons = append(res.reasons, reason)
			}
			if hasFlag {
				res.flags++
			}
			if hasTxnID {
				res.txnIDs = append(res.txnIDs, txnID)
			}
		}
	}).Return(nil)

	for _, s := range steps {
		env.RegisterDelayedCallback(func() {
			switch {
			case s.outcome != nil && s.buffered:
				env.SignalWorkflowSkippingWorkflowTask(workflows.SignalOutcome, *s.outcome)
			case s.outcome != nil:
				env.SignalWorkflow(workflows.SignalOutcome, *s.outcome)
			case s.buffered:
				env.SignalWorkflowSkippingWorkflowTask(workflows.SignalResolve, *s.resolve)
			default:
				env.SignalWorkflow(workflows.SignalResolve, *s.resolve)
			}
		}, s.at)
	}
	env.RegisterDelayedCallback(func() {
		res.snap = query(t, env)
		mu.Lock()
		probed, res.parked = true, true
		mu.Unlock()
		env.SignalWorkflow(workflows.SignalResolve, workflows.Resolution{EventID: "probe", State: txstate.Failed, Reason: "end of test", By: "test"})
	}, probeAt)

	env.ExecuteWorkflow(workflows.TransactionWorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	res.err = env.GetWorkflowError()
	if res.err == nil {
		if err := env.GetWorkflowResult(&res.result); err != nil {
			t.Fatalf("workflow result: %v", err)
		}
	}
	if !res.parked {
		res.snap = query(t, env)
		if res.err == nil && res.snap != res.result {
			t.Errorf("query state %+v differs from the result %+v", res.snap, res.result)
		}
	}
	env.AssertExpectations(t)
	return res
}

func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.Snapshot {
	t.Helper()
	v, err := env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", workflows.QueryState, err)
	}
	var s workflows.Snapshot
	if err := v.Get(&s); err != nil {
		t.Fatalf("decode %s: %v", workflows.QueryState, err)
	}
	return s
}

// transitions lists the states the workflow recorded, in order.
func (r runResult) transitions() []txstate.State {
	var out []txstate.State
	for _, rec := range r.records {
		if rec.To != "" {
			out = append(out, rec.To)
		}
	}
	return out
}

func (r runResult) transitionAt(state txstate.State) (time.Duration, bool) {
	for _, rec := range r.records {
		if rec.To == state {
			return rec.At, true
		}
	}
	return 0, false
}

func (r runResult) kinds(kind string) []recorded {
	var out []recorded
	for _, rec := range r.records {
		if rec.Kind == kind {
			out = append(out, rec)
		}
	}
	return out
}

// checkRecords asserts what every run must satisfy: each record has the workflow's ID and a
// unique idempotency key, each state change names the state it left and is upserted to TxState
// in the same order, and Final is set exactly on final states.
func checkRecords(t *testing.T, in workflows.Input, r runResult) {
	t.Helper()
	wid := workflows.WorkflowID(in.Provider, in.ClientRefID)
	keys := map[string]bool{}
	from := txstate.Pending
	for i, rec := range r.records {
		if rec.WorkflowID != wid {
			t.Errorf("record %d: workflow id %q, want %q", i, rec.WorkflowID, wid)
		}
		if rec.Key == "" || keys[rec.Key] {
			t.Errorf("record %d: key %q empty or repeated", i, rec.Key)
		}
		keys[rec.Key] = true
		if rec.To == "" {
			continue
		}
		if rec.From != from {
			t.Errorf("record %d (%s -> %s): from %q, want %q", i, rec.From, rec.To, rec.From, from)
		}
		from = rec.To
		isFinal := slices.Contains([]txstate.State{"success", "failed", "reversed", "expired"}, rec.To)
		if rec.Final != isFinal {
			t.Errorf("record %d to %s: Final %v", i, rec.To, rec.Final)
		}
	}
	var classes []string
	flags := 0
	for _, rec := range r.records {
		if rec.To != "" {
			classes = append(classes, workflows.ReasonClass(rec.Reason))
			if classes[len(classes)-1] == workflows.ReasonOther {
				t.Errorf("reason %q has no class", rec.Reason)
			}
		}
		if rec.Flag != "" {
			flags++
		}
	}
	// The workflow upserts once per workflow task, when it is about to wait: the TxState upserts
	// are transitions in order, each with the class of that transition's reason, ending with the
	// last one. A transition decided in the same task as the next one is never upserted.
	transitions := r.transitions()
	j := 0
	for i, state := range r.upserts {
		for j < len(transitions) && transitions[j] != state {
			j++
		}
		if j == len(transitions) {
			t.Errorf("TxState upserts %v are not transitions %v in order", r.upserts, transitions)
			break
		}
		if i < len(r.reasons) && r.reasons[i] != classes[j] {
			t.Errorf("TxReason upsert %d %q, want the class of its transition's reason %q", i, r.reasons[i], classes[j])
		}
		j++
	}
	if len(transitions) > 0 && (len(r.upserts) == 0 || r.upserts[len(r.upserts)-1] != transitions[len(transitions)-1]) {
		t.Errorf("TxState upserts %v do not end with the last transition %v", r.upserts, transitions)
	}
	if r.flags > flags || (r.flags > 0) != (flags > 0) {
		t.Errorf("%d TxFlagged upserts, want one per workflow task with a flagged record (%d flagged)", r.flags, flags)
	}
}

func TestTransactionPaths(t *testing.T) {
	tests := []struct {
		name    string
		in      workflows.Input
		steps   []step
		inquire inquiryFn
		// want* describe the state at the end (or at the probe for a parked transaction).
		wantTransitions []txstate.State
		wantState       txstate.State
		wantReason      []string // substrings
		wantInquiries   int      // -1: not checked
		wantSnap        func(t *testing.T, s workflows.Snapshot)
		check           func(t *testing.T, r runResult)
		recordTakes     time.Duration // workflow time each Record activity takes
	}{
		{
			name: "tx_status 0 without verification", in: ekoInput(noVerify),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success", wantReason: []string{"tx_status 0"},
		},
		{
			name: "tx_status 0 of a balance inquiry is not verified", in: ekoInput(func(in *workflows.Input) { in.TxType = "balance_inquiry" }),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success",
		},
		{
			name: "tx_status 0 verified by inquiry", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(final("0")),
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantReason: []string{"confirmed by Transaction Inquiry"},
			wantInquiries: 1,
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.ClaimedTxStatus != "0" || s.InquiryTxStatus != "0" || s.Outcomes != 1 {
					t.Errorf("snapshot %+v", s)
				}
			},
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("inquiry"); at != time.Minute {
					t.Errorf("inquiry started at %s, want on the eko-response at 1m", at)
				}
				want := activities.InquiryRequest{WorkflowID: "aeps/eko/1700000000001", ClientRefID: "1700000000001", UserCode: "20810200"}
				if r.requests[0] != want {
					t.Errorf("inquiry request %+v, want %+v", r.requests[0], want)
				}
				// Decided in the task the report woke (a local inquiry): the Web UI never sees
				// "inquiry", so it is never upserted.
				if !slices.Equal(r.upserts, []txstate.State{"success"}) {
					t.Errorf("TxState upserts %v, want only success", r.upserts)
				}
			},
		},
		{
			name: "tx_status 0 verified after pending answers", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(pending, pending, final("0")),
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantInquiries: 3,
			check: func(t *testing.T, r runResult) {
				// The first answer leaves it open: "inquiry" is upserted before the backoff.
				if !slices.Equal(r.upserts, []txstate.State{"inquiry", "success"}) {
					t.Errorf("TxState upserts %v, want inquiry then success", r.upserts)
				}
			},
		},
		{
			name: "a failed local inquiry hands over to the retried activity at once", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")},
			inquire: func(n int, _ time.Duration) (activities.InquiryResult, error) {
				if n == 0 {
					return activities.InquiryResult{}, errors.New("ekoapi: timeout, retryable")
				}
				return final("0"), nil
			},
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if !slices.Equal(r.inquiries, []time.Duration{time.Minute, time.Minute}) {
					t.Errorf("inquiries at %v, want the local try and the activity both at 1m", r.inquiries)
				}
			},
		},
		{
			name: "tx_status 1", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"failed"}, wantState: "failed", wantReason: []string{"tx_status 1"},
		},
		{
			name: "tx_status 1 verified by inquiry", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: answers(final("1")),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantReason: []string{"Transaction Inquiry reports tx_status 1"},
			wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if !strings.Contains(r.records[0].Reason, "eko-response reported tx_status 1; verifying") {
					t.Errorf("inquiry reason %q", r.records[0].Reason)
				}
			},
		},
		{
			name: "tx_status 1 but inquiry 0: needs_review", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: answers(pending, final("0")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"eko-response reported tx_status 1, but Transaction Inquiry reports 0"}, wantInquiries: 2,
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.ClaimedTxStatus != "1" || s.InquiryTxStatus != "0" {
					t.Errorf("snapshot %+v, want both versions kept", s)
				}
			},
		},
		{
			name: "tx_status 1 unknown to Eko past the grace: failed", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: answers(notFound),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantReason: []string{"does not know", "no money moved"},
			wantInquiries: -1,
		},
		{
			name: "tx_status 1 of a balance inquiry is not verified", in: ekoInput(verifyFailure, func(in *workflows.Input) { in.TxType = "balance_inquiry" }),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"failed"}, wantState: "failed",
		},
		{
			name: "tx_status 4 verified by inquiry", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "4")}, inquire: answers(final("4")),
			wantTransitions: []txstate.State{"inquiry", "reversed"}, wantState: "reversed", wantReason: []string{"refunded"}, wantInquiries: 1,
		},
		{
			name: "tx_status 3 then eko-response 4, verified by the next inquiry", in: ekoInput(verifyFailure),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3"), ekoResp(2*time.Hour, "eko_response:2", "4")},
			inquire:         after(3*time.Hour, reversalPending, final("4")),
			wantTransitions: []txstate.State{"reversal_pending", "reversed"}, wantState: "reversed", wantReason: []string{"Transaction Inquiry reports tx_status 4"},
			wantInquiries: -1,
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("reversed"); at < 3*time.Hour {
					t.Errorf("reversed at %s, before Eko's inquiry said so (3h)", at)
				}
			},
		},
		{
			name: "tx_status 2 then inquiry 0", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "2")}, inquire: answers(pending, final("0")),
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantInquiries: 2,
		},
		{
			name: "tx_status 2 then inquiry 1", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "2")}, inquire: answers(pending, pending, final("1")),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantReason: []string{"tx_status 1"}, wantInquiries: 3,
		},
		{
			name: "tx_status missing is inquired", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "")}, inquire: answers(final("1")),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if !strings.Contains(r.records[0].Reason, "missing") {
					t.Errorf("inquiry reason %q does not say tx_status was missing", r.records[0].Reason)
				}
			},
		},
		{
			name: "tx_status 3 then eko-response 4", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3"), ekoResp(2*time.Hour, "eko_response:2", "4")},
			inquire:         answers(reversalPending),
			wantTransitions: []txstate.State{"reversal_pending", "reversed"}, wantState: "reversed", wantInquiries: -1,
		},
		{
			name: "tx_status 3 then inquiry 4", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3")},
			inquire:         after(3*time.Hour, reversalPending, final("4")),
			wantTransitions: []txstate.State{"reversal_pending", "reversed"}, wantState: "reversed", wantReason: []string{"refunded"}, wantInquiries: -1,
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("reversed"); at < 3*time.Hour || at > 3*time.Hour+30*time.Minute {
					t.Errorf("reversed at %s, want within one max backoff of 3h", at)
				}
			},
		},
		{
			name: "suspicious tx_status 9", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "9")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"needs_review"}, wantState: "needs_review", wantReason: []string{`"9"`, "contact Eko"},
		},
		{
			name: "eko-responses disagree", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3"), ekoResp(2*time.Minute, "eko_response:2", "0")},
			inquire:         answers(reversalPending),
			wantTransitions: []txstate.State{"reversal_pending", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"eko-response reported tx_status 3, but an eko-response reports tx_status 0"}, wantInquiries: -1,
		},
		{
			name: "eko-response 0 after inquiry reported 3", in: ekoInput(noVerify),
			steps:           []step{ekoResp(20*time.Minute, "eko_response:1", "0")},
			inquire:         answers(reversalPending),
			wantTransitions: []txstate.State{"inquiry", "reversal_pending", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"Transaction Inquiry reported tx_status 3, but an eko-response reports tx_status 0"}, wantInquiries: -1,
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.ClaimedTxStatus != "0" || s.InquiryTxStatus != "3" {
					t.Errorf("snapshot %+v, want both versions kept", s)
				}
			},
		},
		{
			name: "no eko-response: inquiry after the response timeout", in: ekoInput(),
			inquire:         answers(pending, final("0")),
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantInquiries: 2,
			check: func(t *testing.T, r runResult) {
				if r.inquiries[0] != 5*time.Minute || r.inquiries[1] != 5*time.Minute+30*time.Second {
					t.Errorf("inquiries at %v, want 5m0s and 5m30s", r.inquiries)
				}
				if !strings.Contains(r.records[0].Reason, "no eko-response within 5m0s") {
					t.Errorf("inquiry reason %q", r.records[0].Reason)
				}
			},
		},
		{
			name: "ignored signals do not restart the response timeout", in: ekoInput(),
			steps:   []step{resolveSig(4*time.Minute, "resolution:1", "success")},
			inquire: answers(final("1")), wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if r.inquiries[0] != 5*time.Minute {
					t.Errorf("inquiry at %s, want 5m after the start", r.inquiries[0])
				}
			},
		},
		{
			name: "not found past the grace: expired", in: ekoInput(),
			inquire:         answers(notFound),
			wantTransitions: []txstate.State{"inquiry", "expired"}, wantState: "expired", wantReason: []string{"no money moved"}, wantInquiries: -1,
			check: func(t *testing.T, r runResult) {
				at, _ := r.transitionAt("expired")
				// Inquiries start at 5m; grace 30m; backoff 30s, 1m, 2m, 4m, 8m, 16m: the first
				// inquiry at or after 35m is at 5m+31m30s.
				if want := 5*time.Minute + 31*time.Minute + 30*time.Second; at != want {
					t.Errorf("expired at %s, want %s", at, want)
				}
			},
		},
		{
			name: "not found after a claimed success", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "0")},
			inquire:         answers(notFound),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"does not know", "tx_status 0"}, wantInquiries: -1,
		},
		{
			name: "not found after a reported refund pending", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3")},
			inquire:         answers(notFound),
			wantTransitions: []txstate.State{"reversal_pending", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"does not know"}, wantInquiries: -1,
		},
		{
			name: "not found after Eko had found it", in: ekoInput(),
			inquire:         answers(pending, notFound),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"does not know"}, wantInquiries: -1,
		},
		{
			name: "eko-response 0 but inquiry 1", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "0")},
			inquire:         answers(final("1")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"eko-response reported tx_status 0, but Transaction Inquiry reports 1 (final)"}, wantInquiries: 1,
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.ClaimedTxStatus != "0" || s.InquiryTxStatus != "1" {
					t.Errorf("snapshot keeps claimed %q and inquired %q, want 0 and 1", s.ClaimedTxStatus, s.InquiryTxStatus)
				}
			},
		},
		{
			name: "eko-response 3 but inquiry 0", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "3")},
			inquire:         answers(final("0")),
			wantTransitions: []txstate.State{"reversal_pending", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"eko-response reported tx_status 3, but Transaction Inquiry reports 0 (final)"}, wantInquiries: 1,
		},
		{
			name: "inquiry reports a suspicious status", in: ekoInput(),
			steps:           []step{ekoResp(time.Minute, "eko_response:1", "2")},
			inquire:         answers(activities.InquiryResult{Class: activities.ClassSuspicious, TxStatus: "7"}),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{`"7"`, "contact Eko"}, wantInquiries: 1,
		},
		{
			name: "non-retryable inquiry error", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "2")},
			inquire: func(int, time.Duration) (activities.InquiryResult, error) {
				return activities.InquiryResult{}, temporal.NewNonRetryableApplicationError("ekoapi: signature (HTTP 403)", activities.ErrTypeNonRetryable, nil)
			},
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"Transaction Inquiry failed", "signature"}, wantInquiries: 1,
		},
		{
			name: "transient inquiry errors are retried", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "2")},
			inquire: func(n int, _ time.Duration) (activities.InquiryResult, error) {
				if n < 3 {
					return activities.InquiryResult{}, errors.New("ekoapi: network, retryable")
				}
				return final("0"), nil
			},
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if len(r.inquiries) != 4 {
					t.Errorf("%d attempts, want 4", len(r.inquiries))
				}
			},
		},
		{
			name: "eko-response handled while the inquiry API is down", in: ekoInput(),
			// The test environment stops retrying after 10 attempts (at 47m35s here; a server
			// retries until the deadline), so the report comes at 20m, between two attempts.
			steps: []step{ekoResp(20*time.Minute, "eko_response:1", "1")},
			inquire: func(int, time.Duration) (activities.InquiryResult, error) {
				return activities.InquiryResult{}, errors.New("ekoapi: network, retryable")
			},
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: 0,
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("failed"); at != 20*time.Minute {
					t.Errorf("failed at %s, want on the eko-response at 20m", at)
				}
			},
		},
		{
			name: "inquiry max backoff below five seconds", in: ekoInput(func(in *workflows.Input) {
				in.Policy.InquiryInitialBackoff, in.Policy.InquiryMaxBackoff = 200*time.Millisecond, time.Second
			}),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "2")},
			inquire: func(n int, _ time.Duration) (activities.InquiryResult, error) {
				if n == 0 {
					return activities.InquiryResult{}, errors.New("ekoapi: network, retryable")
				}
				return final("1"), nil
			},
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: 1,
		},
		{
			name: "zero policy falls back to defaults", in: ekoInput(func(in *workflows.Input) { in.Policy = workflows.Policy{} }),
			inquire:         answers(pending, final("1")),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: 2,
			check: func(t *testing.T, r runResult) {
				if r.inquiries[0] != 5*time.Minute || r.inquiries[1] != 5*time.Minute+30*time.Second {
					t.Errorf("inquiries at %v, want the default 5m response timeout and 30s backoff", r.inquiries)
				}
			},
		},
		{
			name: "resolve in needs_review to success", in: ekoInput(),
			steps:   []step{ekoResp(time.Minute, "eko_response:1", "9"), resolveSig(time.Hour, "resolution:1", "success")},
			inquire: noInquiry, wantTransitions: []txstate.State{"needs_review", "success"}, wantState: "success",
			wantReason: []string{"resolved by ops@example.com", "bank statement checked"},
			check: func(t *testing.T, r runResult) {
				last := r.records[len(r.records)-1]
				if last.Kind != "resolved" || last.Detail["by"] != "ops@example.com" || last.Detail["reason"] != "bank statement checked" {
					t.Errorf("resolution record %+v", last)
				}
			},
		},
		{
			name: "resolve in needs_review to failed", in: ekoInput(),
			steps:   []step{ekoResp(time.Minute, "eko_response:1", "9"), resolveSig(time.Hour, "resolution:1", "failed")},
			inquire: noInquiry, wantTransitions: []txstate.State{"needs_review", "failed"}, wantState: "failed",
			wantReason: []string{"resolved by ops@example.com"},
		},
		{
			name: "resolve outside needs_review is ignored", in: ekoInput(),
			steps: []step{
				resolveSig(time.Minute, "resolution:1", "success"),
				ekoResp(2*time.Minute, "eko_response:1", "2"),
				resolveSig(3*time.Minute, "resolution:2", "failed"),
			},
			inquire: after(10*time.Minute, pending, final("1")), wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed", wantInquiries: -1,
			check: func(t *testing.T, r runResult) {
				// The ignored resolution at 3m neither cuts the backoff short nor restarts it.
				want := []time.Duration{2 * time.Minute, 2*time.Minute + 30*time.Second, 3*time.Minute + 30*time.Second,
					5*time.Minute + 30*time.Second, 9*time.Minute + 30*time.Second, 17*time.Minute + 30*time.Second}
				if !slices.Equal(r.inquiries, want) {
					t.Errorf("inquiries at %v, want %v", r.inquiries, want)
				}
				ignored := r.kinds("resolve_ignored")
				if len(ignored) != 2 || ignored[0].To != "" || !strings.Contains(ignored[0].Reason, "ignored in state pending") ||
					!strings.Contains(ignored[1].Reason, "ignored in state inquiry") || ignored[0].Detail["by"] != "ops@example.com" {
					t.Errorf("resolve_ignored records %+v", ignored)
				}
			},
		},
		{
			name: "resolve to an invalid state is ignored", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "9"), resolveSig(time.Hour, "resolution:1", "reversed"),
				resolveSig(2*time.Hour, "resolution:2", "failed")},
			inquire: noInquiry, wantTransitions: []txstate.State{"needs_review", "failed"}, wantState: "failed",
			check: func(t *testing.T, r runResult) {
				if len(r.kinds("resolve_ignored")) != 1 {
					t.Errorf("records %+v, want one resolve_ignored", r.records)
				}
			},
		},
		{
			name: "repeated event ids are handled once", in: ekoInput(),
			steps: []step{
				ekoResp(time.Minute, "eko_response:1", "2"),
				ekoResp(2*time.Minute, "eko_response:1", "2"),
				ekoResp(3*time.Minute, "eko_response:2", "9"),
				ekoResp(4*time.Minute, "eko_response:2", "9"),
				buffered(resolveSig(time.Hour, "resolution:1", "success")),
				resolveSig(time.Hour, "resolution:1", "success"),
			},
			inquire: answers(pending), wantTransitions: []txstate.State{"inquiry", "needs_review", "success"}, wantState: "success", wantInquiries: -1,
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.Outcomes != 2 {
					t.Errorf("Outcomes %d, want 2", s.Outcomes)
				}
			},
			check: func(t *testing.T, r runResult) {
				if n := len(r.kinds("resolved")); n != 1 || len(r.kinds("resolve_ignored")) != 0 {
					t.Errorf("records %+v", r.records)
				}
			},
		},
		{
			name: "late reports after the final state are recorded", in: ekoInput(),
			steps: []step{
				buffered(ekoResp(time.Minute, "eko_response:1", "1")),
				buffered(ekoResp(time.Minute, "eko_response:1", "1")), // a repeat: not recorded again
				buffered(ekoResp(time.Minute, "eko_response:2", "1")),
				buffered(resolveSig(time.Minute, "resolution:1", "success")),
				ekoResp(time.Minute, "eko_response:3", "0"),
			},
			inquire: noInquiry, wantTransitions: []txstate.State{"failed"}, wantState: "failed",
			check: func(t *testing.T, r runResult) {
				late := r.kinds("late_outcome")
				if len(late) != 2 {
					t.Fatalf("late_outcome records %+v, want 2", late)
				}
				if late[0].Detail["event_id"] != "eko_response:2" || late[0].Flag != "" {
					t.Errorf("agreeing late report %+v should be recorded without a flag", late[0])
				}
				if late[1].Detail["event_id"] != "eko_response:3" || !strings.Contains(late[1].Flag, "contradicts final state failed") {
					t.Errorf("contradicting late report %+v should flag", late[1])
				}
				if ig := r.kinds("resolve_ignored"); len(ig) != 1 || !strings.Contains(ig[0].Reason, "ignored in state failed") {
					t.Errorf("late resolution %+v should be recorded as ignored", ig)
				}
			},
		},
		{
			name: "reports arriving while late reports are recorded are recorded too", in: ekoInput(),
			recordTakes: time.Second,
			steps: []step{
				buffered(resolveSig(time.Minute, "resolution:1", "success")),
				ekoResp(time.Minute, "eko_response:1", "1"), // failed, recorded from 1m to 1m1s
				// The late resolution is recorded from 1m1s to 1m2s; this comes meanwhile.
				ekoResp(time.Minute+1500*time.Millisecond, "eko_response:2", "0"),
			},
			inquire: noInquiry, wantTransitions: []txstate.State{"failed"}, wantState: "failed",
			wantSnap: func(t *testing.T, s workflows.Snapshot) {
				if s.Outcomes != 2 {
					t.Errorf("Outcomes %d, want 2", s.Outcomes)
				}
			},
			check: func(t *testing.T, r runResult) {
				if len(r.kinds("resolve_ignored")) != 1 {
					t.Errorf("records %+v, want the late resolution recorded", r.records)
				}
				if late := r.kinds("late_outcome"); len(late) != 1 || late[0].Flag == "" {
					t.Errorf("late_outcome records %+v, want eko_response:2 recorded and flagged", late)
				}
			},
		},
		{
			name: "late partner report contradicting the final state", in: partnerInput(),
			steps: []step{
				buffered(partnerCb(time.Minute, "partner:1", "success", "0")),
				partnerCb(time.Minute, "partner:2", "failed", "1"),
			},
			inquire: noInquiry, wantTransitions: []txstate.State{"success"}, wantState: "success",
			check: func(t *testing.T, r runResult) {
				if late := r.kinds("late_outcome"); len(late) != 1 || !strings.Contains(late[0].Flag, "contradicts final state success") ||
					late[0].Detail["partner_outcome"] != "failed" {
					t.Errorf("late_outcome records %+v", late)
				}
			},
		},
		{
			name: "inquiry failing until the deadline", in: ekoInput(func(in *workflows.Input) { in.Policy.InquiryDeadline = 30 * time.Minute }),
			inquire: func(int, time.Duration) (activities.InquiryResult, error) {
				return activities.InquiryResult{}, errors.New("ekoapi: network, retryable")
			},
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{"ekoapi: network"}, wantInquiries: 1,
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("needs_review"); at > 30*time.Minute {
					t.Errorf("needs_review at %s, after the 30m deadline", at)
				}
			},
		},
		{
			// What the Activities return for an Eko error reply (e.g. user not onboarded): unlike
			// not found it says nothing about the transaction, so it must never expire it.
			name: "Eko error replies are retried until the deadline, never expired", in: ekoInput(func(in *workflows.Input) {
				in.Policy.InquiryDeadline, in.Policy.NotFoundGrace = 30*time.Minute, time.Minute
			}),
			inquire: func(int, time.Duration) (activities.InquiryResult, error) {
				return activities.InquiryResult{}, errors.New("inquire 1700000000001: ekoapi: inquire 1700000000001: eko_error (HTTP 200), retryable: " +
					"Eko answered with an error, not a transaction state (eko status 1, response_status_id 1237)")
			},
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{"eko_error", "response_status_id 1237"},
			wantInquiries: 1,
		},
		{
			name: "zero CreatedAt: deadline from the start", in: ekoInput(func(in *workflows.Input) {
				in.CreatedAt, in.Policy.InquiryDeadline = time.Time{}, time.Hour
			}),
			inquire: answers(pending), wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantInquiries: -1,
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("needs_review"); at != time.Hour {
					t.Errorf("needs_review at %s, want 1h after the start", at)
				}
			},
		},
		{
			name: "partner success", in: partnerInput(),
			steps: []step{partnerCb(0, "partner:1", "success", "0")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success", wantReason: []string{"partner status 0"},
		},
		{
			name: "partner failed", in: partnerInput(),
			steps: []step{partnerCb(0, "partner:1", "failed", "1")}, inquire: noInquiry,
			wantTransitions: []txstate.State{"failed"}, wantState: "failed",
		},
		{
			name: "partner unknown then success", in: partnerInput(),
			steps:   []step{partnerCb(0, "partner:1", "unknown", "7"), partnerCb(time.Hour, "partner:2", "success", "0")},
			inquire: noInquiry, wantTransitions: []txstate.State{"unknown", "success"}, wantState: "success",
		},
		{
			name: "partner unknown: needs_review after the window", in: partnerInput(),
			steps: []step{
				partnerCb(time.Minute, "partner:1", "unknown", "7"),
				partnerCb(time.Hour, "partner:2", "unknown", "7"), // does not extend the window
				partnerCb(20*time.Hour, "partner:3", "unknown", "8"),
			},
			inquire: noInquiry, wantTransitions: []txstate.State{"unknown", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"still unknown after 24h0m0s"},
			check: func(t *testing.T, r runResult) {
				if at, _ := r.transitionAt("needs_review"); at != day+time.Minute {
					t.Errorf("needs_review at %s, want 24h after the first unknown report", at)
				}
			},
		},
		{
			name: "no partner callback", in: partnerInput(), inquire: noInquiry,
			wantTransitions: []txstate.State{"needs_review"}, wantState: "needs_review", wantReason: []string{"no partner callback"},
		},
		{
			name: "partner reports in needs_review are recorded", in: partnerInput(),
			steps: []step{
				partnerCb(time.Hour, "partner:1", "success", "0"),
				partnerCb(2*time.Hour, "partner:1", "success", "0"), // a repeat: not recorded again
				partnerCb(3*time.Hour, "partner:2", "unknown", "7"),
			},
			inquire: noInquiry, wantTransitions: []txstate.State{"needs_review"}, wantState: "needs_review", wantReason: []string{"no partner callback"},
			check: func(t *testing.T, r runResult) {
				got := r.kinds("outcome_in_review")
				if len(got) != 2 || got[0].To != "" || got[0].At != time.Hour || got[0].Detail["event_id"] != "partner:1" ||
					got[0].Detail["partner_outcome"] != "success" || got[0].Detail["partner_status"] != "0" || got[1].Detail["event_id"] != "partner:2" {
					t.Errorf("outcome_in_review records %+v, want partner:1 and partner:2 recorded without a state change", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runTx(t, tc.in, tc.steps, tc.inquire, tc.recordTakes)
			if r.err != nil {
				t.Fatalf("workflow failed: %v", r.err)
			}
			checkRecords(t, tc.in, r)
			if got := r.transitions(); !slices.Equal(got, tc.wantTransitions) {
				t.Errorf("transitions %v, want %v (records %+v)", got, tc.wantTransitions, r.records)
			}
			if r.snap.State != tc.wantState {
				t.Errorf("state %q (%s), want %q", r.snap.State, r.snap.Reason, tc.wantState)
			}
			for _, s := range tc.wantReason {
				if !strings.Contains(r.snap.Reason, s) {
					t.Errorf("reason %q lacks %q", r.snap.Reason, s)
				}
			}
			wantInq := tc.wantInquiries
			if wantInq >= 0 && r.snap.Inquiries != wantInq {
				t.Errorf("%d inquiries (%v), want %d", r.snap.Inquiries, r.inquiries, wantInq)
			}
			if tc.wantSnap != nil {
				tc.wantSnap(t, r.snap)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestInquiryDeadline keeps Eko answering "pending" for days: the workflow must inquire on the
// backoff schedule (30s doubling to 30m) and park in needs_review at CreatedAt + 5 days.
func TestInquiryDeadline(t *testing.T) {
	in := ekoInput()
	r := runTx(t, in, []step{ekoResp(time.Minute, "eko_response:1", "2")}, answers(pending), 0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkRecords(t, in, r)
	if got := r.transitions(); !slices.Equal(got, []txstate.State{"inquiry", "needs_review"}) {
		t.Fatalf("transitions %v", got)
	}
	at, _ := r.transitionAt("needs_review")
	if at != in.Policy.InquiryDeadline {
		t.Errorf("needs_review at %s after creation, want exactly the %s deadline", at, in.Policy.InquiryDeadline)
	}
	if !r.parked || r.snap.State != "needs_review" || !strings.Contains(r.snap.Reason, "no final status from Eko within 120h0m0s") {
		t.Errorf("snapshot %+v", r.snap)
	}
	// The schedule: first inquiry on the eko-response, then gaps of 30s, 1m, 2m ... 16m, 30m, 30m ...
	var want []time.Duration
	gap := in.Policy.InquiryInitialBackoff
	for next := time.Minute; next < in.Policy.InquiryDeadline; next += gap {
		want = append(want, next)
		if len(want) > 1 {
			gap = min(gap*2, in.Policy.InquiryMaxBackoff)
		}
	}
	if len(r.inquiries) != len(want) || r.snap.Inquiries != len(want) {
		t.Fatalf("%d inquiries (snapshot %d), want %d", len(r.inquiries), r.snap.Inquiries, len(want))
	}
	for i := range want {
		if r.inquiries[i] != want[i] {
			t.Fatalf("inquiry %d at %s, want %s (schedule %v...)", i, r.inquiries[i], want[i], r.inquiries[:min(10, len(r.inquiries))])
		}
	}
	t.Logf("%d inquiries, last at %s, needs_review at %s", len(want), want[len(want)-1], at)
}

// TestLateReportFlags runs each final state with each late eko-response: a late report is
// flagged exactly when it is of the other money class (0 against 1, 3, 4) than the final state,
// the same rule the workflow applies to reports while the transaction is open.
func TestLateReportFlags(t *testing.T) {
	// Each reaches its final state at 1m; Record takes 1s, so a report at 1m0.5s is late.
	finals := []struct {
		state   txstate.State
		in      workflows.Input
		steps   []step
		inquire inquiryFn
	}{
		{"success", ekoInput(noVerify), []step{ekoResp(time.Minute, "eko_response:1", "0")}, noInquiry},
		{"failed", ekoInput(), []step{ekoResp(time.Minute, "eko_response:1", "1")}, noInquiry},
		{"reversed", ekoInput(), []step{ekoResp(time.Minute, "eko_response:1", "4")}, noInquiry},
		// Inquiry at 1m - 1s (response timeout), inquiry recorded by 1m, not found past the 1ns grace.
		{"expired", ekoInput(func(in *workflows.Input) {
			in.Policy.ResponseTimeout, in.Policy.NotFoundGrace = time.Minute-time.Second, time.Nanosecond
		}), nil, answers(notFound)},
	}
	flagged := map[txstate.State]map[string]bool{
		"success":  {"0": false, "1": true, "2": false, "3": true, "4": true, "5": false},
		"failed":   {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false},
		"reversed": {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false},
		"expired":  {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false},
	}
	for _, f := range finals {
		for _, tx := range []string{"0", "1", "2", "3", "4", "5"} {
			t.Run(string(f.state)+"/late "+tx, func(t *testing.T) {
				steps := append(slices.Clone(f.steps), ekoResp(time.Minute+500*time.Millisecond, "eko_response:late", tx))
				r := runTx(t, f.in, steps, f.inquire, time.Second)
				if r.err != nil || r.snap.State != f.state {
					t.Fatalf("state %s (%s), err %v; want %s", r.snap.State, r.snap.Reason, r.err, f.state)
				}
				late := r.kinds("late_outcome")
				if len(late) != 1 || late[0].Detail["tx_status"] != tx {
					t.Fatalf("late_outcome records %+v, want the late report", late)
				}
				want := flagged[f.state][tx]
				if (late[0].Flag != "") != want {
					t.Errorf("late tx_status %s after %s: flag %q, want flagged %v", tx, f.state, late[0].Flag, want)
				}
				if want != workflows.ContradictsFinal(f.state, workflows.Outcome{Source: workflows.SourceEko, TxStatus: tx}) {
					t.Errorf("ContradictsFinal disagrees with the recorded flag")
				}
			})
		}
	}
}

// TestPreferVersions: WORKFLOW_LIGHT=false (the first step of a rolling deploy) keeps new
// workflows on operator-view 2, where each state is upserted in its own workflow task and the
// verifying inquiry is a retried activity; the default takes the light workflow. Both reach the
// same states and records.
func TestPreferVersions(t *testing.T) {
	tests := []struct {
		light       bool
		wantUpserts []txstate.State
	}{
		{light: false, wantUpserts: []txstate.State{"inquiry", "success"}},
		{light: true, wantUpserts: []txstate.State{"success"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("light=%v", tc.light), func(t *testing.T) {
			in := ekoInput()
			r := runTxWith(t, worker.Options{PreferredVersionProvider: workflows.PreferVersions(tc.light)}, in,
				[]step{ekoResp(time.Minute, "eko_response:1", "0")}, answers(final("0")), 0)
			if r.err != nil || r.snap.State != txstate.Success {
				t.Fatalf("state %s, error %v", r.snap.State, r.err)
			}
			checkRecords(t, in, r)
			if !slices.Equal(r.transitions(), []txstate.State{"inquiry", "success"}) {
				t.Errorf("transitions %v", r.transitions())
			}
			if !slices.Equal(r.upserts, tc.wantUpserts) {
				t.Errorf("TxState upserts %v, want %v", r.upserts, tc.wantUpserts)
			}
		})
	}
}
