package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"go.temporal.io/sdk/converter"

	"github.com/aepsflow/aepsflow/api"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

const (
	p1Secret = "secret-one-123456"
	p2Secret = "secret-two-654321"
)

// startPartnerApp starts the system with two partners. REQUEST_TIMEOUT is generous: the tests
// check what is recorded, and the machine running them is shared.
func startPartnerApp(t *testing.T, env map[string]string, opts apptest.Options) *apptest.App {
	t.Helper()
	opts.Env = map[string]string{
		"PARTNER_CLIENTS":              "p1:" + p1Secret + ",p2:" + p2Secret,
		"PARTNER_UNKNOWN_REVIEW_AFTER": "2s",
		"REQUEST_TIMEOUT":              "15s",
	}
	for k, v := range env {
		opts.Env[k] = v
	}
	return apptest.Start(t, opts)
}

// partnerTxnID returns a unique 19-digit txnId: above 2^53, so a float would corrupt it.
func partnerTxnID(t *testing.T) string { return apptest.Ref(t) + apptest.Ref(t)[:6] }

// partnerBody is the example of docs/partner-callback.md for ref and txn, with
// changes given as raw JSON values ("<absent>" removes the key). txnId is sent as a number.
func partnerBody(ref, txn string, changes map[string]string) []byte {
	m := map[string]string{
		"statusDesc": `"Transaction Successful"`, "createdDate": `"2022-11-02 12:12:13"`,
		"updatedDate": `"2022-11-02 12:12:50"`, "productCode": `"AEPS"`, "txnType": `"AEPS_CASH_WITHDRAWAL"`,
		"txnAmount": `"2000"`, "txnDateTime": `"2022-11-02 12:12:50"`, "customeridentIfication": `"xxxx-xxxx-5604"`,
		"status": `"SUCCESS"`, "rrn": `"230612077853"`, "txnId": txn, "username": `"Sagarikatest"`,
		"ClientRefID": `"` + ref + `"`, "param_b": `"771"`, "param_c": `""`,
	}
	for k, v := range changes {
		if v == "<absent>" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", k, m[k])
	}
	b.WriteString("}")
	return []byte(b.String())
}

type partnerReply struct {
	Status     string `json:"status"`
	StatusDesc string `json:"statusDesc"`
}

type partnerDelivery struct {
	clientID, secret string // "" leaves the header out
	contentType      string // "" leaves the header out
}

var asP1 = partnerDelivery{clientID: "p1", secret: p1Secret, contentType: "application/json"}

