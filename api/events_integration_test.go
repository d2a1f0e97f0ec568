package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

const webhookSecret = "whsec_test_0123456789abcdef"

// delivery is one POST the platform's receiver got.
type delivery struct {
	EventID, Key, Signature string
	Body                    []byte
	Acked                   bool // answered 2xx to a client still waiting for the answer
}

// receiver plays the platform's backend: it refuses the first `failFirst` deliveries (503), can
// hold deliveries of one event until released, and acknowledges the rest.
type receiver struct {
	mu         sync.Mutex
	deliveries []delivery
	failFirst  int
	holdEvent  string        // the type whose deliveries are held
	held       chan struct{} // receives one value per held delivery
	aborted    chan struct{} // receives one value per held delivery whose sender went away
	release    chan struct{} // closed: held deliveries are answered 200
	refuse     atomic.Bool   // refuse every delivery (503)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		EventID string `json:"event_id"`
		Type    string `json:"type"`
	}
	_ = json.Unmarshal(body, &ev)
	d := delivery{EventID: ev.EventID, Key: r.Header.Get("Idempotency-Key"), Signature: r.Header.Get("Aepsflow-Signature"), Body: body}
	rc.mu.Lock()
	fail := len(rc.deliveries) < rc.failFirst || rc.refuse.Load()
	hold := rc.holdEvent != "" && ev.Type == rc.holdEvent
	idx := len(rc.deliveries)
	rc.deliveries = append(rc.deliveries, d)
	rc.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if hold {
		rc.held <- struct{}{}
		select {
		case <-rc.release:
		case <-r.Context().Done():
			rc.aborted <- struct{}{}
			return // the sender is gone (worker stopped): never acknowledged
		}
	}
	w.WriteHeader(http.StatusOK)
	rc.mu.Lock()
	rc.deliveries[idx].Acked = true
	rc.mu.Unlock()
}

func (rc *receiver) snapshot() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.deliveries...)
}

// verifySignature checks Aepsflow-Signature from scratch: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
func verifySignature(t *testing.T, header string, body []byte) {
	t.Helper()
	ts, sig, ok := strings.Cut(header, ",")
	ts, ok1 := strings.CutPrefix(ts, "t=")
	sig, ok2 := strings.CutPrefix(sig, "v1=")
	if !ok || !ok1 || !ok2 {
		t.Fatalf("signature header %q", header)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Fatalf("signature time %q", ts)
	}
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(ts + "." + string(body)))
	if want := hex.EncodeToString(m.Sum(nil)); sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
}

func webhookApp(t *testing.T, rc *receiver, env ...string) *apptest.App {
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	e := map[string]string{
		"VERIFY_SUCCESS": "false", "VERIFY_FAILURE": "false",
		"WEBHOOK_URL": srv.URL + "/aeps/events", "WEBHOOK_SECRET": webhookSecret,
		"WEBHOOK_INITIAL_BACKOFF": "200ms", "WEBHOOK_MAX_BACKOFF": "1s", "WEBHOOK_TIMEOUT": "2s",
	}
	for i := 0; i+1 < len(env); i += 2 {
		e[env[i]] = env[i+1]
	}
	return apptest.Start(t, apptest.Options{Env: e})
}

