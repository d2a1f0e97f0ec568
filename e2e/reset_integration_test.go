package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/testenv"
)

// TestResetRunReachesPostgreSQL: an operator resets a finished transaction's workflow in the Web
// UI (here through the same API) and the new run decides differently. Its records number from
// the same sequence as the old run's; they must still reach PostgreSQL, not be taken for retries
// of the old run's records and skipped, which would leave the read API showing the old outcome.
func TestResetRunReachesPostgreSQL(t *testing.T) {
	t.Parallel()
	s := start(t, "v3")
	ref := apptest.Ref(t)
	s.script(t, ref, "1")
	s.debitHook(t, ref)
	s.ekoResponse(t, ref, "2")
	v := s.waitState(t, ref, "failed")

	// Eko now answers success; reset to the end of the first workflow task, before the
	// eko-response, which the reset run receives again (signals are reapplied).
	s.script(t, ref, "0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wid := v.Workflow.WorkflowID
	var firstTask int64
	iter := s.app.Temporal.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() && firstTask == 0 {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = ev.GetEventId()
		}
	}
	if firstTask == 0 {
		t.Fatal("no completed workflow task in the history")
	}
	resp, err := s.app.Temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 s.app.Config.TemporalNamespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wid},
		Reason:                    "test: Eko corrected its answer",
		WorkflowTaskFinishEventId: firstTask,
		RequestId:                 fmt.Sprintf("reset-%s", ref),
	})
	if err != nil {
		t.Fatalf("reset %s: %v", wid, err)
	}

	// The old run's "failed" stays visible until the new run's records arrive.
	var got txView
	testenv.WaitFor(t, waitTimeout, "the reset run's success in PostgreSQL (run "+resp.GetRunId()+")", func() (bool, error) {
		if got, err = s.read(t, ref); err != nil {
			return false, err
		}
		return got.State == "success", fmt.Errorf("state %s (%s): the new run's records did not reach PostgreSQL", got.State, got.StateReason)
	})
	if got.Workflow.State.State != "success" {
		t.Fatalf("workflow view %+v, want success", got.Workflow.State)
	}
	if !got.hasEvent("state_changed", "success") || !got.hasEvent("state_changed", "failed") {
		t.Fatalf("history must keep the old run's failed and add the new run's success: %s", got.raw)
	}
}
