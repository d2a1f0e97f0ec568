package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// inquiry is Eko's answer of class and txStatus for amount, with its references.
func inquiry(class, txStatus, amount string) activities.InquiryResult {
	return activities.InquiryResult{Class: class, TxStatus: txStatus, Amount: amount, TID: "2881234567", BankRefNum: "230612077853"}
}

// partnerAmount is a partner report of txnAmount amount.
func partnerAmount(at time.Duration, eventID, outcome, status, amount string) step {
	s := partnerCb(at, eventID, outcome, status)
	s.outcome.Amount = amount
	return s
}

// TestReportedAmount: a success or refund that Eko's inquiry reports for a cash withdrawal counts
// only for the amount we allowed (compared as decimals); any other amount, or none, parks the
// transaction in needs_review with both amounts in the reason. A partner's later report is held
// to its first report's amount the same way.
func TestReportedAmount(t *testing.T) {
	tests := []struct {
		name            string
		in              workflows.Input
		steps           []step
		inquire         inquiryFn
		wantTransitions []txstate.State
		wantState       txstate.State
		wantReason      []string
	}{
		{
			name: "success for the allowed amount", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(inquiry(activities.ClassFinal, "0", "100.00")),
			wantTransitions: []txstate.State{"inquiry", "success"}, wantState: "success", wantReason: []string{"confirmed by Transaction Inquiry"},
		},
		{
			name: "success for another amount", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(inquiry(activities.ClassFinal, "0", "10000.0")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review",
			wantReason: []string{`"10000.0"`, `allowed for "100"`, "tx_status 0"},
		},
		{
			name: "success a paisa off", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(inquiry(activities.ClassFinal, "0", "100.01")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{`"100.01"`, `"100"`},
		},
		{
			name: "success without an amount", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(inquiry(activities.ClassFinal, "0", "")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{"no amount", `"100"`},
		},
		{
			name: "success with an amount that is not a number", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "0")}, inquire: answers(inquiry(activities.ClassFinal, "0", "1e2x")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{`"1e2x"`},
		},
		{
			name: "no eko-response, inquiry success for another amount", in: ekoInput(),
			inquire:         answers(pending, inquiry(activities.ClassFinal, "0", "5000")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{`"5000"`, `"100"`},
		},
		{
			name: "refund for another amount", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "4")}, inquire: answers(inquiry(activities.ClassFinal, "4", "200")),
			wantTransitions: []txstate.State{"inquiry", "needs_review"}, wantState: "needs_review", wantReason: []string{"tx_status 4", `"200"`},
		},
		{
			name: "refund pending for another amount", in: ekoInput(),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "3")}, inquire: answers(inquiry(activities.ClassReversalPending, "3", "150")),
			wantTransitions: []txstate.State{"reversal_pending", "needs_review"}, wantState: "needs_review", wantReason: []string{"tx_status 3", `"150"`},
		},
		{
			name: "failure is not compared", in: ekoInput(verifyFailure),
			steps: []step{ekoResp(time.Minute, "eko_response:1", "1")}, inquire: answers(inquiry(activities.ClassFinal, "1", "")),
			wantTransitions: []txstate.State{"inquiry", "failed"}, wantState: "failed",
		},
		{
			name: "partner report for the first amount", in: partnerInput(func(in *workflows.Input) { in.Amount = "2000" }),
			steps:           []step{partnerAmount(time.Minute, "partner:1", "success", "0", "2000.00")},
			inquire:         noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success",
		},
		{
			name: "partner report for another amount", in: partnerInput(func(in *workflows.Input) { in.Amount = "2000" }),
			steps: []step{
				partnerAmount(time.Minute, "partner:1", "unknown", "7", "2000"),
				partnerAmount(time.Hour, "partner:2", "success", "0", "9000"),
			},
			inquire:         noInquiry,
			wantTransitions: []txstate.State{"unknown", "needs_review"}, wantState: "needs_review",
			wantReason: []string{"partner:2", `txnAmount "9000"`, `earlier report gave "2000"`},
		},
		{
			name: "partner balance enquiry: empty and zero are the same", in: partnerInput(func(in *workflows.Input) { in.Amount, in.TxType = "", "balance_inquiry" }),
			steps:           []step{partnerAmount(time.Minute, "partner:1", "success", "0", "0")},
			inquire:         noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success",
		},
		{
			name: "partner signal from before the comparison carries no amount", in: partnerInput(func(in *workflows.Input) { in.Amount = "2000" }),
			steps:           []step{partnerCb(time.Minute, "partner:1", "success", "0")},
			inquire:         noInquiry,
			wantTransitions: []txstate.State{"success"}, wantState: "success",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runTx(t, tc.in, tc.steps, tc.inquire, 0)
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
		})
	}
}

// TestInquiryReferences: Eko's tid and bank reference number from the inquiry are kept in the
// workflow's state, for reconciliation.
func TestInquiryReferences(t *testing.T) {
	r := runTx(t, ekoInput(), []step{ekoResp(time.Minute, "eko_response:1", "0")},
		answers(pending, inquiry(activities.ClassFinal, "0", "100")), 0)
	if r.err != nil || r.snap.State != "success" {
		t.Fatalf("state %+v, err %v", r.snap, r.err)
	}
	if r.snap.EkoTID != "2881234567" || r.snap.BankRefNum != "230612077853" {
		t.Errorf("snapshot %+v, want Eko's tid and bank_ref_num", r.snap)
	}
}

// TestPartnerAmountInReview: a partner report for another amount that arrives in needs_review
// is recorded for the operator, with both amounts.
func TestPartnerAmountInReview(t *testing.T) {
	in := partnerInput(func(in *workflows.Input) { in.Amount = "2000" })
	r := runTx(t, in, []step{partnerAmount(day+time.Hour, "partner:1", "success", "0", "2500")}, noInquiry, 0)
	if r.err != nil || r.snap.State != "needs_review" {
		t.Fatalf("state %+v, err %v", r.snap, r.err)
	}
	got := r.kinds("outcome_in_review")
	if len(got) != 1 || !strings.Contains(got[0].Reason, `"2500"`) || !strings.Contains(got[0].Reason, `"2000"`) {
		t.Errorf("outcome_in_review records %+v, want the report with both amounts", got)
	}
}
