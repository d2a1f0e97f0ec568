package retention_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/metrics"
	"github.com/aepsflow/aepsflow/retention"
	"github.com/aepsflow/aepsflow/testenv"
)

type fixture struct {
	t     *testing.T
	s     *db.Store
	agent string
	n     int
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.s.DB().Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.s.DB().Get(&n, q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func inbound(ref, action string) db.Inbound {
	return db.Inbound{Source: "eko", Method: "POST", Path: "/eko/aeps/callback", RemoteAddr: "test", Body: []byte("{}"),
		Action: action, Reference: ref, HTTPStatus: 200}
}

// handoff is the hand-off to workflows the API uses; these tests deliver nothing.
var handoff db.Intents = intents.New(config.Config{}, nil)

// transaction records a debit-hook (raw request, transaction, outbox start) and an eko-response
// (raw request, eko_responses row, outbox signal); final closes it.
func (f *fixture) transaction(final bool) string {
	f.t.Helper()
	f.n++
	ctx := context.Background()
	ref := fmt.Sprintf("%d%02d", time.Now().UnixNano()%1e11, f.n)
	wf := "aeps/eko/" + ref
	d, err := f.s.DecideDebitHook(ctx, handoff, db.DebitHook{
		Inbound: inbound(ref, "debit-hook"), Provider: "eko", ProviderRef: ref, TxType: "cash_withdrawal", CashWithdrawal: true,
		AgentUserCode: f.agent, CustomerMobile: "9999999999", BankCode: "PUNB",
		Amount: decimal.NullDecimal{Decimal: decimal.RequireFromString("100"), Valid: true}, AmountText: "100",
		DetailsHash: "d", BusinessDay: time.Now(), Timestamp: fmt.Sprint(time.Now().UnixMilli()),
		DefaultLimits: db.Limits{Count: 1000, Amount: decimal.RequireFromString("1000000")},
	})
	if err != nil || !d.Allow {
		f.t.Fatalf("debit-hook: %+v %v", d, err)
	}
	if _, err := f.s.RecordEkoResponse(ctx, handoff, db.EkoResponse{
		Inbound: inbound(ref, "eko-response"), ClientRefID: ref, ContentHash: "c", TxStatus: "0", Status: "0", Response: []byte("{}"),
	}); err != nil {
		f.t.Fatal(err)
	}
	if final {
		if err := f.s.ApplyChange(ctx, db.Change{WorkflowID: wf, Key: "wf:1", Kind: "state_changed", From: "pending", To: "success", Final: true}); err != nil {
			f.t.Fatal(err)
		}
	}
	return ref
}

// TestPrunerOnce: one run deletes, in batches, exactly the delivered outbox entries and raw
// requests of closed transactions older than the configured ages, and raw requests of no
// transaction; it never touches an open transaction's rows, undelivered or set-aside entries,
// or anything younger than its age; parsed records survive their raw request; the metrics count
// what went; a second run finds nothing.
func TestPrunerOnce(t *testing.T) {
	t.Parallel()
	url := testenv.Postgres(t)
	ctx := context.Background()
	s, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := db.Migrate(ctx, s.DB().DB, quiet); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, agent: "RET01"}
	if _, err := s.UpsertAgent(ctx, db.AgentUpdate{UserCode: f.agent}); err != nil {
		t.Fatal(err)
	}

	closedOld := []string{f.transaction(true), f.transaction(true), f.transaction(true)}
	openOld := f.transaction(false)
	closedRecent := f.transaction(true)
	setAside := f.transaction(true)
	orphanOld, err := s.RecordInbound(ctx, db.Inbound{Source: "eko", Method: "GET", Path: "/eko/aeps/x", RemoteAddr: "t", Outcome: "not_found", HTTPStatus: 404})
	if err != nil {
		t.Fatal(err)
	}
	orphanRecent, err := s.RecordInbound(ctx, db.Inbound{Source: "eko", Method: "GET", Path: "/eko/aeps/y", RemoteAddr: "t", Outcome: "not_found", HTTPStatus: 404})
	if err != nil {
		t.Fatal(err)
	}
	// Ages: everything delivered 8 days ago and received 181 days ago, except closedRecent's
	// (delivered 6 days, received 179 days ago) and the recent orphan; one of setAside's entries was
	// set aside as undeliverable, and a late signal of closedOld[0] is still undelivered.
	f.exec(`UPDATE outbox SET delivered_at = now() - interval '8 days', attempts = 1`)
	f.exec(`UPDATE inbound_requests SET received_at = now() - interval '181 days'`)
	f.exec(`UPDATE outbox SET delivered_at = now() - interval '6 days' WHERE workflow_id = $1`, "aeps/eko/"+closedRecent)
	f.exec(`UPDATE inbound_requests SET received_at = now() - interval '179 days' WHERE reference = $1`, closedRecent)
	f.exec(`UPDATE inbound_requests SET received_at = now() WHERE id = $1`, orphanRecent)
	f.exec(`UPDATE outbox SET delivery_note = 'undeliverable: bad payload' WHERE kind = 'signal' AND workflow_id = $1`, "aeps/eko/"+setAside)
	f.exec(`INSERT INTO outbox (kind, workflow_id, signal_name, payload, dedupe_key, created_at)
		VALUES ('signal', $1, 'outcome', '{}', 'late:1', now() - interval '30 days')`, "aeps/eko/"+closedOld[0])

	outboxOf := func(ref string) int {
		return f.count(`SELECT count(*) FROM outbox WHERE workflow_id = $1`, "aeps/eko/"+ref)
	}
	rawOf := func(ref string) int {
		return f.count(`SELECT count(*) FROM inbound_requests WHERE reference = $1`, ref)
	}
	for _, ref := range append(closedOld, openOld, closedRecent, setAside) {
		if rawOf(ref) != 2 {
			t.Fatalf("fixture: %s has %d raw requests, want 2", ref, rawOf(ref))
		}
	}
	responses := f.count(`SELECT count(*) FROM eko_responses`)

	m := metrics.New()
	p := &retention.Pruner{Store: s, OutboxAge: 7 * 24 * time.Hour, RawAge: 180 * 24 * time.Hour, Batch: 2,
		Pause: time.Millisecond, Logger: quiet, Metrics: m}
	if err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		what      string
		got, want int
	}{
		{"closedOld[0] outbox: only the undelivered late signal", outboxOf(closedOld[0]), 1},
		{"closedOld[1] outbox", outboxOf(closedOld[1]), 0},
		{"closedOld[2] outbox", outboxOf(closedOld[2]), 0},
		{"closedOld raw requests", rawOf(closedOld[0]) + rawOf(closedOld[1]) + rawOf(closedOld[2]), 0},
		{"open transaction's outbox (delivered 8 days ago)", outboxOf(openOld), 2},
		{"open transaction's raw requests (181 days old)", rawOf(openOld), 2},
		{"recently closed: outbox", outboxOf(closedRecent), 2},
		{"recently closed: raw requests", rawOf(closedRecent), 2},
		{"set aside: the undeliverable entry stays, the delivered start goes", outboxOf(setAside), 1},
		{"old orphan request", f.count(`SELECT count(*) FROM inbound_requests WHERE id = $1`, orphanOld), 0},
		{"recent orphan request", f.count(`SELECT count(*) FROM inbound_requests WHERE id = $1`, orphanRecent), 1},
		{"eko_responses all kept", f.count(`SELECT count(*) FROM eko_responses`), responses},
		{"eko_responses unlinked from deleted raw requests", f.count(`SELECT count(*) FROM eko_responses WHERE inbound_request_id IS NULL`), 4},
		{"transactions all kept", f.count(`SELECT count(*) FROM transactions`), 6},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	// closedOld: 3 x (start + signal) + setAside's start = 7 outbox entries; closedOld's 6 raw
	// requests, setAside's 2 and the old orphan = 9.
	if got := testutil.ToFloat64(m.RetentionDeleted.WithLabelValues("outbox")); got != 7 {
		t.Errorf("aepsflow_retention_deleted_total{table=outbox} = %v, want 7", got)
	}
	if got := testutil.ToFloat64(m.RetentionDeleted.WithLabelValues("inbound_requests")); got != 9 {
		t.Errorf("aepsflow_retention_deleted_total{table=inbound_requests} = %v, want 9", got)
	}
	if got := testutil.ToFloat64(m.RetentionLastSuccess); time.Since(time.Unix(int64(got), 0)) > time.Minute {
		t.Errorf("last success timestamp %v, want about now", got)
	}

	// Nothing left to do: the second run deletes nothing.
	before := f.count(`SELECT count(*) FROM outbox`) + f.count(`SELECT count(*) FROM inbound_requests`)
	if err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if after := f.count(`SELECT count(*) FROM outbox`) + f.count(`SELECT count(*) FROM inbound_requests`); after != before {
		t.Errorf("second run deleted %d rows", before-after)
	}
}
