package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/workflows"
)

const agent = "20810200"

// ekoResponse reports tx_status 2 (in progress) with a distinct tid, which queues an outcome
// signal for the workflow.
// ekoResponse sends ref's n-th eko-response; each n is another tx_status class (2, 3, 4), since
// only the first report of a class is signalled.
func ekoResponse(t *testing.T, a *apptest.App, ref string, n int) {
	t.Helper()
	a.Callback(t, fmt.Sprintf(`{"action":"eko-response","detail":{"client_ref_id":%q,`+
		`"response":{"status":0,"message":"in progress","data":{"tx_status":%q,"amount":"100.0","tid":"T%d-%s",`+
		`"user_code":%q}}}}`, ref, []string{"2", "3", "4"}[n], n, ref, agent), `"outcome":"recorded"`)
}

// TestRelayWakesOnNotify: with the periodic sweep an hour apart, what the API commits to the
// outbox still reaches Temporal at once, because the outbox trigger's NOTIFY wakes the relay.
// Every round after the first starts while the relay is idle in its wait (the entry before was
// delivered and its batch committed), so only the notification can deliver it within the 2 s
// deadline. The latencies are logged.
func TestRelayWakesOnNotify(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, Env: map[string]string{"OUTBOX_SWEEP_INTERVAL": "1h"}})
	if a.Config.RelaySweepInterval != time.Hour {
		t.Fatalf("sweep interval %v, want 1h", a.Config.RelaySweepInterval)
	}
	a.RegisterAgent(agent, nil, nil)
	const rounds = 5
	var worst time.Duration
	for i := range rounds {
		_, wfID := a.CashWithdrawal(t, agent, "100")
		committed := time.Now()
		var startedAt time.Time
		testenv.WaitFor(t, 2*time.Second, "workflow "+wfID+" started in Temporal", func() (bool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			d, err := a.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
			if err != nil {
				return false, err
			}
			startedAt = d.GetWorkflowExecutionInfo().GetStartTime().AsTime()
			return true, nil
		})
		seen := time.Since(committed)
		var e struct {
			CreatedAt   time.Time `db:"created_at"`
			DeliveredAt time.Time `db:"delivered_at"`
			Attempts    int       `db:"attempts"`
		}
		// delivered_at is now() of the claiming transaction: when the relay woke up and claimed it.
		testenv.WaitFor(t, 2*time.Second, "outbox entry of "+wfID+" marked delivered", func() (bool, error) {
			err := a.Store.DB().Get(&e, `SELECT created_at, delivered_at, attempts FROM outbox
				WHERE workflow_id = $1 AND kind = 'start' AND delivered_at IS NOT NULL`, wfID)
			return err == nil, err
		})
		if e.Attempts != 1 {
			t.Errorf("start of %s took %d attempts, want 1", wfID, e.Attempts)
		}
		toStart := startedAt.Sub(e.CreatedAt)
		worst = max(worst, toStart)
		t.Logf("round %d: insert -> relay claim %v, insert -> workflow started in Temporal %v, observed by the test after %v",
			i+1, e.DeliveredAt.Sub(e.CreatedAt).Round(time.Microsecond), toStart.Round(time.Microsecond), seen.Round(time.Millisecond))
	}
	t.Logf("worst insert -> Temporal start over %d rounds: %v (sweep interval 1h)", rounds, worst.Round(time.Microsecond))
}

// deliveryLog counts Deliver calls per entry and per relay, across the relays sharing it.
type deliveryLog struct {
	mu    sync.Mutex
	calls map[int64]int  // entry ID -> Deliver calls
	by    map[string]int // relay -> Deliver calls
}

type loggingDeliverer struct {
	name  string
	inner outbox.Deliverer
	log   *deliveryLog
}

func (d *loggingDeliverer) Deliver(ctx context.Context, e db.PendingEntry) (string, error) {
	d.log.mu.Lock()
	d.log.calls[e.ID]++
	d.log.by[d.name]++
	d.log.mu.Unlock()
	return d.inner.Deliver(ctx, e)
}