// postPartner delivers a callback the way the partner does: header names in lower case with
// underscores, exactly as the partner's document spells them.
func postPartner(t *testing.T, baseURL string, d partnerDelivery, body []byte) (int, partnerReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/partner/aeps/callback", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if d.clientID != "" {
		req.Header["client_id"] = []string{d.clientID}
	}
	if d.secret != "" {
		req.Header["client_secret"] = []string{d.secret}
	}
	if d.contentType != "" {
		req.Header.Set("Content-Type", d.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post partner callback: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r partnerReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("reply %d is not the partner's shape: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, r
}

func partnerAccept(t *testing.T, a *apptest.App, d partnerDelivery, body []byte) {
	t.Helper()
	code, r := postPartner(t, a.URL, d, body)
	if code != http.StatusOK || r != (partnerReply{"0", "success"}) {
		t.Fatalf("reply %d %+v, want 200 {0 success}", code, r)
	}
}

func partnerCount(t *testing.T, a *apptest.App, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.Store.DB().GetContext(context.Background(), &n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// partnerSnapshot counts what a callback may change, for "nothing changed" checks: one transaction's
// rows, and the tables' totals.
type partnerSnapshot struct {
	Callbacks, Transactions, Outbox, Signals, Events int
	AllCallbacks, AllOutbox                          int
	Flagged                                          bool
	FlagReason, State                                string
}

func partnerTakeSnapshot(t *testing.T, a *apptest.App, provider, ref string) partnerSnapshot {
	t.Helper()
	wf := workflows.WorkflowID(provider, ref)
	s := partnerSnapshot{
		Callbacks: partnerCount(t, a, `SELECT count(*) FROM partner_callbacks p JOIN transactions t ON t.id = p.transaction_id
			WHERE t.workflow_id = $1`, wf),
		Transactions: partnerCount(t, a, `SELECT count(*) FROM transactions WHERE workflow_id = $1`, wf),
		Outbox:       partnerCount(t, a, `SELECT count(*) FROM outbox WHERE workflow_id = $1`, wf),
		Signals:      partnerCount(t, a, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wf),
		// The workflow's own state changes are not the callback's doing.
		Events: partnerCount(t, a, `SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
			WHERE t.workflow_id = $1 AND e.kind <> 'state_changed'`, wf),
		AllCallbacks: partnerCount(t, a, `SELECT count(*) FROM partner_callbacks`),
		AllOutbox:    partnerCount(t, a, `SELECT count(*) FROM outbox`),
	}
	err := a.Store.DB().QueryRowxContext(context.Background(), `SELECT flagged, flag_reason, state FROM transactions
		WHERE workflow_id = $1`, wf).Scan(&s.Flagged, &s.FlagReason, &s.State)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return s
}

func partnerLastInbound(t *testing.T, a *apptest.App) (outcome, detail string, status int, body []byte, headers string) {
	t.Helper()
	err := a.Store.DB().QueryRowxContext(context.Background(), `SELECT outcome, outcome_detail, http_status, body, headers::text
		FROM inbound_requests ORDER BY id DESC LIMIT 1`).Scan(&outcome, &detail, &status, &body, &headers)
	if err != nil {
		t.Fatalf("read last inbound request: %v", err)
	}
	return
}

// Point 4-5: each txnType reaches its own workflow and the state its status maps to; the
// transaction row is built from the callback; search attributes and the read API show it.
func TestPartnerCallbackOutcomes(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{})
	tests := []struct {
		name        string
		changes     map[string]string
		txType      string
		amount      string // "" = NULL
		businessDay string
		states      []txstate.State // states the transaction must pass through, last one final or needs_review
		flagged     bool
	}{
		{"cash withdrawal success", nil, "cash_withdrawal", "2000", "2022-11-02", []txstate.State{"success"}, false},
		{"balance enquiry empty amount success", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `""`},
			"balance_inquiry", "", "2022-11-02", []txstate.State{"success"}, false},
		{"mini statement failed", map[string]string{"txnType": `"AEPS_MINI_STATEMENT"`, "txnAmount": `"0"`, "status": `"FAILED"`},
			"mini_statement", "0", "2022-11-02", []txstate.State{"failed"}, false},
		{"aadhaar pay auth decline", map[string]string{"txnType": `"AADHAAR_PAY"`, "txnAmount": `"500.50"`, "status": `"AUTH_DECLINE"`},
			"aadhaar_pay", "500.5", "2022-11-02", []txstate.State{"failed"}, false},
		{"cash withdrawal FAILURE lower case", map[string]string{"status": `"failure"`}, "cash_withdrawal", "2000", "2022-11-02", []txstate.State{"failed"}, false},
		{"debit timeout is unknown then needs review", map[string]string{"status": `"DEBIT TIMEOUT"`, "statusDesc": `"DEBIT TIMEOUT"`},
			"cash_withdrawal", "2000", "2022-11-02", []txstate.State{"unknown", "needs_review"}, false},
		{"statusDesc never decides", map[string]string{"status": `"PENDING"`, "statusDesc": `"SUCCESS"`},
			"cash_withdrawal", "2000", "2022-11-02", []txstate.State{"unknown", "needs_review"}, false},
		{"business day in IST just after midnight", map[string]string{"txnDateTime": `"2022-11-03 00:10:00"`},
			"cash_withdrawal", "2000", "2022-11-03", []txstate.State{"success"}, false},
		{"unknown txnType kept and flagged", map[string]string{"txnType": `"AEPS_FUND_TRANSFER"`, "txnAmount": `"50"`},
			"aeps_fund_transfer", "50", "2022-11-02", []txstate.State{"success"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, txn := apptest.Ref(t), partnerTxnID(t)
			partnerAccept(t, a, asP1, partnerBody(ref, txn, tt.changes))
			for _, st := range tt.states[:len(tt.states)-1] {
				a.WaitTxPassed(t, "partner:p1", ref, st)
			}
			a.WaitTxState(t, "partner:p1", ref, tt.states[len(tt.states)-1])
			txs, err := a.Store.FindTransactions(context.Background(), ref, "partner:p1")
			if err != nil || len(txs) != 1 {
				t.Fatalf("find: %v %d", err, len(txs))
			}
			tx := txs[0]
			wantWF := workflows.WorkflowID("partner:p1", ref)
			amount := ""
			if tx.Amount.Valid {
				amount = tx.Amount.Decimal.String()
			}
			if tx.WorkflowID != wantWF || tx.ProviderRef != ref || tx.TxType != tt.txType || amount != tt.amount ||
				tx.AgentUserCode.String != "Sagarikatest" || tx.BusinessDay.Format(time.DateOnly) != tt.businessDay || tx.Flagged != tt.flagged {
				t.Fatalf("transaction %+v; want workflow %s, type %s, amount %q, day %s, flagged %v",
					tx, wantWF, tt.txType, tt.amount, tt.businessDay, tt.flagged)
			}
			var known bool
			var flags pq.StringArray
			if err := a.Store.DB().QueryRowxContext(context.Background(), `SELECT txn_type_known, flags FROM partner_callbacks
				WHERE txn_id = $1`, txn).Scan(&known, &flags); err != nil {
				t.Fatal(err)
			}
			if known == tt.flagged || (tt.flagged && !strings.Contains(strings.Join(flags, ","), "unknown_txn_type")) {
				t.Fatalf("txn_type_known %v flags %q", known, flags)
			}

			// Search attributes come from the workflow input.
			desc, err := a.Temporal.DescribeWorkflowExecution(context.Background(), wantWF, "")
			if err != nil {
				t.Fatalf("describe workflow: %v", err)
			}
			attrs := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
			for name, want := range map[string]string{"TxProvider": "partner:p1", "ClientRefID": ref, "TxType": tt.txType,
				"AgentUserCode": "Sagarikatest"} {
				var got string
				if err := converter.GetDefaultDataConverter().FromPayload(attrs[name], &got); err != nil || got != want {
					t.Errorf("search attribute %s = %q (%v), want %q", name, got, err, want)
				}
			}

			// The read API shows the transaction and the callback in its history.
			view := partnerReadTransaction(t, a, ref, "partner:p1")
			if view.State != tt.states[len(tt.states)-1] || !view.hasEvent("partner_callback", txn) {
				t.Fatalf("read API: state %s, events %s", view.State, view.Events)
			}
		})
	}
}

type partnerView struct {
	State       txstate.State   `json:"state"`
	StateReason string          `json:"state_reason"`
	Events      json.RawMessage `json:"events"`
}

func (v partnerView) hasEvent(kind, txn string) bool {
	var evs []struct {
		Kind   string            `json:"kind"`
		Detail map[string]string `json:"detail"`
	}
	_ = json.Unmarshal(v.Events, &evs)
	for _, e := range evs {
		if e.Kind == kind && e.Detail["txn_id"] == txn {
			return true
		}
	}
	return false
}

func partnerReadTransaction(t *testing.T, a *apptest.App, ref, provider string) partnerView {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/v1/transactions/"+ref+"?provider="+url.QueryEscape(provider), nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v partnerView
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		t.Fatalf("read API: %d", resp.StatusCode)
	}
	return v
}

// Point 4: an unknown status, then a later callback (another txnId) with SUCCESS, ends in success.
func TestPartnerUnknownThenSuccess(t *testing.T) {
	a := startPartnerApp(t, map[string]string{"PARTNER_UNKNOWN_REVIEW_AFTER": "10m"}, apptest.Options{})
	ref, first, second := apptest.Ref(t), partnerTxnID(t), partnerTxnID(t)
	partnerAccept(t, a, asP1, partnerBody(ref, first, map[string]string{"status": `"DEBIT TIMEOUT"`}))
	a.WaitTxState(t, "partner:p1", ref, "unknown")
	partnerAccept(t, a, asP1, partnerBody(ref, second, map[string]string{"updatedDate": `"2022-11-02 12:20:00"`}))
	a.WaitTxState(t, "partner:p1", ref, "success")
	s := partnerTakeSnapshot(t, a, "partner:p1", ref)
	if s.Callbacks != 2 || s.Signals != 2 || s.Transactions != 1 || s.Flagged {
		t.Fatalf("after two callbacks: %+v", s)
	}
}

// Point 2: each rule of the field table refused with status 1 and a statusDesc naming the field;
// the request is kept, nothing else is written.
func TestPartnerValidation(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	tests := []struct {
		name    string
		changes map[string]string
		raw     string // a whole body instead of changes
		field   string // statusDesc must contain it
	}{
		{"statusDesc null", map[string]string{"statusDesc": `null`}, "", "statusDesc"},
		{"createdDate missing", map[string]string{"createdDate": "<absent>"}, "", "createdDate"},
		{"createdDate not a date", map[string]string{"createdDate": `"02/11/2022"`}, "", "createdDate"},
		{"updatedDate empty", map[string]string{"updatedDate": `""`}, "", "updatedDate"},
		{"productCode null", map[string]string{"productCode": `null`}, "", "productCode"},
		{"txnType empty", map[string]string{"txnType": `""`}, "", "txnType"},
		{"txnAmount missing", map[string]string{"txnAmount": "<absent>"}, "", "txnAmount"},
		{"txnAmount below 100", map[string]string{"txnAmount": `"99"`}, "", "txnAmount"},
		{"txnAmount above 10000", map[string]string{"txnAmount": `"10001"`}, "", "txnAmount"},
		{"txnAmount empty for withdrawal", map[string]string{"txnAmount": `""`}, "", "txnAmount"},
		{"txnAmount not a number", map[string]string{"txnAmount": `"2,000"`}, "", "txnAmount"},
		{"txnDateTime bad", map[string]string{"txnDateTime": `"2022-11-02T12:12:50Z"`}, "", "txnDateTime"},
		{"customeridentIfication unmasked", map[string]string{"customeridentIfication": `"234567890124"`}, "", "customeridentIfication"},
		{"customeridentIfication empty", map[string]string{"customeridentIfication": `""`}, "", "customeridentIfication"},
		{"status empty", map[string]string{"status": `""`}, "", "status"},
		{"rrn 11 digits", map[string]string{"rrn": `"23061207785"`}, "", "rrn"},
		{"txnId missing", map[string]string{"txnId": "<absent>"}, "", "txnId"},
		{"txnId float", map[string]string{"txnId": `1037255263620431872.0`}, "", "txnId"},
		{"txnId negative", map[string]string{"txnId": `-5`}, "", "txnId"},
		{"txnId over uint64", map[string]string{"txnId": `18446744073709551616`}, "", "txnId"},
		{"username empty", map[string]string{"username": `""`}, "", "username"},
		{"ClientRefID 21 characters", map[string]string{"ClientRefID": `"123456789012345678901"`}, "", "ClientRefID"},
		{"ClientRefID missing", map[string]string{"ClientRefID": "<absent>"}, "", "ClientRefID"},
		{"param_b not alphanumeric", map[string]string{"param_b": `"77-1"`}, "", "param_b"},
		{"param_c 21 characters", map[string]string{"param_c": `"abcdefghijklmnopqrstu"`}, "", "param_c"},
		{"malformed JSON", nil, `{"statusDesc":`, "malformed JSON"},
		{"not an object", nil, `[1,2]`, "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.raw)
			if tt.raw == "" {
				body = partnerBody(apptest.Ref(t), partnerTxnID(t), tt.changes)
			}
			code, r := postPartner(t, a.URL, asP1, body)
			if code != http.StatusBadRequest || r.Status != "1" || !strings.Contains(r.StatusDesc, tt.field) {
				t.Fatalf("reply %d %+v, want 400 status 1 naming %s", code, r, tt.field)
			}
			outcome, detail, status, _, _ := partnerLastInbound(t, a)
			if outcome != "invalid" || status != http.StatusBadRequest || !strings.Contains(detail, tt.field) {
				t.Fatalf("inbound request: %s %d %q", outcome, status, detail)
			}
		})
	}
	if n := partnerCount(t, a, `SELECT count(*) FROM inbound_requests`); n != len(tests) {
		t.Fatalf("%d inbound requests, want %d", n, len(tests))
	}
	if n := partnerCount(t, a, `SELECT count(*) FROM partner_callbacks`) + partnerCount(t, a, `SELECT count(*) FROM transactions`) +
		partnerCount(t, a, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("an invalid callback wrote %d rows beyond the request", n)
	}
}

