package api_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestTemporalOutage: with Temporal down, debit-hooks are still confirmed at once and
// eko-responses recorded; when it returns, every transaction reaches its workflow exactly once
// and ends where its eko-response says.
func TestTemporalOutage(t *testing.T) {
	t.Parallel()
	ds := testenv.StartDevServer(t, filepath.Join(t.TempDir(), "t.db"))
	a := apptest.Start(t, apptest.Options{TemporalAddress: ds.Address(), Env: map[string]string{"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false"}})
	a.RegisterAgent(agentCode, nil, nil)

	// One transaction before the outage proves the system works against this server.
	before, beforeWF := apptest.Ref(t), ""
	beforeWF = workflows.WorkflowID("eko", before)
	if status, r := post(t, a, cashHook(before, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook before the outage: %d %+v", status, r)
	}
	workflowStatus(t, a, beforeWF)

	ds.Stop()

	const n = 5
	refs := make([]string, n)
	for i := range refs {
		refs[i] = apptest.Ref(t)
		h := cashHook(refs[i], agentCode, "100")
		start := time.Now()
		status, r := post(t, a, h.body(t))
		took := time.Since(start)
		if status != http.StatusOK {
			t.Fatalf("debit-hook %d during the outage: %d %+v", i, status, r)
		}
		checkSigned(t, r, h, start)
		if took > 2*time.Second {
			t.Errorf("debit-hook %d took %s with Temporal down", i, took)
		}
	}
	for i, ref := range append([]string{before}, refs...) {
		start := time.Now()
		status, r := post(t, a, ekoResponse(t, ref, "0", nil))
		if status != http.StatusOK || r.Status != "ok" || r.Outcome != "recorded" {
			t.Fatalf("eko-response %d during the outage: %d %+v", i, status, r)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("eko-response %d took %s with Temporal down", i, took)
		}
	}
	// Each start waits behind the outage until its eko-response supersedes it (the report's
	// SignalWithStart starts the workflow), unless a relay was trying to deliver that start right
	// then (its row locked): a report each, a signal for the earlier one, and 0 to n starts.
	if got := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`); got < n+1 || got > 2*n+1 {
		t.Errorf("%d undelivered outbox entries during the outage, want %d reports and up to %d starts", got, n+1, n)
	}

	ds.Start()

	waitFor(t, 60*time.Second, "the outbox to drain", func() (bool, error) {
		return a.QueryInt(t, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`) == 0, nil
	})
	for _, ref := range append([]string{before}, refs...) {
		wfID := workflows.WorkflowID("eko", ref)
		snap := workflowResult(t, a, wfID)
		if snap.State != "success" || snap.Outcomes != 1 {
			t.Errorf("%s: workflow ended %+v, want success after exactly one outcome", ref, snap)
		}
		if got := signalsReceived(t, a, wfID); got != 1 {
			t.Errorf("%s: %d signals in the history, want 1", ref, got)
		}
		a.WaitTxState(t, "", ref, "success")
		if got := a.QueryInt(t, `SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.client_ref_id = $1 AND e.kind = 'state_changed' AND e.to_state = 'success'`, ref); got != 1 {
			t.Errorf("%s: %d success transitions recorded, want 1", ref, got)
		}
	}
}