// TestRelaysDeliverOnceInOrder: relays drain one backlog of outbox entries, the starts of many
// workflows and outcome signals for each, queued as traffic queues them (every debit-hook, then
// the eko-responses round by round). Each entry is delivered exactly once, every workflow is
// started by its own start entry and receives its signals once each in the order queued, and the
// outbox ends empty: with one relay, and with two at once (two API replicas, each with its own
// pool and Temporal client, started together on the backlog).
//
// The shapes matter, with batches of 64. 50 workflows with 3 signals each (200 entries): one
// workflow's entries are 50 apart, so two batches held at once hold entries of the same workflows.
// 100 workflows with 2 signals (300 entries): more workflows than a batch holds, so there is work
// for both relays even if a batch may take only the next entry of each workflow.
func TestRelaysDeliverOnceInOrder(t *testing.T) {
	t.Parallel()
	one, two := []string{"replica-a"}, []string{"replica-a", "replica-b"}
	for _, tt := range []struct {
		name                 string
		replicas             []string
		nWorkflows, nSignals int
	}{
		{"one relay, 50 workflows x 3 signals", one, 50, 3},
		{"two relays at once, 50 workflows x 3 signals", two, 50, 3},
		{"two relays at once, 100 workflows x 2 signals", two, 100, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkDeliveredOnceInOrder(t, tt.replicas, tt.nWorkflows, tt.nSignals)
		})
	}
}