// Point 1-2: client_secret and full Aadhaar numbers never reach the database or the logs. The
// API is built here around a logger the test can read.
func TestPartnerSecretsAndAadhaarNeverStoredOrLogged(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	var logs partnerLogBuffer
	srv := &api.Server{Config: a.Config, Store: a.Store, Temporal: a.Temporal, Intents: intents.New(a.Config, a.Temporal), Now: time.Now,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	ref := apptest.Ref(t)
	// A valid callback, then one with a wrong secret, then unmasked Aadhaar numbers (plain,
	// grouped, as a number, under a key in other case).
	if code, r := postPartner(t, hs.URL, asP1, partnerBody(ref, partnerTxnID(t), nil)); code != 200 || r.Status != "0" {
		t.Fatalf("valid callback: %d %+v", code, r)
	}
	if code, _ := postPartner(t, hs.URL, partnerDelivery{"p1", p2Secret, "application/json"}, partnerBody(ref, partnerTxnID(t), nil)); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	unmasked := []string{`"234567890124"`, `"2345 6789 0124"`, `234567890124`, `":2345-6789-0124"`}
	for _, v := range unmasked {
		code, r := postPartner(t, hs.URL, asP1, partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": v}))
		if code != 400 || r.Status != "1" || !strings.Contains(r.StatusDesc, "customeridentIfication must be a masked Aadhaar number") {
			t.Fatalf("unmasked %s: %d %+v", v, code, r)
		}
		_, _, _, body, _ := partnerLastInbound(t, a)
		if !bytes.Contains(body, []byte("0124")) || !bytes.Contains(body, []byte("XXXX")) {
			t.Fatalf("stored body does not hold the masked value: %s", body)
		}
	}
	m := partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": "<absent>"})
	m = bytes.Replace(m, []byte(`{`), []byte(`{"CustomerIdentification":"234567890124",`), 1)
	if code, _ := postPartner(t, hs.URL, asP1, m); code != 400 {
		t.Fatalf("unmasked under another key case: %d", code)
	}
	// Spellings that decode to a full number but that byte-level masking misses, and a partly
	// masked value: refused, and stored with no more than the last four digits.
	escapedKey := partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": "<absent>"})
	escapedKey = bytes.Replace(escapedKey, []byte(`{`), []byte(`{"customeridentIficatio\u006e":"234567890124",`), 1)
	spelled := []struct {
		name       string
		body       []byte
		storedHere string // the masked value in the stored body
	}{
		{"negative number", partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": `-234567890124`}),
			`"customeridentIfication":"-XXXXXXXX0124"`},
		{"escaped key", escapedKey, `"customeridentIfication":"XXXXXXXX0124"`},
		{"escaped digits", partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{
			"customeridentIfication": `"\u0032\u0033\u0034\u0035\u0036\u0037\u0038\u0039\u0030\u0031\u0032\u0034"`}),
			`"customeridentIfication":"XXXXXXXX0124"`},
		{"exponent", partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": `2.34567890124e11`}),
			`"customeridentIfication":"X.XXXXXXXXX24e11"`},
		{"partly masked", partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"customeridentIfication": `"xxxx-6789-0124"`}),
			`"customeridentIfication":"xxxx-XXXX-0124"`},
	}
	for _, tt := range spelled {
		code, r := postPartner(t, hs.URL, asP1, tt.body)
		if code != 400 || r.Status != "1" || !strings.Contains(r.StatusDesc, "customeridentIfication must be a masked Aadhaar number") {
			t.Fatalf("%s: %d %+v", tt.name, code, r)
		}
		_, _, _, body, _ := partnerLastInbound(t, a)
		if !bytes.Contains(body, []byte(tt.storedHere)) {
			t.Errorf("%s: stored body does not hold %s: %s", tt.name, tt.storedHere, body)
		}
	}

	var stored strings.Builder
	rows, err := a.Store.DB().QueryContext(context.Background(), `SELECT headers::text || convert_from(body, 'UTF8') || outcome_detail FROM inbound_requests
		UNION ALL SELECT row_to_json(p)::text FROM partner_callbacks p
		UNION ALL SELECT row_to_json(t)::text FROM transactions t
		UNION ALL SELECT row_to_json(e)::text FROM tx_events e
		UNION ALL SELECT payload::text FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		stored.WriteString(s + "\n")
	}
	if !strings.Contains(stored.String(), `"client_id": "p1"`) {
		t.Errorf("client_id not kept with the stored requests:\n%s", stored.String())
	}
	for where, text := range map[string]string{"database": stored.String(), "logs": logs.String()} {
		for _, leak := range []string{p1Secret, p2Secret, "234567890124", "2345 6789 0124", "2345-6789-0124",
			"34567890124", `\u0032\u0033\u0034`, "6789-0124"} {
			if strings.Contains(text, leak) {
				t.Errorf("%q found in the %s:\n%s", leak, where, text)
			}
		}
	}
}

type partnerLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *partnerLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *partnerLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Point 5: txnId survives PostgreSQL exactly, sent as a number or as a string.
func TestPartnerTxnIDExactness(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	tests := []struct{ name, sent, want string }{
		{"documented example as number", `1037255263620431872`, "1037255263620431872"},
		{"documented example plus one as string", `"1037255263620431873"`, "1037255263620431873"},
		{"2^53+1 as number", `9007199254740993`, "9007199254740993"},
		{"uint64 max as string", `"18446744073709551615"`, "18446744073709551615"},
		{"uint64 max minus one as number", `18446744073709551614`, "18446744073709551614"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			partnerAccept(t, a, asP1, partnerBody(ref, tt.sent, nil))
			txs, err := a.Store.FindTransactions(context.Background(), ref, "partner:p1")
			if err != nil || len(txs) != 1 {
				t.Fatalf("find: %v", err)
			}
			cbs, err := a.Store.PartnerCallbacks(context.Background(), txs[0].ID)
			if err != nil || len(cbs) != 1 || cbs[0].TxnID != tt.want {
				t.Fatalf("stored txn_id %+v (%v), want %s", cbs, err, tt.want)
			}
			// And it is found again by exact value, not by a rounded neighbour.
			if n := partnerCount(t, a, `SELECT count(*) FROM partner_callbacks WHERE txn_id = $1`, tt.want); n != 1 {
				t.Fatalf("%d rows with txn_id %s", n, tt.want)
			}
			if view := partnerReadTransaction(t, a, ref, "partner:p1"); !view.hasEvent("partner_callback", tt.want) {
				t.Fatalf("read API events lack txn_id %s: %s", tt.want, view.Events)
			}
		})
	}
}

// Point 3: a re-delivery of the same content replies 0 and changes nothing; the same txnId with
// other content is kept as a conflict, flags the transaction and is not applied; the same body
// from another partner is another partner's transaction.
func TestPartnerDuplicateAndConflict(t *testing.T) {
	// Long enough that a subtest sees unknown before the review window moves it on, on a busy machine.
	a := startPartnerApp(t, map[string]string{"PARTNER_UNKNOWN_REVIEW_AFTER": "10s"}, apptest.Options{})
	ctx := context.Background()

	t.Run("duplicate changes nothing", func(t *testing.T) {
		ref, txn := apptest.Ref(t), partnerTxnID(t)
		partnerAccept(t, a, asP1, partnerBody(ref, txn, nil))
		a.WaitTxState(t, "partner:p1", ref, "success")
		before := partnerTakeSnapshot(t, a, "partner:p1", ref)
		// Same content, other spelling: txnId as a string, keys reordered, whitespace.
		again := bytes.ReplaceAll(partnerBody(ref, `"`+txn+`"`, nil), []byte(","), []byte(" ,\n "))
		partnerAccept(t, a, asP1, again)
		if after := partnerTakeSnapshot(t, a, "partner:p1", ref); after != before {
			t.Fatalf("duplicate changed something:\n before %+v\n after  %+v", before, after)
		}
		if outcome, _, status, _, _ := partnerLastInbound(t, a); outcome != "duplicate" || status != 200 {
			t.Fatalf("duplicate recorded as %s %d", outcome, status)
		}
	})

	t.Run("conflict after a final state is flagged, not applied", func(t *testing.T) {
		ref, txn := apptest.Ref(t), partnerTxnID(t)
		partnerAccept(t, a, asP1, partnerBody(ref, txn, nil))
		a.WaitTxState(t, "partner:p1", ref, "success")
		before := partnerTakeSnapshot(t, a, "partner:p1", ref)
		conflicting := partnerBody(ref, txn, map[string]string{"status": `"FAILED"`, "updatedDate": `"2022-11-02 13:00:00"`})
		partnerAccept(t, a, asP1, conflicting)
		after := partnerTakeSnapshot(t, a, "partner:p1", ref)
		if after.Callbacks != before.Callbacks+1 || after.Signals != before.Signals || after.State != "success" ||
			!after.Flagged || !strings.Contains(after.FlagReason, "different content") {
			t.Fatalf("conflict:\n before %+v\n after  %+v", before, after)
		}
		var conflict bool
		var disposition string
		if err := a.Store.DB().QueryRowxContext(ctx, `SELECT conflict, disposition FROM partner_callbacks
			WHERE txn_id = $1 AND status = 'FAILED'`, txn).Scan(&conflict, &disposition); err != nil || !conflict || disposition != "conflict" {
			t.Fatalf("conflict row: %v %s %v", conflict, disposition, err)
		}
		// A re-delivery of the conflicting content is a duplicate of it.
		partnerAccept(t, a, asP1, conflicting)
		if again := partnerTakeSnapshot(t, a, "partner:p1", ref); again != after {
			t.Fatalf("re-delivered conflict changed something:\n before %+v\n after  %+v", after, again)
		}
	})

	t.Run("conflict while unknown does not decide the outcome", func(t *testing.T) {
		ref, txn := apptest.Ref(t), partnerTxnID(t)
		partnerAccept(t, a, asP1, partnerBody(ref, txn, map[string]string{"status": `"DEBIT TIMEOUT"`}))
		a.WaitTxState(t, "partner:p1", ref, "unknown")
		partnerAccept(t, a, asP1, partnerBody(ref, txn, nil)) // same txnId, now SUCCESS
		a.WaitTxState(t, "partner:p1", ref, "needs_review")
		if s := partnerTakeSnapshot(t, a, "partner:p1", ref); !s.Flagged || s.Signals != 1 {
			t.Fatalf("after conflict: %+v", s)
		}
	})

	t.Run("late callbacks after the final state", func(t *testing.T) {
		ref := apptest.Ref(t)
		partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), nil))
		a.WaitTxState(t, "partner:p1", ref, "success")
		before := partnerTakeSnapshot(t, a, "partner:p1", ref)
		partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), nil)) // agrees: recorded, not flagged
		agree := partnerTakeSnapshot(t, a, "partner:p1", ref)
		if agree.Callbacks != before.Callbacks+1 || agree.Signals != before.Signals || agree.Flagged {
			t.Fatalf("agreeing late callback: %+v", agree)
		}
		partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), map[string]string{"status": `"FAILED"`}))
		s := partnerTakeSnapshot(t, a, "partner:p1", ref)
		if s.State != "success" || !s.Flagged || !strings.Contains(s.FlagReason, "after the final state") || s.Signals != before.Signals {
			t.Fatalf("contradicting late callback: %+v", s)
		}
		if n := partnerCount(t, a, `SELECT count(*) FROM partner_callbacks p JOIN transactions t ON t.id = p.transaction_id
			WHERE t.client_ref_id = $1 AND p.disposition = 'after_final' AND p.contradicts_final`, ref); n != 1 {
			t.Fatalf("%d contradicting after_final rows", n)
		}
	})

	t.Run("other details for the same ClientRefID are not applied", func(t *testing.T) {
		ref := apptest.Ref(t)
		partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), map[string]string{"status": `"DEBIT TIMEOUT"`}))
		a.WaitTxState(t, "partner:p1", ref, "unknown")
		partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), map[string]string{"txnAmount": `"3000"`}))
		s := partnerTakeSnapshot(t, a, "partner:p1", ref)
		// Another amount is delivered too: the workflow parks it in needs_review (TestPartnerAmountMismatch).
		if !s.Flagged || s.Signals != 2 || !strings.Contains(s.FlagReason, "another txnType, amount or username") {
			t.Fatalf("mismatch: %+v", s)
		}
		a.WaitTxState(t, "partner:p1", ref, "needs_review")
	})

	t.Run("txnId reused for another ClientRefID", func(t *testing.T) {
		first, second, txn := apptest.Ref(t), apptest.Ref(t), partnerTxnID(t)
		partnerAccept(t, a, asP1, partnerBody(first, txn, nil))
		partnerAccept(t, a, asP1, partnerBody(second, txn, nil))
		// The second transaction exists (its workflow started, so that it reaches needs_review
		// without a usable callback), flagged, and the callback was not delivered to it.
		s := partnerTakeSnapshot(t, a, "partner:p1", second)
		if s.Transactions != 1 || s.Callbacks != 1 || s.Signals != 0 || s.Outbox != 1 || !s.Flagged || s.State != "pending" {
			t.Fatalf("second ClientRefID: %+v", s)
		}
		testenv.WaitFor(t, 60*time.Second, "workflow of the second ClientRefID started", func() (bool, error) {
			_, err := a.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID("partner:p1", second), "")
			return err == nil, err
		})
		a.WaitTxState(t, "partner:p1", first, "success")
	})

	t.Run("same body from another partner is its own transaction", func(t *testing.T) {
		ref, txn := apptest.Ref(t), partnerTxnID(t)
		body := partnerBody(ref, txn, nil)
		partnerAccept(t, a, asP1, body)
		partnerAccept(t, a, partnerDelivery{"p2", p2Secret, "application/json"}, body)
		a.WaitTxState(t, "partner:p1", ref, "success")
		a.WaitTxState(t, "partner:p2", ref, "success")
		if n := partnerCount(t, a, `SELECT count(*) FROM partner_callbacks WHERE txn_id = $1`, txn); n != 2 {
			t.Fatalf("%d callbacks, want one per partner", n)
		}
	})
}

// Point 3: delivery 1 fails while PostgreSQL refuses connections (status 1, 503, so the partner
// retries), delivery 2 succeeds and is durable, delivery 3 (the partner's other retry) is a
// duplicate that changes nothing.
func TestPartnerRetryAfterDatabaseFailure(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{})
	ref, txn := apptest.Ref(t), partnerTxnID(t)
	body := partnerBody(ref, txn, nil)

	partnerSetDatabaseAvailable(t, a, false)
	code, r := postPartner(t, a.URL, asP1, body)
	partnerSetDatabaseAvailable(t, a, true)
	if code != http.StatusServiceUnavailable || r.Status != "1" || r.StatusDesc == "" {
		t.Fatalf("delivery 1 during the outage: %d %+v, want 503 status 1", code, r)
	}
	if s := partnerTakeSnapshot(t, a, "partner:p1", ref); s.Callbacks != 0 || s.Transactions != 0 || s.Outbox != 0 {
		t.Fatalf("the failed delivery left rows behind: %+v", s)
	}

	partnerAccept(t, a, asP1, body)
	durable := partnerTakeSnapshot(t, a, "partner:p1", ref)
	if durable.Callbacks != 1 || durable.Transactions != 1 || durable.Signals != 1 {
		t.Fatalf("delivery 2 not durable: %+v", durable)
	}
	a.WaitTxState(t, "partner:p1", ref, "success")
	durable = partnerTakeSnapshot(t, a, "partner:p1", ref)

	partnerAccept(t, a, asP1, body)
	if s := partnerTakeSnapshot(t, a, "partner:p1", ref); s != durable {
		t.Fatalf("delivery 3 changed something:\n before %+v\n after  %+v", durable, s)
	}
	if n := partnerCount(t, a, `SELECT count(*) FROM inbound_requests WHERE outcome = 'duplicate' AND reference = $1`, ref); n != 1 {
		t.Fatalf("%d duplicate requests recorded, want 1", n)
	}
}

// partnerSetDatabaseAvailable makes the test database refuse (or accept again) every connection, as a
// PostgreSQL outage does: ALLOW_CONNECTIONS false applies to superusers too, and the existing
// sessions are terminated. While it lasts the store keeps no idle connections, so none that the
// outage killed is reused afterwards (a real pool would fail one query per such connection, and
// the partner's retry would cover it).
func partnerSetDatabaseAvailable(t *testing.T, a *apptest.App, available bool) {
	t.Helper()
	u, err := url.Parse(a.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("postgres", os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %v", pq.QuoteIdentifier(name), available)); err != nil {
		t.Fatalf("set ALLOW_CONNECTIONS %v: %v", available, err)
	}
	if available {
		a.Store.DB().SetMaxIdleConns(32)
		testenv.WaitFor(t, 30*time.Second, "database back", func() (bool, error) { return true, a.Store.Ping(ctx) })
		return
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS true", pq.QuoteIdentifier(name)))
	})
	a.Store.DB().SetMaxIdleConns(0)
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		t.Fatalf("terminate sessions: %v", err)
	}
	testenv.WaitFor(t, 30*time.Second, "database refusing connections", func() (bool, error) {
		err := a.Store.Ping(ctx)
		return err != nil, nil
	})
}

// Point 1: credentials.
func TestPartnerAuth(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	tests := []struct {
		name string
		d    partnerDelivery
		want int
	}{
		{"no credentials", partnerDelivery{"", "", "application/json"}, 401},
		{"no secret", partnerDelivery{"p1", "", "application/json"}, 401},
		{"no client_id", partnerDelivery{"", p1Secret, "application/json"}, 401},
		{"wrong secret", partnerDelivery{"p1", "secret-one-123457", "application/json"}, 401},
		{"secret in other case", partnerDelivery{"p1", strings.ToUpper(p1Secret), "application/json"}, 401},
		{"secret prefix", partnerDelivery{"p1", p1Secret[:8], "application/json"}, 401},
		{"unknown client_id", partnerDelivery{"p3", p1Secret, "application/json"}, 401},
		{"client_id in other case", partnerDelivery{"P1", p1Secret, "application/json"}, 401},
		{"p1 with p2's secret", partnerDelivery{"p1", p2Secret, "application/json"}, 401},
		{"p2 with p1's secret", partnerDelivery{"p2", p1Secret, "application/json"}, 401},
		{"p1", asP1, 200},
		{"p2", partnerDelivery{"p2", p2Secret, "application/json"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r := postPartner(t, a.URL, tt.d, partnerBody(apptest.Ref(t), partnerTxnID(t), nil))
			wantStatus := "0"
			if tt.want != 200 {
				wantStatus = "1"
			}
			if code != tt.want || r.Status != wantStatus || r.StatusDesc == "" {
				t.Fatalf("reply %d %+v, want %d status %s", code, r, tt.want, wantStatus)
			}
			outcome, _, status, _, headers := partnerLastInbound(t, a)
			if tt.want == 401 && (outcome != "unauthorized" || status != 401) {
				t.Fatalf("inbound request %s %d", outcome, status)
			}
			if strings.Contains(headers, "secret") || (tt.d.clientID != "" && !strings.Contains(headers, `"client_id": "`+tt.d.clientID+`"`)) {
				t.Fatalf("stored headers %s", headers)
			}
		})
	}
	if n := partnerCount(t, a, `SELECT count(*) FROM partner_callbacks`); n != 2 {
		t.Fatalf("%d callbacks recorded, want the 2 authenticated ones", n)
	}
}

// Point 1: Content-Type and body size.
func TestPartnerContentTypeAndSize(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	tests := []struct {
		contentType string
		want        int
	}{
		{"application/json", 200},
		{"application/JSON", 200},
		{"application/json; charset=utf-8", 200},
		{"APPLICATION/JSON;charset=UTF-8", 200},
		{"", 415},
		{"text/plain", 415},
		{"application/x-www-form-urlencoded", 415},
		{"text/json", 415},
		{"application/jsonp", 415},
		{"multipart/form-data; boundary=x", 415},
	}
	for _, tt := range tests {
		t.Run("content type "+tt.contentType, func(t *testing.T) {
			d := asP1
			d.contentType = tt.contentType
			code, r := postPartner(t, a.URL, d, partnerBody(apptest.Ref(t), partnerTxnID(t), nil))
			if code != tt.want || (tt.want == 415) != (r.Status == "1") {
				t.Fatalf("reply %d %+v, want %d", code, r, tt.want)
			}
			if outcome, _, _, _, _ := partnerLastInbound(t, a); tt.want == 415 && outcome != "unsupported_media_type" {
				t.Fatalf("inbound outcome %s", outcome)
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		pad := `"` + strings.Repeat("a", int(a.Config.MaxBodyBytes)) + `"`
		body := partnerBody(apptest.Ref(t), partnerTxnID(t), map[string]string{"padding": pad})
		code, r := postPartner(t, a.URL, asP1, body)
		if code != http.StatusRequestEntityTooLarge || r.Status != "1" || r.StatusDesc == "" {
			t.Fatalf("reply %d %+v, want 413 status 1", code, r)
		}
		var truncated bool
		var size int
		if err := a.Store.DB().QueryRowxContext(context.Background(), `SELECT body_truncated, body_size FROM inbound_requests
			ORDER BY id DESC LIMIT 1`).Scan(&truncated, &size); err != nil || !truncated || size != len(body) {
			t.Fatalf("stored request: truncated %v size %d (%v), want true %d", truncated, size, err, len(body))
		}
	})
}

// Point 3/6: twenty concurrent deliveries of one callback: all get 0, one row, one signal.
func TestPartnerConcurrentDeliveries(t *testing.T) {
	a := startPartnerApp(t, nil, apptest.Options{})
	ref, txn := apptest.Ref(t), partnerTxnID(t)
	body := partnerBody(ref, txn, nil)
	const n = 20
	type result struct {
		code int
		r    partnerReply
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, a.URL+"/partner/aeps/callback", bytes.NewReader(body))
			req.Header["client_id"] = []string{"p1"}
			req.Header["client_secret"] = []string{p1Secret}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{code: -1}
				return
			}
			defer resp.Body.Close()
			var r partnerReply
			_ = json.NewDecoder(resp.Body).Decode(&r)
			results <- result{resp.StatusCode, r}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	for res := range results {
		if res.code != 200 || res.r != (partnerReply{"0", "success"}) {
			t.Errorf("a delivery got %d %+v", res.code, res.r)
		}
	}
	s := partnerTakeSnapshot(t, a, "partner:p1", ref)
	if s.Callbacks != 1 || s.Signals != 1 || s.Transactions != 1 {
		t.Fatalf("after %d concurrent deliveries: %+v, want one callback, one signal, one transaction", n, s)
	}
	if got := partnerCount(t, a, `SELECT count(*) FROM inbound_requests WHERE reference = $1`, ref); got != n {
		t.Fatalf("%d requests recorded, want %d", got, n)
	}
	if got := partnerCount(t, a, `SELECT count(*) FROM inbound_requests WHERE reference = $1 AND outcome = 'duplicate'`, ref); got != n-1 {
		t.Fatalf("%d duplicates recorded, want %d", got, n-1)
	}
	a.WaitTxState(t, "partner:p1", ref, "success")
}
