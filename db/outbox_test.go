package db_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/db"
)

// TestClaimOutboxKeepsWorkflowOrder: an entry is never handed out while an earlier entry of its
// workflow is undelivered, be it held by another relay or waiting for its retry; other
// workflows' entries go on meanwhile.
func TestClaimOutboxKeepsWorkflowOrder(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, e := range []struct{ wf, key string }{{"wf-a", "a1"}, {"wf-a", "a2"}, {"wf-b", "b1"}, {"wf-a", "a3"}, {"wf-b", "b2"}} {
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO outbox (kind, workflow_id, payload, dedupe_key)
			VALUES ('signal', $1, '{}', $2)`, e.wf, e.key); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[int64]string{}
	rows, err := s.DB().QueryxContext(ctx, `SELECT id, dedupe_key FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		keys[id] = k
	}
	rows.Close()

	// claim runs one batch; fail lists the entries whose delivery fails (retry in an hour).
	claim := func(fail ...string) []string {
		t.Helper()
		var got []string
		if _, err := s.ClaimOutbox(ctx, 10, func(es []db.PendingEntry) []db.Delivery {
			var ds []db.Delivery
			for _, e := range es {
				got = append(got, keys[e.ID])
				d := db.Delivery{ID: e.ID}
				if slices.Contains(fail, keys[e.ID]) {
					d.Err, d.Retry = errors.New("temporal unavailable"), time.Hour
				}
				ds = append(ds, d)
			}
			return ds
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	steps := []struct {
		name string
		fail []string
		want []string
	}{
		{"one entry per workflow, the earliest", []string{"a1"}, []string{"a1", "b1"}},
		{"a1 waits for its retry: a2 and a3 wait behind it, b2 goes", nil, []string{"b2"}},
		{"nothing left that may go", nil, nil},
	}
	for _, st := range steps {
		if got := claim(st.fail...); !slices.Equal(got, st.want) {
			t.Fatalf("%s: claimed %v, want %v", st.name, got, st.want)
		}
	}
	// a1's retry comes due: then a2, then a3, one at a time.
	if _, err := s.DB().ExecContext(ctx, `UPDATE outbox SET available_at = now() WHERE dedupe_key = 'a1'`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a1", "a2", "a3"} {
		if got := claim(); !slices.Equal(got, []string{want}) {
			t.Fatalf("after the retry came due: claimed %v, want [%s]", got, want)
		}
	}
}