func checkDeliveredOnceInOrder(t *testing.T, replicas []string, nWorkflows, signalsPer int) {
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: map[string]string{"OUTBOX_BATCH_SIZE": "64"}})
	limit, amount := 10*nWorkflows, "10000000" // above the default 50 withdrawals a day
	a.RegisterAgent(agent, &limit, &amount)
	refs, wfIDs := make([]string, nWorkflows), make([]string, nWorkflows)
	for i := range nWorkflows {
		refs[i], wfIDs[i] = a.CashWithdrawal(t, agent, "100")
	}
	for n := range signalsPer {
		for _, ref := range refs {
			ekoResponse(t, a, ref, n)
		}
	}
	type entry struct {
		ID         int64  `db:"id"`
		Kind       string `db:"kind"`
		WorkflowID string `db:"workflow_id"`
		DedupeKey  string `db:"dedupe_key"`
	}
	var queued []entry
	if err := a.Store.DB().Select(&queued, `SELECT id, kind, workflow_id, dedupe_key FROM outbox WHERE delivered_at IS NULL ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	// Each workflow's start was still waiting (no relay ran) when its first report came: the
	// report's SignalWithStart starts the workflow, and the start was settled without a call.
	if want := nWorkflows * signalsPer; len(queued) != want {
		t.Fatalf("%d entries queued, want %d (the reports; their starts superseded)", len(queued), want)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE kind = 'start' AND delivery_note LIKE 'superseded%'`); n != nWorkflows {
		t.Fatalf("%d starts superseded, want %d", n, nWorkflows)
	}
	// wantSignals[wfID] is the event IDs of the workflow's signals in queue order.
	wantSignals := map[string][]string{}
	for _, e := range queued {
		if e.Kind == "signal" {
			wantSignals[e.WorkflowID] = append(wantSignals[e.WorkflowID], e.DedupeKey)
		}
	}

	dl := &deliveryLog{calls: map[int64]int{}, by: map[string]int{}}
	relayLogs := &testenv.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relay logs:\n%s", relayLogs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() }) // runs first: the relays stop before the logs print and the system stops
	logger := slog.New(slog.NewTextHandler(relayLogs, nil))
	for _, name := range replicas {
		store, err := db.Open(ctx, a.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := client.NewLazyClient(client.Options{HostPort: a.Config.TemporalAddress, Namespace: a.Config.TemporalNamespace,
			Logger: tlog.NewStructuredLogger(logger.With("replica", name, "component", "temporal"))})
		if err != nil {
			t.Fatal(err)
		}
		r := app.NewRelay(a.Config, store, tc, logger.With("replica", name), nil)
		r.Deliverer = &loggingDeliverer{name: name, inner: r.Deliverer, log: dl}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer store.Close()
			defer tc.Close()
			if err := r.Run(ctx); err != nil || ctx.Err() == nil {
				t.Errorf("relay %s stopped before the test ended: %v", name, err)
			}
		}()
	}

	testenv.WaitFor(t, 60*time.Second, "the outbox to be empty", func() (bool, error) {
		var n int
		err := a.Store.DB().Get(&n, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
		return err == nil && n == 0, err
	})

	var notes []string
	if err := a.Store.DB().Select(&notes, `SELECT DISTINCT delivery_note FROM outbox WHERE delivery_note <> '' AND kind = 'signal'`); err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Errorf("deliveries with notes %q, want none (every workflow open, every start its own)", notes)
	}
	dl.mu.Lock()
	for _, e := range queued {
		if n := dl.calls[e.ID]; n != 1 {
			t.Errorf("entry %d (%s %s) delivered %d times, want once", e.ID, e.Kind, e.WorkflowID, n)
		}
	}
	// How the relays shared the work is theirs to decide (one may legitimately wait while the
	// other holds every workflow's next entry); it is logged, not asserted.
	t.Logf("deliveries by relay: %v", dl.by)
	dl.mu.Unlock()

	dc := converter.GetDefaultDataConverter()
	var outOfOrder int
	for _, wfID := range wfIDs {
		hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
		it := a.Temporal.GetWorkflowHistory(hctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var types []enumspb.EventType
		var got []string
		delayed := false
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				hcancel()
				t.Fatalf("history of %s: %v", wfID, err)
			}
			types = append(types, ev.GetEventType())
			if attrs := ev.GetWorkflowExecutionStartedEventAttributes(); attrs != nil {
				delayed = attrs.GetFirstWorkflowTaskBackoff().AsDuration() > 0
			}
			if attrs := ev.GetWorkflowExecutionSignaledEventAttributes(); attrs != nil {
				var o workflows.Outcome
				if err := dc.FromPayloads(attrs.GetInput(), &o); err != nil {
					t.Fatalf("signal of %s: %v", wfID, err)
				}
				got = append(got, o.EventID)
			}
		}
		hcancel()
		// Started by its first report (signal-with-start): the signal comes with the start, and
		// no start delay (there is something to do).
		if len(types) < 2 || types[0] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED ||
			types[1] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED || delayed {
			t.Errorf("%s: history begins %v (delayed %v): not started by its first report", wfID, types[:min(len(types), 2)], delayed)
			outOfOrder++
			continue
		}
		if !slices.Equal(got, wantSignals[wfID]) {
			t.Errorf("%s received signals %v, want %v (once each, in queue order)", wfID, got, wantSignals[wfID])
			outOfOrder++
		}
	}
	if outOfOrder > 0 {
		t.Errorf("%d of %d workflows did not get their entries exactly once and in order", outOfOrder, nWorkflows)
	}
}

