//go:build faults && linux

package faults

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestWorkerKilledDuringInquiryBackoff: the worker dies (SIGKILL) while a transaction waits out
// the backoff between two inquiries; the backoff timer fires with no worker; a new worker picks the
// transaction up and finishes it, with exactly one more inquiry.
func TestWorkerKilledDuringInquiryBackoff(t *testing.T) {
	const backoff = 3 * time.Second
	s := newStack(t, stackOptions{env: map[string]string{
		"INQUIRY_INITIAL_BACKOFF": backoff.String(), "INQUIRY_MAX_BACKOFF": backoff.String(),
	}})
	s.startAPI()
	s.startWorker()
	ctx := context.Background()

	r := ref()
	s.sim.Script(r, sim.Step{TxStatus: "2", Times: 1}, sim.Step{TxStatus: "0"}) // pending once, then success
	mustAllow(t, s, ctx, r)
	mustRecord(t, s, ctx, r, "2")

	wfID := workflows.WorkflowID(txstate.ProviderEko, r)
	testenv.WaitFor(t, 60*time.Second, "the first inquiry answered pending and the backoff timer started", func() (bool, error) {
		h, err := s.history(ctx, wfID)
		return err == nil && h.backoffTimers(backoff) >= 1, err
	})
	if n := s.sim.Calls(r); n != 1 {
		t.Fatalf("inquiries before the kill = %d, want 1", n)
	}
	s.worker.kill()

	testenv.WaitFor(t, 60*time.Second, "the backoff timer fired with no worker to run its workflow task", func() (bool, error) {
		h, err := s.history(ctx, wfID)
		if err != nil {
			return false, err
		}
		return h.fired >= 1 && h.last == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, fmt.Errorf("last event %s, %d timers fired", h.last, h.fired)
	})
	if n := s.sim.Calls(r); n != 1 {
		t.Fatalf("inquiries while no worker ran = %d, want still 1", n)
	}

	s.startWorker()
	s.waitState(txstate.ProviderEko, r, "success", 90*time.Second)
	if n := s.sim.Calls(r); n != 2 {
		t.Errorf("inquiries = %d, want 2 (one before the kill, one after the restart)", n)
	}
	s.checkOneWorkflowEach(true)
}

