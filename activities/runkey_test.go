package activities

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// TestRunKey: the key an activity records under carries its run's ID, so that a reset run (same
// record sequence, same activity IDs) writes its own records instead of skipping them as retries.
func TestRunKey(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(func(ctx context.Context, key string) (string, error) {
		return runKey(ctx, key) + "|" + activity.GetInfo(ctx).WorkflowExecution.RunID, nil
	}, activity.RegisterOptions{Name: "key"})
	v, err := env.ExecuteActivity("key", "wf:3")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := v.Get(&got); err != nil {
		t.Fatal(err)
	}
	key, runID, _ := strings.Cut(got, "|")
	if runID == "" || key != runID+"/wf:3" {
		t.Fatalf("runKey = %q (run %q), want the run ID, a slash, then the workflow's key", key, runID)
	}
}
