package db_test

import (
	"context"
	"testing"

	"github.com/aepsflow/aepsflow/db"
)

// TestApplyChange: a retried record (same key) changes nothing, whatever it says the second time;
// a reason that PostgreSQL text cannot hold is stored with U+FFFD rather than failing forever.
func TestApplyChange(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ref := allowedTransaction(t, s, newAgent(t, s))
	wf := "aeps/eko/" + ref
	type row struct {
		State  string `db:"state"`
		Reason string `db:"state_reason"`
		Final  bool   `db:"final"`
		Events int    `db:"events"`
	}
	read := func() row {
		t.Helper()
		var r row
		if err := s.DB().GetContext(ctx, &r, `SELECT state, state_reason, final_at IS NOT NULL AS final,
			(SELECT count(*) FROM tx_events e WHERE e.transaction_id = t.id) AS events
			FROM transactions t WHERE workflow_id = $1`, wf); err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name   string
		change db.Change
		want   row
	}{
		{"first record", db.Change{Key: "wf:1", Kind: "state_changed", From: "pending", To: "inquiry", Reason: "tx_status 2"},
			row{State: "inquiry", Reason: "tx_status 2", Events: 2}},
		{"retried with the same key, other content", db.Change{Key: "wf:1", Kind: "state_changed", From: "pending", To: "failed", Reason: "x", Final: true},
			row{State: "inquiry", Reason: "tx_status 2", Events: 2}},
		{"next record, reason with NUL and invalid UTF-8", db.Change{Key: "wf:2", Kind: "state_changed", From: "inquiry", To: "success", Reason: "ok\x00\xff", Final: true},
			row{State: "success", Reason: "ok\uFFFD\uFFFD", Final: true, Events: 3}},
		{"next record retried", db.Change{Key: "wf:2", Kind: "state_changed", From: "inquiry", To: "success", Reason: "ok", Final: true},
			row{State: "success", Reason: "ok\uFFFD\uFFFD", Final: true, Events: 3}},
	}
	for _, st := range steps {
		st.change.WorkflowID = wf
		if err := s.ApplyChange(ctx, st.change); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := read(); got != st.want {
			t.Fatalf("%s: got %+v, want %+v", st.name, got, st.want)
		}
	}
}