// TestTemporalOutageUnderLoad: the Temporal server stops for 30 s under a steady load of
// debit-hooks and eko-responses and restarts on its state file. Every debit-hook is confirmed
// throughout, and afterwards every transaction reaches its final state with exactly one workflow.
func TestTemporalOutageUnderLoad(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.startAPI()
	s.startWorker()
	ctx := context.Background()

	type sent struct {
		ref, txStatus  string
		during         bool // sent while Temporal was stopped
		allowed        bool
		recorded       bool
		err            string
		debitHookTaken time.Duration
	}
	var (
		mu      sync.Mutex
		all     []*sent
		outage  atomic.Bool
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	statuses := []string{"1", "1", "0"} // each verified by inquiry, which Eko confirms
	load := func() {
		defer wg.Done()
		// A steady 5 transactions a second, each on its own goroutine (a slow reply must not
		// slow the load down: Eko's gateway pages do not wait for each other).
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var inflight sync.WaitGroup
		for i := 0; !stopped.Load(); i++ {
			<-tick.C
			x := &sent{ref: ref(), txStatus: statuses[i%len(statuses)], during: outage.Load()}
			s.sim.Script(x.ref, sim.Step{TxStatus: x.txStatus})
			mu.Lock()
			all = append(all, x)
			mu.Unlock()
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				res, took, err := s.debitHook(ctx, x.ref)
				mu.Lock()
				x.debitHookTaken = took
				switch {
				case err != nil:
					x.err = err.Error()
				case !res.Verified():
					x.err = fmt.Sprintf("HTTP %d allow=%v %s %s", res.HTTPStatus, res.Allowed, res.Message, res.Mismatch)
				default:
					x.allowed = true
				}
				mu.Unlock()
				if err != nil || !res.Verified() {
					return
				}
				er, err := s.ekoResponse(ctx, x.ref, x.txStatus)
				mu.Lock()
				x.recorded = err == nil && er.HTTPStatus == http.StatusOK && er.Status == "ok"
				if !x.recorded {
					x.err = fmt.Sprintf("eko-response: %v HTTP %d %s", err, er.HTTPStatus, er.Message)
				}
				mu.Unlock()
			}()
		}
		inflight.Wait()
	}
	wg.Add(1)
	go load()
	t.Cleanup(func() { stopped.Store(true); wg.Wait() })

	testenv.WaitFor(t, 90*time.Second, "20 transactions final before the outage (steady state)", func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM transactions WHERE final_at IS NOT NULL`)
		return n >= 20, fmt.Errorf("%d final", n)
	})
	s.temporal.Stop()
	outage.Store(true)
	outageStart := time.Now()
	// The API stays ready (it takes callbacks into the outbox), reported degraded; the worker,
	// which can do nothing without Temporal, is not ready.
	testenv.WaitFor(t, 10*time.Second, "API /readyz 200 degraded and worker /readyz 503 while Temporal is down", func() (bool, error) {
		code, body, err := s.get("/readyz")
		wcode, wbody, werr := s.getWorker("/readyz")
		return code == http.StatusOK && strings.Contains(string(body), `"degraded":true`) && wcode == http.StatusServiceUnavailable,
			fmt.Errorf("api %d %s %v; worker %d %s %v", code, body, err, wcode, wbody, werr)
	})
	time.Sleep(30*time.Second - time.Since(outageStart)) // the outage under test: Temporal is down for 30 s
	outage.Store(false)
	s.temporal.Start()
	t.Logf("Temporal was stopped for %s", time.Since(outageStart).Round(time.Millisecond))

	countAfter := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, x := range all {
			if !x.during && x.allowed {
				n++
			}
		}
		return n
	}
	before := countAfter()
	testenv.WaitFor(t, 60*time.Second, "20 more transactions sent after the restart", func() (bool, error) {
		return countAfter() >= before+20, nil
	})
	stopped.Store(true)
	wg.Wait()

	mu.Lock()
	var during, failed []string
	var outageLatencies []time.Duration
	for _, x := range all {
		if x.during {
			during = append(during, x.ref)
			outageLatencies = append(outageLatencies, x.debitHookTaken)
		}
		if !x.allowed || !x.recorded {
			failed = append(failed, fmt.Sprintf("%s (during outage %v): %s", x.ref, x.during, x.err))
		}
	}
	total := len(all)
	mu.Unlock()
	if len(during) < 100 {
		t.Fatalf("only %d transactions were sent during the outage; the load did not keep up", len(during))
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d transactions were not confirmed and recorded, e.g. %s", len(failed), total, strings.Join(failed[:min(5, len(failed))], "; "))
	}
	slices.Sort(outageLatencies)
	t.Logf("%d transactions, %d during the outage; debit-hook latency during the outage p50 %s, max %s",
		total, len(during), outageLatencies[len(outageLatencies)/2], outageLatencies[len(outageLatencies)-1])

	testenv.WaitFor(t, 4*time.Minute, fmt.Sprintf("all %d transactions final", total), func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM transactions WHERE final_at IS NOT NULL`)
		return n == total, fmt.Errorf("%d of %d final", n, total)
	})
	if n := s.queryInt(`SELECT count(*) FROM transactions`); n != total {
		t.Fatalf("%d transactions rows, want %d", n, total)
	}
	wrong := s.queryInt(`SELECT count(*) FROM transactions t WHERE state <> CASE
		WHEN EXISTS (SELECT 1 FROM eko_responses r WHERE r.transaction_id = t.id AND r.tx_status = '1') THEN 'failed'
		ELSE 'success' END`)
	if wrong != 0 {
		t.Errorf("%d transactions ended in the wrong state", wrong)
	}
	// A relay marks an entry only after Temporal has answered, which can be after the state is final.
	testenv.WaitFor(t, 30*time.Second, "every outbox entry delivered", func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
		return n == 0, fmt.Errorf("%d outbox entries undelivered", n)
	})
	s.checkOneWorkflowEach(true)
}

