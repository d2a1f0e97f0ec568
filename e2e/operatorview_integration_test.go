package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestOperatorView: what the Temporal Web UI shows an operator, read back from the server as the
// UI reads it: the summary and details fixed at the start (DescribeWorkflowExecution), the
// current details (the __temporal_workflow_metadata query), the named timers and activities of
// the timeline (the history's user metadata), and the search attributes the saved views filter
// on (a visibility query).
func TestOperatorView(t *testing.T) {
	t.Parallel()
	const publicURL = "https://aepsflow.example.com"
	// A response timeout far longer than the test: the workflow's first task must wait for the
	// eko-response only (the relay's start delay), not for the timeout.
	s := start(t, "v3", map[string]string{"PUBLIC_API_URL": publicURL, "EKO_RESPONSE_TIMEOUT": "5m"})
	ctx := context.Background()
	ref := apptest.Ref(t)
	wid := workflows.WorkflowID(txstate.ProviderEko, ref)
	s.script(t, ref, "2x1,0")
	s.debitHook(t, ref)
	// The relay's start first (with its start delay): an eko-response before it would supersede
	// it, and the report's SignalWithStart would start the workflow at once.
	testenv.WaitFor(t, waitTimeout, "the workflow started by the relay", func() (bool, error) {
		_, err := s.app.Temporal.DescribeWorkflowExecution(ctx, wid, "")
		return err == nil, err
	})
	s.ekoResponse(t, ref, "2")
	s.waitState(t, ref, "success")
	query := fmt.Sprintf(`ClientRefID=%q AND TxState="success" AND TxReason=%q AND TxAmount >= 100 AND TxAmount < 100.01 AND TxFlagged=false`,
		ref, workflows.ReasonInquiryFinal)
	testenv.WaitFor(t, waitTimeout, "visibility query "+query, func() (bool, error) {
		resp, err := s.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.app.Config.TemporalNamespace, Query: query})
		return err == nil && len(resp.GetExecutions()) == 1, err
	})

	d, err := s.app.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		t.Fatal(err)
	}
	md := d.GetExecutionConfig().GetUserMetadata()
	if got, want := text(t, md.GetSummary()), "Cash withdrawal Rs 100 · agent "+agent+" · eko"; got != want {
		t.Errorf("static summary %q, want %q", got, want)
	}
	mustContain(t, "static details", text(t, md.GetDetails()), "- **Reference:** `"+ref+"`", "- **Customer:** `XXXXXX9999`",
		"- **Amount:** Rs `100`", "("+publicURL+"/v1/transactions/"+ref+")")
	if sa := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields(); text(t, sa["TxProviderTxnID"]) == "" {
		t.Errorf("TxProviderTxnID not set: %v", sa)
	}

	v, err := s.app.Temporal.QueryWorkflow(ctx, wid, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "current details", meta.GetCurrentDetails(), "**State:** `success`",
		"- **Reason:** confirmed by Transaction Inquiry (tx_status 0)", "- **Last inquiry:** #2 `final` (tx_status `0`)",
		"- **Last report:** eko-response tx_status `2`")

	// The timeline: every timer, activity and recorded state change is named. The first workflow
	// task ran only once the eko-response came (start delay of the response timeout, ended by the
	// relay's SignalWithStart), so there is no response timer.
	var names []string
	firstTask, signalled := int64(0), int64(0)
	it := s.app.Temporal.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if d := ev.GetWorkflowExecutionStartedEventAttributes().GetFirstWorkflowTaskBackoff().AsDuration(); d < 4*time.Minute || d > 5*time.Minute {
				t.Errorf("first workflow task backoff %s, want the response timeout (5m)", d)
			}
			continue
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if signalled == 0 {
				signalled = ev.GetEventId()
			}
			continue
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			if firstTask == 0 {
				firstTask = ev.GetEventId()
			}
			continue
		case enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() != "LocalActivity" {
				continue
			}
		default:
			continue
		}
		name := text(t, ev.GetUserMetadata().GetSummary())
		if name == "" {
			t.Errorf("event %d (%s) has no summary", ev.GetEventId(), ev.GetEventType())
		}
		names = append(names, name)
	}
	if signalled == 0 || firstTask < signalled {
		t.Errorf("first workflow task (event %d) before the eko-response's signal (event %d)", firstTask, signalled)
	}
	want := []string{"record: pending → inquiry", "inquiry 1 of ≤ ", "inquiry backoff 200ms",
		"inquiry 2 of ≤ ", "record: inquiry → success"}
	for _, w := range want {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, w) }) {
			t.Errorf("timeline lacks %q: %q", w, names)
		}
	}
}

// text decodes a payload holding a string ("" for none).
func text(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	return s
}
