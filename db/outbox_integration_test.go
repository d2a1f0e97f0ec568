package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/testenv"
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

// TestClaimOutboxSettling: a dead entry (one that can never be delivered as stored) is set
// aside, flags its transaction and no longer holds back its workflow; a failed one waits its
// whole backoff counted from when the batch ended, however long the batch took.
func TestClaimOutboxSettling(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ref := allowedTransaction(t, s, newAgent(t, s))
	wf := "aeps/eko/" + ref // its start entry is queued; add a signal behind it
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO outbox (kind, workflow_id, signal_name, payload, dedupe_key)
		VALUES ('signal', $1, 'outcome', '{}', 'sig-' || $1)`, wf); err != nil {
		t.Fatal(err)
	}
	batch := func(deliver func(db.PendingEntry) db.Delivery) (kinds []string, settled int) {
		t.Helper()
		settled, err := s.ClaimOutbox(ctx, 10, func(es []db.PendingEntry) []db.Delivery {
			var ds []db.Delivery
			for _, e := range es {
				kinds = append(kinds, e.Kind)
				d := deliver(e)
				d.ID, d.WorkflowID = e.ID, e.WorkflowID
				ds = append(ds, d)
			}
			return ds
		})
		if err != nil {
			t.Fatal(err)
		}
		return kinds, settled
	}

	// The start is undeliverable: set aside, the signal behind it goes next.
	kinds, settled := batch(func(db.PendingEntry) db.Delivery {
		return db.Delivery{Err: errors.New("bad outbox entry: payload"), Dead: true}
	})
	if !slices.Equal(kinds, []string{"start"}) || settled != 1 {
		t.Fatalf("first batch: %v, settled %d", kinds, settled)
	}
	var flagged bool
	var reason string
	if err := s.DB().QueryRowxContext(ctx, `SELECT flagged, flag_reason FROM transactions WHERE workflow_id = $1`, wf).Scan(&flagged, &reason); err != nil {
		t.Fatal(err)
	}
	if !flagged || !strings.Contains(reason, "could not be delivered") {
		t.Fatalf("transaction flagged %v (%q), want flagged for the dead entry", flagged, reason)
	}

	// The signal fails after a batch that took longer than its backoff: still not due after it.
	kinds, settled = batch(func(db.PendingEntry) db.Delivery {
		time.Sleep(1200 * time.Millisecond) // a slow Temporal call, inside the batch's transaction
		return db.Delivery{Err: errors.New("temporal unavailable"), Retry: time.Second}
	})
	if !slices.Equal(kinds, []string{"signal"}) || settled != 0 {
		t.Fatalf("second batch: %v, settled %d", kinds, settled)
	}
	if kinds, _ := batch(func(db.PendingEntry) db.Delivery { return db.Delivery{} }); len(kinds) != 0 {
		t.Fatalf("the failed signal was due again right after its batch: %v", kinds)
	}
}

// TestStartSupersededBySignalWithStart: a deferred start is not handed out before its time; a
// report queued meanwhile (delivered with SignalWithStart, which starts the workflow) settles it
// without a call, so the workflow is started once, by the report. A start the relay is
// delivering at that moment is left alone and goes first.
func TestStartSupersededBySignalWithStart(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	queue := func(e db.OutboxEntry) {
		t.Helper()
		if e.Payload == nil {
			e.Payload = []byte(`{}`)
		}
		if err := db.Queue(ctx, s, e); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() []string {
		t.Helper()
		var got []string
		if _, err := s.ClaimOutbox(ctx, 10, func(es []db.PendingEntry) []db.Delivery {
			var ds []db.Delivery
			for _, e := range es {
				got = append(got, e.WorkflowID+"/"+e.Kind)
				ds = append(ds, db.Delivery{ID: e.ID})
			}
			return ds
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	note := func(key string) (delivered bool, note string) {
		t.Helper()
		var n *string
		if err := s.DB().QueryRowxContext(ctx, `SELECT delivered_at IS NOT NULL, delivery_note FROM outbox WHERE dedupe_key = $1`, key).Scan(&delivered, &n); err != nil {
			t.Fatal(err)
		}
		if n != nil {
			note = *n
		}
		return delivered, note
	}

	queue(db.OutboxEntry{Kind: "start", WorkflowID: "wf-s", DedupeKey: "start:wf-s", Defer: time.Hour})
	if got := claim(); got != nil {
		t.Fatalf("claimed %v while the start is deferred", got)
	}
	queue(db.OutboxEntry{Kind: "signal", WorkflowID: "wf-s", SignalName: "outcome", DedupeKey: "r1", StartsWorkflow: true})
	if delivered, n := note("start:wf-s"); !delivered || !strings.Contains(n, "superseded") {
		t.Fatalf("deferred start: delivered %v, note %q; want superseded by the report", delivered, n)
	}
	if got := claim(); !slices.Equal(got, []string{"wf-s/signal"}) {
		t.Fatalf("claimed %v, want only the report", got)
	}

	// A start held by a relay (its row locked while it calls Temporal) is not superseded.
	queue(db.OutboxEntry{Kind: "start", WorkflowID: "wf-l", DedupeKey: "start:wf-l"})
	relay, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relay.ExecContext(ctx, `SELECT id FROM outbox WHERE dedupe_key = 'start:wf-l' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	queue(db.OutboxEntry{Kind: "signal", WorkflowID: "wf-l", SignalName: "outcome", DedupeKey: "r2", StartsWorkflow: true})
	if err := relay.Rollback(); err != nil {
		t.Fatal(err)
	}
	if delivered, n := note("start:wf-l"); delivered {
		t.Fatalf("a start being delivered was settled (%q)", n)
	}
	for _, want := range []string{"wf-l/start", "wf-l/signal"} {
		if got := claim(); !slices.Equal(got, []string{want}) {
			t.Fatalf("claimed %v, want [%s]: the start, then the report", got, want)
		}
	}

	// A resolution is a plain signal: it supersedes nothing.
	queue(db.OutboxEntry{Kind: "start", WorkflowID: "wf-r", DedupeKey: "start:wf-r", Defer: time.Hour})
	queue(db.OutboxEntry{Kind: "signal", WorkflowID: "wf-r", SignalName: "resolve", DedupeKey: "res1"})
	if delivered, _ := note("start:wf-r"); delivered {
		t.Fatal("a plain signal settled the start")
	}
}