// TestDeferredStart (OUTBOX_START_DEFER): a new transaction's start waits out the deferral; an
// eko-response meanwhile supersedes it, and its SignalWithStart starts the workflow, once, with
// the report already in its history (no start delay: there is something to do). Without a
// report, the start goes out once the deferral is over, its start delay shortened by as much.
func TestDeferredStart(t *testing.T) {
	t.Parallel()
	const deferral = 3 * time.Second
	a := apptest.Start(t, apptest.Options{NoWorker: true, Env: map[string]string{"OUTBOX_START_DEFER": deferral.String()}})
	a.RegisterAgent(agent, nil, nil)
	ctx := context.Background()
	type entry struct {
		Kind      string  `db:"kind"`
		Delivered bool    `db:"delivered"`
		Note      *string `db:"delivery_note"`
		Attempts  int     `db:"attempts"`
	}
	entries := func(wfID string) []entry {
		t.Helper()
		var es []entry
		if err := a.Store.DB().Select(&es, `SELECT kind, delivered_at IS NOT NULL AS delivered, delivery_note, attempts
			FROM outbox WHERE workflow_id = $1 ORDER BY id`, wfID); err != nil {
			t.Fatal(err)
		}
		return es
	}

	// Reported within the deferral.
	ref, wfID := a.CashWithdrawal(t, agent, "100")
	if es := entries(wfID); len(es) != 1 || es[0].Kind != "start" || es[0].Delivered {
		t.Fatalf("right after the debit-hook: %+v, want its start waiting", es)
	}
	// The read API answers from PostgreSQL meanwhile, and says why Temporal has no workflow yet.
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/v1/transactions/"+ref, nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var view struct {
		State    string `json:"state"`
		Workflow struct {
			Started *bool  `json:"started"`
			Error   string `json:"error"`
		} `json:"workflow"`
	}
	err = json.NewDecoder(resp.Body).Decode(&view)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || view.State != "pending" || view.Workflow.Started == nil || *view.Workflow.Started || view.Workflow.Error != "" {
		t.Fatalf("read API during the deferral: %d %+v (%v), want pending and workflow not started yet", resp.StatusCode, view, err)
	}
	ekoResponse(t, a, ref, 0)
	testenv.WaitFor(t, 10*time.Second, wfID+" started by the report", func() (bool, error) {
		es := entries(wfID)
		return len(es) == 2 && es[1].Delivered, nil
	})
	es := entries(wfID)
	if es[0].Note == nil || es[0].Attempts != 0 || !es[0].Delivered {
		t.Fatalf("start entry %+v: want settled without a call (superseded)", es[0])
	}
	hist := a.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var types []enumspb.EventType
	for hist.HasNext() {
		ev, err := hist.Next()
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.GetEventType())
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil && a.GetFirstWorkflowTaskBackoff().AsDuration() != 0 {
			t.Errorf("started with a start delay of %s: the report is already there", a.GetFirstWorkflowTaskBackoff().AsDuration())
		}
	}
	if len(types) < 2 || types[0] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED || types[1] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
		t.Errorf("history %v, want started together with the report's signal", types)
	}

	// Not reported: the start goes out after the deferral.
	_, wfID = a.CashWithdrawal(t, agent, "100")
	var created time.Time
	if err := a.Store.DB().Get(&created, `SELECT created_at FROM transactions WHERE workflow_id = $1`, wfID); err != nil {
		t.Fatal(err)
	}
	var started time.Time
	var backoff time.Duration
	testenv.WaitFor(t, deferral+10*time.Second, wfID+" started after the deferral", func() (bool, error) {
		d, err := a.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			return false, nil // not started yet
		}
		started = d.GetWorkflowExecutionInfo().GetStartTime().AsTime()
		h := a.Temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		ev, err := h.Next()
		if err != nil {
			return false, err
		}
		backoff = ev.GetWorkflowExecutionStartedEventAttributes().GetFirstWorkflowTaskBackoff().AsDuration()
		return true, nil
	})
	if started.Sub(created) < deferral {
		t.Errorf("started %s after the transaction was created, before the %s deferral", started.Sub(created), deferral)
	}
	// The response timeout still counts from the creation: the delay is what is left of it.
	if timeout := a.Config.Lifecycle.EkoResponseTimeout; backoff > timeout-deferral || backoff < timeout-deferral-5*time.Second {
		t.Errorf("start delay %s, want what is left of the %s response timeout after the deferral", backoff, timeout)
	}
	// The relay marks the entry after Temporal has answered, so the workflow can be seen first.
	testenv.WaitFor(t, 10*time.Second, wfID+" start entry marked delivered", func() (bool, error) {
		es := entries(wfID)
		return len(es) == 1 && es[0].Delivered, nil
	})
	if es := entries(wfID); len(es) != 1 || !es[0].Delivered || es[0].Attempts != 1 {
		t.Errorf("start entry %+v: want delivered by one call", es)
	}
}
