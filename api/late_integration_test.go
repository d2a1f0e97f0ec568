package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
)

// runRelay runs an outbox relay until the returned stop function is called; stop waits for it.
func runRelay(a *apptest.App) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	relay := app.NewRelay(a.Config, a.Store, a.Temporal, a.Logger, nil)
	go func() {
		defer close(done)
		_ = relay.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// TestLateOutcomeAfterWorkflowClosed: an eko-response recorded while PostgreSQL still showed the
// transaction open, but delivered after its workflow closed, is not lost: the relay records it as
// a late outcome and, since it contradicts the final state, flags the transaction.
func TestLateOutcomeAfterWorkflowClosed(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoRelay: true, Env: map[string]string{"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100")
	ctx := context.Background()

	stop := runRelay(a)
	if status, r := post(t, a, ekoResponse(t, ref, "0", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("first eko-response: %d %+v", status, r)
	}
	if snap := workflowResult(t, a, wfID); snap.State != "success" {
		t.Fatalf("workflow ended %+v", snap)
	}
	a.WaitTxState(t, "", ref, "success")
	stop()

	// Recreate the race: the second report is recorded while the row still says pending...
	if _, err := a.Store.DB().ExecContext(ctx, `UPDATE transactions SET state = 'pending', final_at = NULL WHERE client_ref_id = $1`, ref); err != nil {
		t.Fatal(err)
	}
	if status, r := post(t, a, ekoResponse(t, ref, "1", nil)); status != http.StatusOK || r.Outcome != "recorded" {
		t.Fatalf("second eko-response: %d %+v", status, r)
	}
	// ...and delivered once the workflow has written its final state and closed.
	if _, err := a.Store.DB().ExecContext(ctx, `UPDATE transactions SET state = 'success', final_at = now() WHERE client_ref_id = $1`, ref); err != nil {
		t.Fatal(err)
	}
	stop = runRelay(a)
	defer stop()
	waitFor(t, 30*time.Second, "the late signal delivered", func() (bool, error) {
		return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND delivered_at IS NULL`, wfID) == 0, nil
	})
	var note string
	if err := a.Store.DB().GetContext(ctx, &note, `SELECT delivery_note FROM outbox WHERE workflow_id = $1 AND kind = 'signal' ORDER BY id DESC LIMIT 1`, wfID); err != nil {
		t.Fatal(err)
	}
	// The signal was not acted on: set aside as not delivered, and the transaction flagged.
	if !strings.HasPrefix(note, "not delivered: no running workflow") {
		t.Errorf("delivery note %q", note)
	}
	tx := mustTx(t, a, ref)
	if !tx.Flagged || !strings.Contains(tx.FlagReason, "contradicts final state success") || tx.State != "success" ||
		!strings.Contains(tx.FlagReason, "no running workflow") {
		t.Errorf("transaction %+v: want it flagged, still success", tx)
	}
	if got := a.QueryInt(t, `SELECT count(*) FROM tx_events WHERE transaction_id = $1 AND kind = 'late_outcome' AND detail->>'tx_status' = '1'`, tx.ID); got != 1 {
		t.Errorf("%d late_outcome events, want 1", got)
	}
	// The closed workflow was not started again.
	if snap := workflowResult(t, a, wfID); snap.State != "success" || snap.Outcomes != 1 {
		t.Errorf("workflow now %+v", snap)
	}
}