// TestPostgresOutage: PostgreSQL stops (fast shutdown). Debit-hooks are refused within a second
// with a clear message, partner callbacks answered "1" (so the partner retries), /readyz fails.
// After PostgreSQL restarts, everything recovers without restarting aepsflow.
func TestPostgresOutage(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.startAPI()
	s.startWorker()
	ctx := context.Background()

	// In flight when the database goes: its inquiry answer is slow, so recording it must wait for
	// the database to come back (the workflow's activity retries).
	inflight := ref()
	s.sim.Script(inflight, sim.Step{TxStatus: "0", Delay: 2 * time.Second})
	mustAllow(t, s, ctx, inflight)
	mustRecord(t, s, ctx, inflight, "0")
	testenv.WaitFor(t, 60*time.Second, "the in-flight transaction's inquiry started", func() (bool, error) {
		return s.sim.Calls(inflight) >= 1, nil
	})

	if err := s.pg.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.pg.Start() }) // the next test needs it, whatever happens here

	refused := ref()
	res, took, err := s.debitHook(ctx, refused)
	if err != nil {
		t.Fatalf("debit-hook during the outage: %v", err)
	}
	if res.HTTPStatus != http.StatusServiceUnavailable || res.Allowed || !strings.Contains(res.Message, "temporarily unavailable") {
		t.Errorf("debit-hook during the outage: HTTP %d allow=%v message %q; want 503, allow:false, a clear message",
			res.HTTPStatus, res.Allowed, res.Message)
	}
	if took > time.Second {
		t.Errorf("debit-hook refusal took %s, want under 1 s", took)
	}
	pRef, txnID := "P"+ref()[:12], "1"+ref()+"12345"
	code, status, err := s.partnerCallback(ctx, pRef, txnID, "SUCCESS")
	if err != nil || status != "1" || code != http.StatusServiceUnavailable {
		t.Errorf("partner callback during the outage: HTTP %d status %q err %v; want 503 and status \"1\"", code, status, err)
	}
	code, body, err := s.get("/readyz")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(body), "postgres") {
		t.Errorf("/readyz during the outage: %d %s %v; want 503 naming postgres", code, body, err)
	}

	// The in-flight transaction's work is now queued in Temporal: its inquiry answered, but
	// recording the answer failed and waits for a retry.
	testenv.WaitFor(t, 60*time.Second, "the in-flight transaction's activity failed for want of the database", func() (bool, error) {
		d, err := s.tc.DescribeWorkflowExecution(ctx, workflows.WorkflowID(txstate.ProviderEko, inflight), "")
		if err != nil {
			return false, err
		}
		for _, a := range d.GetPendingActivities() {
			if a.GetLastFailure() != nil {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d pending activities, none failed yet", len(d.GetPendingActivities()))
	})

	if err := s.pg.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "/readyz 200 after PostgreSQL is back", func() (bool, error) {
		code, body, err := s.get("/readyz")
		return code == http.StatusOK, fmt.Errorf("%d %s %v", code, body, err)
	})
	// Every debit-hook from now on must be allowed: the pool must not hand out connections the
	// restart closed.
	var after []string
	for range 5 {
		r := ref()
		s.sim.Script(r, sim.Step{TxStatus: "0"})
		mustAllow(t, s, ctx, r)
		mustRecord(t, s, ctx, r, "0")
		after = append(after, r)
	}
	// The partner retries after a "1".
	code, status, err = s.partnerCallback(ctx, pRef, txnID, "SUCCESS")
	if err != nil || status != "0" {
		t.Errorf("partner callback after the outage: HTTP %d status %q err %v; want status \"0\"", code, status, err)
	}

	s.waitState(txstate.ProviderEko, inflight, "success", 90*time.Second)
	for _, r := range after {
		s.waitState(txstate.ProviderEko, r, "success", 60*time.Second)
	}
	s.waitState(txstate.PartnerPrefix+partnerID, pRef, "success", 60*time.Second)
	if st, _ := s.state(ctx, txstate.ProviderEko, refused); st != "" {
		t.Errorf("the refused debit-hook left a transaction (%s)", st)
	}
	// A relay marks an entry only after Temporal has answered, which can be after the state is final.
	testenv.WaitFor(t, 30*time.Second, "every outbox entry delivered", func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
		return n == 0, fmt.Errorf("%d outbox entries undelivered", n)
	})
	s.checkOneWorkflowEach(true)
}