// TestEventsToPlatform: a success, a failure and a transaction that goes to needs_review and is
// resolved each produce their events; the receiver refuses the first three deliveries. Every
// event arrives, verifies, carries its event_id as Idempotency-Key and is acknowledged once;
// nothing personal is in any body.
func TestEventsToPlatform(t *testing.T) {
	t.Parallel()
	rc := &receiver{failFirst: 3}
	a := webhookApp(t, rc)
	a.RegisterAgent(agentCode, nil, nil)
	type want struct{ ref, status string }
	refs := map[string][]string{} // ref -> event types expected in order
	var wfs []string
	for _, w := range []want{{"", "0"}, {"", "1"}, {"", "9"}} {
		ref, wfID := a.CashWithdrawal(t, agentCode, "100.00")
		wfs = append(wfs, wfID)
		if status, r := post(t, a, ekoResponse(t, ref, w.status, map[string]any{"commission": "6.0", "tds": "0.3"})); status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("eko-response: %d %+v", status, r)
		}
		switch w.status {
		case "0":
			refs[ref] = []string{"transaction.succeeded"}
		case "1":
			refs[ref] = []string{"transaction.failed"}
		case "9":
			refs[ref] = []string{"transaction.needs_review", "transaction.resolved"}
			a.WaitTxState(t, "", ref, "needs_review")
			if status, body := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/resolve", apptest.AdminToken,
				`{"state":"success","reason":"bank statement shows the debit"}`); status != http.StatusAccepted {
				t.Fatalf("resolve: %d %v", status, body)
			}
		}
	}
	for _, wf := range wfs {
		workflowResult(t, a, wf) // completes only once its events were acknowledged
	}

	acked := map[string]int{}
	byRef := map[string][]string{}
	for _, d := range rc.snapshot() {
		verifySignature(t, d.Signature, d.Body)
		if d.Key != d.EventID || !strings.HasPrefix(d.EventID, "evt_") {
			t.Errorf("Idempotency-Key %q, event_id %q", d.Key, d.EventID)
		}
		if strings.Contains(string(d.Body), customer) || strings.Contains(string(d.Body), "XXXX XXXX") {
			t.Errorf("personal data in %s", d.Body)
		}
		if !d.Acked {
			continue
		}
		acked[d.EventID]++
		var ev map[string]any
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			t.Fatal(err)
		}
		ref := ev["client_ref_id"].(string)
		byRef[ref] = append(byRef[ref], ev["type"].(string))
		if ev["amount"] != "100.00" || ev["provider"] != "eko" || ev["tx_type"] != "cash_withdrawal" || ev["agent_user_code"] != agentCode ||
			ev["tid"] != "T"+ref || ev["bank_ref_num"] != "BRN"+ref || ev["occurred_at"] == "" {
			t.Errorf("event %s", d.Body)
		}
		if ev["type"] == "transaction.succeeded" && (ev["commission"] != "6.00" || ev["tds"] != "0.30" || ev["state"] != "success") {
			t.Errorf("success event %s", d.Body)
		}
		if ev["type"] == "transaction.resolved" && (ev["state"] != "success" || !strings.Contains(ev["reason"].(string), "bank statement")) {
			t.Errorf("resolved event %s", d.Body)
		}
	}
	for ref, types := range refs {
		if strings.Join(byRef[ref], ",") != strings.Join(types, ",") {
			t.Errorf("%s: acknowledged events %v, want %v in order", ref, byRef[ref], types)
		}
	}
	for id, n := range acked {
		if n != 1 {
			t.Errorf("event %s acknowledged %d times", id, n)
		}
	}
	if len(acked) != 4 || len(rc.snapshot()) < 7 {
		t.Errorf("%d events acknowledged in %d deliveries, want 4 after 3 refusals", len(acked), len(rc.snapshot()))
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NOT NULL`); n != 4 {
		t.Errorf("%d events recorded as acknowledged", n)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NOT NULL AND attempts >= 1`); n != 4 {
		t.Errorf("attempts not recorded: %d", n)
	}
}

// TestEventsWorkerRestart stops the worker while the platform holds a delivery: the sender is
// gone before any acknowledgement. The restarted worker sends the event again; once acknowledged
// it is never sent again, and the re-send API does not send it either.
func TestEventsWorkerRestart(t *testing.T) {
	t.Parallel()
	rc := &receiver{holdEvent: "transaction.succeeded", held: make(chan struct{}, 4), aborted: make(chan struct{}, 4), release: make(chan struct{})}
	a := webhookApp(t, rc)
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100.00")
	post(t, a, ekoResponse(t, ref, "0", nil))
	select {
	case <-rc.held:
	case <-time.After(45 * time.Second):
		t.Fatal("no delivery of transaction.succeeded")
	}
	a.StopWorker() // mid-delivery: the receiver still holds the request
	select {
	case <-rc.aborted: // the stopped worker's POST went away unanswered
	case <-time.After(45 * time.Second):
		t.Fatal("the held delivery outlived the worker")
	}
	close(rc.release)
	a.StartWorker()
	workflowResult(t, a, wfID)

	ds := rc.snapshot()
	acks := 0
	for _, d := range ds {
		verifySignature(t, d.Signature, d.Body)
		if d.Acked {
			acks++
		}
	}
	if len(ds) < 2 || acks != 1 || ds[0].Acked {
		t.Fatalf("deliveries %d, acknowledged %d (first acknowledged: %v): want the first lost with the worker, one acknowledged after",
			len(ds), acks, ds[0].Acked)
	}
	if string(ds[0].Body) != string(ds[len(ds)-1].Body) {
		t.Errorf("the retry sent another body:\n%s\n%s", ds[0].Body, ds[len(ds)-1].Body)
	}
	// An operator's re-send: nothing left to send.
	status, body := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/events/resend", apptest.AdminToken, "")
	if status != http.StatusOK || len(rc.snapshot()) != len(ds) {
		t.Fatalf("re-send: %d %v; deliveries %d -> %d", status, body, len(ds), len(rc.snapshot()))
	}
}

