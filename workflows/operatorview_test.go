package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// look is a check of the current details at a time after the start.
type look struct {
	at      time.Duration
	want    []string // substrings of the current details
	notWant []string
}

// currentDetails asks the workflow for the metadata the Web UI shows (the SDK's built-in
// __temporal_workflow_metadata query) and returns its current details.
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("query workflow metadata: %v", err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatalf("decode workflow metadata: %v", err)
	}
	return md.GetCurrentDetails()
}

// TestCurrentDetails: at each state the workflow's current details say what it is, why, what was
// reported and inquired last, when the next inquiry and the deadline are, and for needs_review the
// exact commands that resolve it.
func TestCurrentDetails(t *testing.T) {
	const created = "2025-03-01 10:00:00 UTC"
	base := func(in *workflows.Input) { in.APIURL = "http://127.0.0.1:8080"; in.Customer = "XXXXXX9999" }
	cases := []struct {
		name    string
		in      workflows.Input
		steps   []step
		inquire inquiryFn
		looks   []look
	}{
		{
			name: "pending, inquiry, success", in: ekoInput(base),
			steps:   []step{withTxnID(ekoResp(time.Minute, "e1", "2"), "14563687")},
			inquire: answers(pending, final("0")),
			looks: []look{
				{at: 30 * time.Second, want: []string{"**State:** `pending` since " + created,
					"- **Last report:** none yet\n", "- **Last inquiry:** none yet\n",
					"- **Report expected by:** 2025-03-01 10:05:00 UTC (then inquiry starts)\n",
					"- **Deadline:** 2025-03-06 10:00:00 UTC (no final status by then: needs_review)\n"},
					notWant: []string{"Reason", "Next inquiry", "To resolve"}},
				{at: 90 * time.Second, want: []string{"**State:** `inquiry` since 2025-03-01 10:01:00 UTC",
					"- **Reason:** eko-response tx_status 2: inquiring\n",
					"- **Last report:** eko-response tx_status `2` at 2025-03-01 10:01:00 UTC\n",
					"- **Last inquiry:** #1 `pending` (tx_status `2`) at 2025-03-01 10:01:00 UTC\n",
					"- **Next inquiry:** 2025-03-01 10:01:30 UTC\n",
					"- **Provider's transaction ID:** `14563687`\n", "- **Deadline:** 2025-03-06"},
					notWant: []string{"Report expected by", "To resolve"}},
				{at: 10 * time.Minute, want: []string{"**State:** `success` since 2025-03-01 10:01:30 UTC",
					"- **Reason:** confirmed by Transaction Inquiry (tx_status 0)\n",
					"- **Last inquiry:** #2 `final` (tx_status `0`) at 2025-03-01 10:01:30 UTC\n"},
					notWant: []string{"Next inquiry", "Deadline", "To resolve"}},
			},
		},
		{
			name: "needs_review names the commands that resolve it", in: ekoInput(base),
			steps: []step{ekoResp(time.Minute, "e1", "7")},
			looks: []look{{at: time.Hour, want: []string{"**State:** `needs_review` since 2025-03-01 10:01:00 UTC",
				"- **Reason:** suspicious tx_status \"7\": contact Eko\n",
				"**To resolve**", "aepsflow resolve --api http://127.0.0.1:8080 \\\n  --client-ref-id 1700000000001 \\\n  --state success|failed",
				"curl -X POST http://127.0.0.1:8080/v1/transactions/1700000000001/resolve \\\n  -H \"Authorization: Bearer $AEPSFLOW_TOKEN\""},
				notWant: []string{"Deadline", "Next inquiry", "--provider"}}},
		},
		{
			name: "failed inquiry in needs_review", in: ekoInput(base),
			steps: []step{ekoResp(time.Minute, "e1", "0")},
			inquire: func(int, time.Duration) (activities.InquiryResult, error) {
				return activities.InquiryResult{}, permanent("ekoapi: inquire R1: signature (HTTP 403)")
			},
			looks: []look{{at: time.Hour, want: []string{"**State:** `needs_review`",
				"- **Last inquiry:** #1 failed at 2025-03-01 10:01:00 UTC: ekoapi: inquire R1: signature (HTTP 403)",
				"aepsflow resolve --api http://127.0.0.1:8080 \\\n  --client-ref-id 1700000000001"}}},
		},
		{
			name: "reversal pending, then reversed", in: ekoInput(base),
			steps:   []step{ekoResp(time.Minute, "e1", "3")},
			inquire: answers(reversalPending, final("4")),
			looks: []look{
				{at: 70 * time.Second, want: []string{"**State:** `reversal_pending` since 2025-03-01 10:01:00 UTC",
					"- **Reason:** eko-response tx_status 3 (refund pending)\n", "- **Last inquiry:** #1 `reversal_pending` (tx_status `3`)",
					"- **Next inquiry:** 2025-03-01 10:01:30 UTC\n", "- **Deadline:**"}},
				{at: time.Hour, want: []string{"**State:** `reversed`", "Transaction Inquiry reports tx_status 4 (refunded)"},
					notWant: []string{"Next inquiry", "Deadline", "To resolve"}},
			},
		},
		{
			name: "no report, unknown to Eko: expired", in: ekoInput(base),
			inquire: answers(notFound),
			looks: []look{
				{at: 6 * time.Minute, want: []string{"**State:** `inquiry` since 2025-03-01 10:05:00 UTC",
					"- **Reason:** no eko-response within 5m0s\n", "- **Last report:** none yet\n", "- **Last inquiry:** #2 `not_found` (tx_status `missing`) at 2025-03-01 10:05:30 UTC\n",
					"- **Next inquiry:** 2025-03-01 10:06:30 UTC\n"}},
				{at: 2 * time.Hour, want: []string{"**State:** `expired`", "Eko does not know this transaction after 30m0s: no money moved"},
					notWant: []string{"Next inquiry", "To resolve"}},
			},
		},
		{
			name: "partner: unknown, then the review window", in: partnerInput(),
			steps: []step{withTxnID(partnerCb(time.Minute, "p1", "unknown", "DEBIT TIMEOUT"), "88001")},
			looks: []look{
				{at: 2 * time.Minute, want: []string{"**State:** `unknown`",
					"- **Last report:** partner status `DEBIT TIMEOUT` (unknown) at 2025-03-01 10:01:00 UTC\n",
					"- **Provider's transaction ID:** `88001`\n"},
					notWant: []string{"Last inquiry", "Deadline"}},
				{at: 2 * day, want: []string{"**State:** `needs_review`", "partner status still unknown after 24h0m0s",
					"aepsflow resolve \\\n  --client-ref-id 1700000000001 --provider partner:acme \\\n", "$API_URL/v1/transactions/1700000000001/resolve?provider=partner%3Aacme"}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(t0)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(c.in.Provider, c.in.ClientRefID)})
			env.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
			env.OnActivity(acts.Record, mock.Anything, mock.Anything).Return(nil)
			n := 0
			inquire := c.inquire
			if inquire == nil {
				inquire = noInquiry
			}
			env.OnActivity(acts.Inquire, mock.Anything, mock.Anything).Return(func(context.Context, activities.InquiryRequest) (activities.InquiryResult, error) {
				n++
				return inquire(n-1, env.Now().Sub(t0))
			}).Maybe()
			env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
			for _, st := range c.steps {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalOutcome, *st.outcome) }, st.at)
			}
			for _, l := range c.looks {
				env.RegisterDelayedCallback(func() {
					got := currentDetails(t, env)
					for _, w := range l.want {
						if !strings.Contains(got, w) {
							t.Errorf("at %s the current details lack %q:\n%s", l.at, w, got)
						}
					}
					for _, w := range l.notWant {
						if strings.Contains(got, w) {
							t.Errorf("at %s the current details hold %q:\n%s", l.at, w, got)
						}
					}
				}, l.at)
			}
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(workflows.SignalResolve, workflows.Resolution{EventID: "end", State: txstate.Failed, Reason: "end of test", By: "test"})
			}, probeAt)
			env.ExecuteWorkflow(workflows.TransactionWorkflowName, c.in)
			if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
				t.Fatalf("workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
			}
		})
	}
}

