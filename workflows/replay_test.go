package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/workflows"
)

// historyFiles lists the recorded histories, one directory per workflow version
// (scripts/record-histories.sh writes them from real runs on a Temporal dev server); none is a
// failure, not a skip.
func historyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("testdata/histories has no *.json histories: run scripts/record-histories.sh")
	}
	return files
}

func discardLogger() tlog.Logger { return tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

func replay(fn any, file string) error {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: workflows.TransactionWorkflowName})
	return r.ReplayWorkflowHistoryFromJSONFile(discardLogger(), file)
}

// TestReplayHistories replays every recorded history against the current workflow code: a
// change that would break running workflows fails here.
func TestReplayHistories(t *testing.T) {
	for _, f := range historyFiles(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			checkRecorded(t, f)
			if err := replay(workflows.Transaction, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// checkRecorded makes sure the file is a Transaction workflow's history from a run of the real
// system (apptest's task queues are "aepsflow-test-<digits>").
func checkRecorded(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := (temporalproto.CustomJSONUnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &h); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	evs := h.GetEvents()
	if len(evs) < 3 || evs[0].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		t.Fatalf("%s does not start with WorkflowExecutionStarted", file)
	}
	started := evs[0].GetWorkflowExecutionStartedEventAttributes()
	if started.GetWorkflowType().GetName() != workflows.TransactionWorkflowName ||
		!strings.HasPrefix(started.GetTaskQueue().GetName(), "aepsflow-test-") {
		t.Errorf("%s: workflow type %q on task queue %q, want a recorded %s run", file,
			started.GetWorkflowType().GetName(), started.GetTaskQueue().GetName(), workflows.TransactionWorkflowName)
	}
}

// recordFirst is the Transaction workflow with an extra Record activity before anything else.
func recordFirst(ctx workflow.Context, in workflows.Input) (workflows.Snapshot, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(actx, acts.Record, activities.Record{Kind: "started"}).Get(ctx, nil); err != nil {
		return workflows.Snapshot{}, err
	}
	return workflows.Transaction(ctx, in)
}

// inquireThenRecord runs the workflow's two activities in another order than it does.
func inquireThenRecord(ctx workflow.Context, in workflows.Input) (workflows.Snapshot, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var res activities.InquiryResult
	if err := workflow.ExecuteActivity(actx, acts.Inquire, activities.InquiryRequest{ClientRefID: in.ClientRefID}).Get(ctx, &res); err != nil {
		return workflows.Snapshot{}, err
	}
	err := workflow.ExecuteActivity(actx, acts.Record, activities.Record{Kind: "state_changed", To: "success"}).Get(ctx, nil)
	return workflows.Snapshot{State: "success"}, err
}

// TestReplayDetectsNonDeterminism proves the replay test has teeth: altered copies of the
// workflow, registered under its name, must be rejected on every recorded history.
func TestReplayDetectsNonDeterminism(t *testing.T) {
	altered := map[string]any{"record_first": recordFirst, "inquire_then_record": inquireThenRecord}
	for _, f := range historyFiles(t) {
		for name, fn := range altered {
			t.Run(strings.TrimSuffix(filepath.Base(f), ".json")+"/"+name, func(t *testing.T) {
				err := replay(fn, f)
				if err == nil {
					t.Fatalf("replaying %s against %s succeeded; want a non-determinism error", f, name)
				}
				// TMPRL1100 is the SDK's code for non-determinism; some mismatches (an activity
				// where the history has another's completion) are worded without the word.
				if !strings.Contains(err.Error(), "nondeterministic") && !strings.Contains(err.Error(), "TMPRL1100") {
					t.Errorf("replay error %q does not report non-determinism", err)
				}
			})
		}
	}
}