// TestEventsPastDeadline: the platform refuses everything until past WEBHOOK_DEADLINE. The first
// event is set aside and the transaction flagged; the later one is held behind it, never sent
// out of order. The re-send API then delivers both, in order, once each.
func TestEventsPastDeadline(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	rc.refuse.Store(true)
	a := webhookApp(t, rc, "WEBHOOK_DEADLINE", "3s")
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100.00")
	post(t, a, ekoResponse(t, ref, "9", nil))
	a.WaitTxState(t, "", ref, "needs_review")
	if status, body := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/resolve", apptest.AdminToken,
		`{"state":"failed","reason":"no debit on the statement"}`); status != http.StatusAccepted {
		t.Fatalf("resolve: %d %v", status, body)
	}
	workflowResult(t, a, wfID)
	tx := mustTx(t, a, ref)
	if !tx.Flagged || !strings.Contains(tx.FlagReason, "not acknowledged") {
		t.Fatalf("transaction %+v: want flagged for the undelivered event", tx)
	}
	var types []string
	for _, d := range rc.snapshot() {
		var ev struct{ Type string }
		_ = json.Unmarshal(d.Body, &ev)
		types = append(types, ev.Type)
		if ev.Type != "transaction.needs_review" {
			t.Fatalf("%s sent before needs_review was acknowledged", ev.Type)
		}
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM webhook_events WHERE gave_up_at IS NOT NULL AND acknowledged_at IS NULL`); n != 2 {
		t.Fatalf("%d events set aside, want 2 (needs_review, and resolved held behind it)", n)
	}

	rc.refuse.Store(false)
	before := len(rc.snapshot())
	status, body := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/events/resend", apptest.RaviToken, "")
	if status != http.StatusOK {
		t.Fatalf("re-send: %d %v", status, body)
	}
	// The re-send is an audit event of ravi's, naming the two events it set out to send.
	if n := a.QueryInt(t, `SELECT count(*) FROM audit_events WHERE operator = 'ravi' AND action = 'resend'
		AND target = $1 AND jsonb_array_length(detail->'event_ids') = 2`, wfID); n != 1 {
		t.Errorf("%d audit events of ravi's re-send of 2 events, want 1", n)
	}
	var got []string
	for _, d := range rc.snapshot()[before:] {
		verifySignature(t, d.Signature, d.Body)
		var ev struct{ Type, State string }
		_ = json.Unmarshal(d.Body, &ev)
		got = append(got, ev.Type+":"+ev.State)
	}
	if strings.Join(got, ",") != "transaction.needs_review:needs_review,transaction.resolved:failed" {
		t.Fatalf("re-sent %v", got)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NOT NULL AND gave_up_at IS NULL`); n != 2 {
		t.Fatalf("%d events acknowledged after the re-send", n)
	}
	// Again: nothing left to send.
	if status, _ := admin(t, a, http.MethodPost, "/v1/transactions/"+ref+"/events/resend", apptest.AdminToken, ""); status != http.StatusOK ||
		len(rc.snapshot()) != before+2 {
		t.Fatalf("second re-send: %d, deliveries %d", status, len(rc.snapshot()))
	}
}

// TestEventsOffWithoutURL: with WEBHOOK_URL unset, a transaction's workflow schedules no
// SendEvent at all (and records no platform-events marker), and no event is stored.
func TestEventsOffWithoutURL(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{Env: map[string]string{"VERIFY_SUCCESS": "false"}})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100.00")
	post(t, a, ekoResponse(t, ref, "0", nil))
	workflowResult(t, a, wfID)
	if n := historyMentions(t, a, wfID, "SendEvent") + historyMentions(t, a, wfID, "platform-events"); n != 0 {
		t.Errorf("%d history events mention SendEvent or platform-events", n)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM webhook_events`); n != 0 {
		t.Errorf("%d events stored", n)
	}
}