func withTxnID(s step, id string) step {
	o := *s.outcome
	o.ProviderTxnID = id
	s.outcome = &o
	return s
}

func permanent(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrTypeNonRetryable, nil)
}

// TestResponseTimeoutFromCreation: the relay holds a workflow's first task back until the
// response timeout is over (operator-view 2), so the workflow counts the timeout from the
// transaction's creation, not from its first task: started 3 minutes late, it inquires 2 minutes
// later, at creation + 5 minutes.
func TestResponseTimeoutFromCreation(t *testing.T) {
	for _, late := range []time.Duration{0, 3 * time.Minute, 7 * time.Minute} {
		t.Run(late.String(), func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(t0.Add(late))
			env.RegisterWorkflowWithOptions(workflows.Transaction, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
			env.OnActivity(acts.Record, mock.Anything, mock.Anything).Return(nil)
			env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
			var at time.Duration
			env.OnActivity(acts.Inquire, mock.Anything, mock.Anything).Return(func(context.Context, activities.InquiryRequest) (activities.InquiryResult, error) {
				at = env.Now().Sub(t0)
				return final("0"), nil
			}).Once()
			env.ExecuteWorkflow(workflows.TransactionWorkflowName, ekoInput())
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if want := max(late, 5*time.Minute); at != want {
				t.Errorf("first inquiry %s after creation, want %s", at, want)
			}
		})
	}
}

func TestStartDelay(t *testing.T) {
	in := ekoInput()
	for _, c := range []struct {
		now  time.Duration
		want time.Duration
	}{{0, 5 * time.Minute}, {time.Minute, 4 * time.Minute}, {5 * time.Minute, 0}, {time.Hour, 0}} {
		if got := in.StartDelay(t0.Add(c.now)); got != c.want {
			t.Errorf("StartDelay %s after creation = %s, want %s", c.now, got, c.want)
		}
	}
	if got := (workflows.Input{}).StartDelay(t0); got != 0 {
		t.Errorf("StartDelay without CreatedAt = %s", got)
	}
	in.Policy.ResponseTimeout = 0 // the default, 5m
	if got := in.StartDelay(t0); got != workflows.DefaultResponseTimeout {
		t.Errorf("StartDelay with the default timeout = %s", got)
	}
}