// TestAPIKilledMidLoad: the API process dies (SIGKILL) with requests in flight. Nothing is half
// written, every allowed reply the client received has its transaction, and a new API process
// delivers every outbox entry the dead one left.
func TestAPIKilledMidLoad(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.startAPI()
	s.startWorker()
	ctx := context.Background()

	var (
		mu      sync.Mutex
		allowed []string
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if i%5 == 4 {
					// A partner transaction, delivered twice.
					pRef, txnID := "P"+ref()[:12], "1"+ref()+fmt.Sprintf("%05d", w*10000+i%10000)
					for range 2 {
						_, _, _ = s.partnerCallback(ctx, pRef, txnID, "SUCCESS")
					}
					continue
				}
				r, txStatus := ref(), []string{"1", "0"}[i%2]
				s.sim.Script(r, sim.Step{TxStatus: txStatus}) // Eko confirms what is reported
				res, _, err := s.debitHook(ctx, r)
				if err != nil || !res.Verified() {
					continue
				}
				mu.Lock()
				allowed = append(allowed, r)
				mu.Unlock()
				_, _ = s.ekoResponse(ctx, r, txStatus)
			}
		}()
	}
	testenv.WaitFor(t, 90*time.Second, "150 debit-hooks allowed under load", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(allowed) >= 150, fmt.Errorf("%d allowed", len(allowed))
	})
	s.api.kill()
	stop.Store(true)
	wg.Wait()

	// With no API running: what the crash left must be whole.
	checks := []struct{ what, query string }{
		{"transactions without their 'created' event", `SELECT count(*) FROM transactions t
			WHERE NOT EXISTS (SELECT 1 FROM tx_events e WHERE e.transaction_id = t.id AND e.kind = 'created')`},
		{"transactions without their workflow start in the outbox", `SELECT count(*) FROM transactions t
			WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'start:' || t.workflow_id AND o.kind = 'start')`},
		{"eko-responses without their outbox signal", `SELECT count(*) FROM eko_responses r
			WHERE r.transaction_id IS NOT NULL AND NOT r.after_final AND NOT r.unknown_reference
			  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'eko_response:' || r.id)`},
		{"inbound requests referencing a missing transaction", `SELECT count(*) FROM inbound_requests i
			WHERE i.transaction_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = i.transaction_id)`},
		{"eko-responses referencing a missing transaction", `SELECT count(*) FROM eko_responses r
			WHERE r.transaction_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = r.transaction_id)`},
		{"partner callbacks referencing a missing transaction", `SELECT count(*) FROM partner_callbacks c
			WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = c.transaction_id)`},
		{"events referencing a missing transaction", `SELECT count(*) FROM tx_events e
			WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = e.transaction_id)`},
		{"outbox entries for a missing transaction", `SELECT count(*) FROM outbox o
			WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.workflow_id = o.workflow_id)`},
	}
	for _, c := range checks {
		if n := s.queryInt(c.query); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
	mu.Lock()
	var missing []string
	for _, r := range allowed {
		if st, err := s.state(ctx, txstate.ProviderEko, r); err != nil || st == "" {
			missing = append(missing, r)
		}
	}
	nAllowed := len(allowed)
	mu.Unlock()
	if len(missing) > 0 {
		t.Errorf("%d of %d allowed debit-hooks have no transaction, e.g. %v", len(missing), nAllowed, missing[:min(5, len(missing))])
	}
	left := s.queryInt(`SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
	rows := s.queryInt(`SELECT count(*) FROM transactions`)
	t.Logf("after the kill: %d allowed replies received, %d transactions, %d outbox entries undelivered", nAllowed, rows, left)

	s.startAPI()
	testenv.WaitFor(t, 90*time.Second, "every outbox entry delivered by the new API process", func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM outbox WHERE delivered_at IS NULL`)
		return n == 0, fmt.Errorf("%d undelivered", n)
	})
	s.checkOneWorkflowEach(false)
	// Transactions whose outcome was recorded finish; the others wait for an eko-response that
	// their (killed) request never delivered.
	testenv.WaitFor(t, 3*time.Minute, "every transaction with a recorded outcome final", func() (bool, error) {
		n := s.queryInt(`SELECT count(*) FROM transactions t WHERE final_at IS NULL AND (
			EXISTS (SELECT 1 FROM eko_responses r WHERE r.transaction_id = t.id) OR
			EXISTS (SELECT 1 FROM partner_callbacks c WHERE c.transaction_id = t.id))`)
		return n == 0, fmt.Errorf("%d not final", n)
	})
}

func mustAllow(t *testing.T, s *stack, ctx context.Context, r string) {
	t.Helper()
	res, _, err := s.debitHook(ctx, r)
	if err != nil {
		t.Fatalf("debit-hook %s: %v", r, err)
	}
	if !res.Verified() {
		t.Fatalf("debit-hook %s: HTTP %d allow=%v message %q mismatch %q", r, res.HTTPStatus, res.Allowed, res.Message, res.Mismatch)
	}
}

func mustRecord(t *testing.T, s *stack, ctx context.Context, r, txStatus string) {
	t.Helper()
	er, err := s.ekoResponse(ctx, r, txStatus)
	if err != nil || er.HTTPStatus != http.StatusOK || er.Status != "ok" {
		t.Fatalf("eko-response %s: %v HTTP %d %s %s", r, err, er.HTTPStatus, er.Status, er.Message)
	}
}