// TestOutboxNotifiesOnlyWhatIsDue: the insert trigger wakes the relays for entries they can
// deliver now; a deferred start (one per allowed debit-hook) and an insert that conflicted
// wake nobody, since every relay would run a claim that finds nothing.
func TestOutboxNotifiesOnlyWhatIsDue(t *testing.T) {
	url := testenv.Postgres(t)
	s := openStoreAt(t, url)
	ctx := context.Background()
	l := pq.NewListener(url, 100*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { l.Close() })
	if err := l.Listen(outbox.Channel); err != nil {
		t.Fatal(err)
	}
	// wakeUps counts the outbox's notifications before a marker sent after the inserts:
	// PostgreSQL delivers notifications in commit order.
	marker := 0
	wakeUps := func() int {
		t.Helper()
		marker++
		mark := strconv.Itoa(marker)
		if _, err := s.DB().ExecContext(ctx, `SELECT pg_notify($1, $2)`, outbox.Channel, mark); err != nil {
			t.Fatal(err)
		}
		n := 0
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-l.Notify:
				if ev == nil { // the listener reconnected: notifications may have been lost
					t.Fatal("listener connection lost")
				}
				if ev.Extra == mark {
					return n
				}
				n++
			case <-deadline:
				t.Fatalf("marker %s not received within 10 s", mark)
			}
		}
	}
	queue := func(e db.OutboxEntry) func() {
		return func() {
			t.Helper()
			e.Payload = []byte(`{}`)
			if err := db.Queue(ctx, s, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An allowed debit-hook queues its start in the statement that records it (a CTE).
	agent := newAgent(t, s)
	deferring := intents.New(config.Config{OutboxStartDefer: time.Hour, Lifecycle: config.Lifecycle{EkoResponseTimeout: 4 * time.Hour}}, nil)
	allow := func(to db.Intents) func() {
		return func() {
			t.Helper()
			ref := fmt.Sprint(time.Now().UnixNano() % 1e13)
			if d, err := s.DecideDebitHook(ctx, to, debitHook(ref, agent, false)); err != nil || !d.Allow {
				t.Fatalf("debit-hook: %+v %v", d, err)
			}
		}
	}
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"deferred start", queue(db.OutboxEntry{Kind: "start", WorkflowID: "wf-n", DedupeKey: "start:wf-n", Defer: time.Hour}), 0},
		{"report superseding it", queue(db.OutboxEntry{Kind: "signal", WorkflowID: "wf-n", SignalName: "outcome", DedupeKey: "n1", StartsWorkflow: true}), 1},
		{"the same report again (conflict)", queue(db.OutboxEntry{Kind: "signal", WorkflowID: "wf-n", SignalName: "outcome", DedupeKey: "n1", StartsWorkflow: true}), 0},
		{"start due now", queue(db.OutboxEntry{Kind: "start", WorkflowID: "wf-m", DedupeKey: "start:wf-m"}), 1},
		{"allowed debit-hook, start deferred", allow(deferring), 0},
		{"allowed debit-hook, start at once", allow(handoff), 1},
	}
	for _, st := range steps {
		st.do()
		if got := wakeUps(); got != st.want {
			t.Errorf("%s: %d wake-ups, want %d", st.name, got, st.want)
		}
	}
}
