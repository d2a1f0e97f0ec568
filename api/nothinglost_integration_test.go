package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestNothingLost: whatever arrives on the callback URL gets an answer in the protocol's shape and
// a stored record, however broken it is.
func TestNothingLost(t *testing.T) {
	t.Parallel()
	const maxBody = 2048
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: map[string]string{"MAX_BODY_BYTES": "2048"}})
	a.RegisterAgent(agentCode, nil, nil)

	// Each body carries a unique marker, by which its stored record is found.
	tests := []struct {
		name        string
		contentType string
		body        func(marker string) string
		wantStatus  int
		// wantShape: "refuse" is {"action":"go","allow":false,"message"}, "error" is {"status":"error"}.
		wantShape   string
		wantOutcome string
		wantDetail  string
		wantAction  string
	}{
		{"malformed JSON", "application/json", func(m string) string { return `{"action":"debit-hook","detail":{"client_ref_id":"` + m + `",` },
			http.StatusBadRequest, "refuse", "invalid", "malformed JSON", ""},
		{"form data", "application/x-www-form-urlencoded", func(m string) string { return "action=debit-hook&client_ref_id=" + m + "&amount=100" },
			http.StatusBadRequest, "refuse", "invalid", "malformed JSON", ""},
		{"plain text", "text/plain", func(m string) string { return "hello " + m },
			http.StatusBadRequest, "refuse", "invalid", "malformed JSON", ""},
		{"trailing garbage", "application/json", func(m string) string {
			return `{"action":"eko-response","detail":{"client_ref_id":"` + m + `","response":{}}}}`
		}, http.StatusBadRequest, "refuse", "invalid", "trailing data", ""},
		{"JSON list", "application/json", func(m string) string { return `[{"action":"debit-hook","m":"` + m + `"}]` },
			http.StatusBadRequest, "refuse", "invalid", "malformed JSON", ""},
		{"action a number", "application/json", func(m string) string { return `{"action":2,"detail":{"client_ref_id":"` + m + `"}}` },
			http.StatusBadRequest, "refuse", "invalid", "action must be a string", ""},
		{"action missing", "application/json", func(m string) string { return `{"detail":{"client_ref_id":"` + m + `"}}` },
			http.StatusBadRequest, "refuse", "invalid", "action is missing", ""},
		{"unknown action", "application/json", func(m string) string { return `{"action":"refund","detail":{"client_ref_id":"` + m + `"}}` },
			http.StatusBadRequest, "refuse", "invalid", "unknown action refund", "refund"},
		{"debit-hook detail a string", "application/json", func(m string) string { return `{"action":"debit-hook","detail":"` + m + `"}` },
			http.StatusBadRequest, "refuse", "invalid", "detail must be an object", "debit-hook"},
		{"debit-hook signed amount an object", "application/json", func(m string) string {
			return `{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],` +
				`"data":{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":{"v":"` + m + `"}}}}`
		}, http.StatusBadRequest, "refuse", "invalid", "data.amount is signed but is not a string or number", "debit-hook"},
		{"debit-hook type a list", "application/json", func(m string) string {
			return `{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id"],` +
				`"data":{"customer_id":"9999999999","type":["2"],"user_code":"20810200","m":"` + m + `"}}}`
		}, http.StatusBadRequest, "refuse", "invalid", "data.type must be", "debit-hook"},
		{"eko-response response a string", "application/json", func(m string) string {
			return `{"action":"eko-response","detail":{"client_ref_id":"1","response":"` + m + `"}}`
		}, http.StatusBadRequest, "error", "invalid", "response must be an object", "eko-response"},
		{"eko-response without reference", "application/json", func(m string) string {
			return `{"action":"eko-response","detail":{"response":{"data":{"tx_status":"0","m":"` + m + `"}}}}`
		}, http.StatusBadRequest, "error", "invalid", "client_ref_id is missing", "eko-response"},
		{"empty body", "application/json", func(string) string { return "" },
			http.StatusBadRequest, "refuse", "invalid", "malformed JSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := newMarker(t)
			status, r, _ := send(t, a, tt.contentType, tt.body(marker))
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%+v)", status, tt.wantStatus, r)
			}
			switch tt.wantShape {
			case "refuse":
				if !r.isRefusal() {
					t.Errorf("reply %+v is not a debit-hook refusal", r)
				}
			case "error":
				if r.Status != "error" || r.Message == "" {
					t.Errorf("reply %+v is not an eko-response error", r)
				}
			}
			var in inbound
			if tt.name == "empty body" {
				var rows []inbound
				if err := a.Store.DB().Select(&rows, `SELECT `+inboundColumns+` FROM inbound_requests WHERE body_size = 0`); err != nil || len(rows) != 1 {
					t.Fatalf("stored empty requests: %v %+v", err, rows)
				}
				in = rows[0]
			} else {
				in = inboundByMarker(t, a, marker)
			}
			if in.Outcome != tt.wantOutcome || !strings.Contains(in.OutcomeDetail, tt.wantDetail) || in.HTTPStatus != status || in.Action != tt.wantAction {
				t.Errorf("stored outcome %q detail %q status %d action %q", in.Outcome, in.OutcomeDetail, in.HTTPStatus, in.Action)
			}
			if in.Truncated || in.BodySize != int64(len(tt.body(marker))) {
				t.Errorf("stored size %d truncated %v, want %d", in.BodySize, in.Truncated, len(tt.body(marker)))
			}
		})
	}

	t.Run("oversize body", func(t *testing.T) {
		marker := newMarker(t)
		body := `{"action":"debit-hook","marker":"` + marker + `","detail":{"pad":"` + strings.Repeat("x", 5000) + `"}}`
		status, r, _ := send(t, a, "application/json", body)
		if status != http.StatusRequestEntityTooLarge || !r.isRefusal() {
			t.Fatalf("status %d reply %+v, want 413 and a refusal", status, r)
		}
		in := inboundByMarker(t, a, marker)
		if in.Outcome != "too_large" || in.HTTPStatus != http.StatusRequestEntityTooLarge || !in.Truncated ||
			in.BodySize != int64(len(body)) || len(in.Body) != maxBody || !bytes.Equal(in.Body, []byte(body[:maxBody])) {
			t.Errorf("stored outcome %q status %d truncated %v size %d, kept %d bytes", in.Outcome, in.HTTPStatus, in.Truncated, in.BodySize, len(in.Body))
		}
	})

	t.Run("a body at the limit is accepted", func(t *testing.T) {
		ref := apptest.Ref(t)
		h := cashHook(ref, agentCode, "100")
		h.Extra = map[string]any{"pad": ""}
		pad := maxBody - len(h.body(t))
		h.Extra = map[string]any{"pad": strings.Repeat("p", pad)}
		if n := len(h.body(t)); n != maxBody {
			t.Fatalf("built a %d-byte body", n)
		}
		if status, r := post(t, a, h.body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("status %d reply %+v", status, r)
		}
	})

	t.Run("full Aadhaar numbers are stored masked", func(t *testing.T) {
		const aadhaar = "234567890124"
		ref, _ := func() (string, string) {
			ref := apptest.Ref(t)
			if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
				t.Fatalf("debit-hook: %d %+v", status, r)
			}
			return ref, ""
		}()
		status, r := post(t, a, ekoResponse(t, ref, "0", map[string]any{"aadhaar": aadhaar}))
		if status != http.StatusOK || r.Outcome != "recorded" {
			t.Fatalf("%d %+v", status, r)
		}
		// A debit-hook and a broken request carrying one too.
		ref2 := apptest.Ref(t)
		h := cashHook(ref2, agentCode, "100")
		h.Extra = map[string]any{"aadhaar_number": "2345 6789 0124"}
		if status, r := post(t, a, h.body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("debit-hook with aadhaar: %d %+v", status, r)
		}
		marker := newMarker(t)
		send(t, a, "application/json", `{"action":"eko-response","m":"`+marker+`","detail":{"aadhaar":"`+aadhaar+`",`)

		leaks := func(b []byte) bool {
			return bytes.Contains(b, []byte(aadhaar)) || bytes.Contains(b, []byte("2345 6789")) || bytes.Contains(b, []byte("23456789"))
		}
		stored := append(inboundByReference(t, a, ref), inboundByReference(t, a, ref2)...)
		stored = append(stored, inboundByMarker(t, a, marker))
		for _, in := range stored {
			if leaks(in.Body) {
				t.Errorf("stored body holds the Aadhaar number: %s", in.Body)
			}
			if in.Outcome != "allowed" && !in.Redacted {
				t.Errorf("body_redacted not set on %q request", in.Outcome)
			}
		}
		if !bytes.Contains(stored[1].Body, []byte("XXXXXXXX0124")) {
			t.Errorf("masked number missing from the stored eko-response: %s", stored[1].Body)
		}
		resp := storedResponses(t, a, ref)
		if len(resp) != 1 || leaks(resp[0].Response) || resp[0].Aadhaar != "XXXXXXXX0124" {
			t.Errorf("eko_responses row: aadhaar %q response %s", resp[0].Aadhaar, resp[0].Response)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE position('234567890124'::bytea IN body) > 0`); n != 0 {
			t.Errorf("%d stored requests hold the number", n)
		}
	})
}

// TestNothingLostWhenTheRequestFails: a request whose handling fails is still recorded, even when
// the failure is the very deadline or cancellation of its own context.
func TestNothingLostWhenTheRequestFails(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	ctx := context.Background()

	t.Run("request budget exceeded", func(t *testing.T) {
		// Another transaction holds the agent's lock past the debit-hook's budget.
		holder, err := a.Store.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		if _, err := holder.ExecContext(ctx, `SELECT 1 FROM agents WHERE user_code = $1 FOR UPDATE`, agentCode); err != nil {
			t.Fatal(err)
		}
		ref := apptest.Ref(t)
		status, r := post(t, a, cashHook(ref, agentCode, "100").body(t))
		if status != http.StatusServiceUnavailable || !r.isRefusal() {
			t.Fatalf("status %d reply %+v, want 503 and a refusal", status, r)
		}
		holder.Rollback()
		rows := inboundByReference(t, a, ref)
		if len(rows) != 1 || rows[0].Outcome != "error" || rows[0].HTTPStatus != http.StatusServiceUnavailable {
			t.Fatalf("stored %+v, want one request with outcome error", rows)
		}
	})

	// The client (a browser tab) is gone before the handler's database work: what it sent is
	// recorded all the same. The request's context is cancelled up front, which is what net/http
	// does when the connection closes.
	t.Run("client gone", func(t *testing.T) {
		handler := app.NewAPI(a.Config, a.Store, a.Temporal, a.Logger, nil).Handler()
		serve := func(body string) int {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			req := httptest.NewRequestWithContext(cctx, http.MethodPost, callbackPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec.Code
		}
		ref := apptest.Ref(t)
		if code := serve(cashHook(ref, agentCode, "100").body(t)); code != http.StatusOK {
			t.Errorf("debit-hook: status %d", code)
		}
		if rows := inboundByReference(t, a, ref); len(rows) != 1 {
			t.Fatalf("debit-hook: %d requests stored, want 1", len(rows))
		}
		if code := serve(ekoResponse(t, ref, "0", nil)); code != http.StatusOK {
			t.Errorf("eko-response: status %d", code)
		}
		if rows := storedResponses(t, a, ref); len(rows) != 1 || rows[0].TxStatus != "0" {
			t.Fatalf("eko-response not recorded: %+v", rows)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, workflows.WorkflowID("eko", ref)); n != 1 {
			t.Errorf("%d outbox signals, want 1", n)
		}
		marker := newMarker(t)
		serve(`{"action":"nonsense","m":"` + marker + `"}`)
		inboundByMarker(t, a, marker)
	})
}

// TestNothingLostToUnstorableText: PostgreSQL text and jsonb refuse NUL (\u0000) and invalid
// UTF-8. A key holding one is refused in the protocol's shape; free text holding one is recorded
// with U+FFFD in its place; the stored body keeps the exact bytes either way.
func TestNothingLostToUnstorableText(t *testing.T) {
	t.Parallel()
	a := startPartnerApp(t, nil, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	const bad = "\uFFFD" // what a NUL or invalid byte is stored as

	// insert puts s into ref after its sixth character: a reference of 14 characters, within limits.
	insert := func(ref, s string) string { return ref[:6] + s + ref[6:] }
	// responseTo sends a debit-hook for ref, then builds an eko-response for it with data changes;
	// replace rewrites the built body (to put bytes in that encoding/json never writes).
	responseTo := func(t *testing.T, ref, marker string, data map[string]any, replace ...string) []byte {
		t.Helper()
		terminateAtEnd(t, a, workflows.WorkflowID("eko", ref))
		if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
			t.Fatalf("debit-hook: %d %+v", status, r)
		}
		body := strings.Replace(ekoResponse(t, ref, "0", data), `"param1":"value1"`, `"param1":"`+marker+`"`, 1)
		return []byte(strings.NewReplacer(replace...).Replace(body))
	}
	partnerCase := func(t *testing.T, ref, marker string, changes map[string]string) []byte {
		if changes == nil {
			changes = map[string]string{}
		}
		if _, ok := changes["ClientRefID"]; !ok {
			changes["ClientRefID"] = `"` + ref + `"`
		}
		changes["m"] = `"` + marker + `"`
		return partnerBody(ref, partnerTxnID(t), changes)
	}
	signalTxStatus := func(t *testing.T, wfID string) []string {
		t.Helper()
		var got []string
		if err := a.Store.DB().Select(&got, `SELECT coalesce(payload->'signal'->>'tx_status', payload->'signal'->>'partner_status')
			FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wfID); err != nil {
			t.Fatal(err)
		}
		return got
	}

	tests := []struct {
		name string
		// body builds the request for a fresh reference; marker finds its stored record.
		body    func(t *testing.T, ref, marker string) []byte
		partner bool
		// wantReply is the reply's shape: "refuse" (debit-hook), "error" or "ok" (eko-response),
		// or the partner's status "0" or "1"; wantMessage is part of its message or statusDesc.
		wantStatus             int
		wantReply, wantMessage string
		// The stored request: outcome, action, part of outcome_detail; whether it is filed
		// under the reference.
		wantOutcome, wantAction, wantDetail string
		wantReference                       bool
		// check looks at whatever else must have been recorded.
		check func(t *testing.T, ref string)
	}{
		{
			name: "debit-hook client_ref_id with NUL",
			body: func(t *testing.T, ref, marker string) []byte {
				h := cashHook(insert(ref, "\x00"), agentCode, "100")
				h.Extra = map[string]any{"m": marker}
				return []byte(h.body(t))
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "client_ref_id must be printable",
			wantOutcome: "invalid", wantAction: "debit-hook", wantDetail: "client_ref_id must be printable",
		},
		{
			name: "debit-hook client_ref_id with invalid UTF-8",
			body: func(t *testing.T, ref, marker string) []byte {
				h := cashHook(ref, agentCode, "100")
				h.Extra = map[string]any{"m": marker}
				return []byte(strings.Replace(h.body(t), ref, insert(ref, "\xff"), 1))
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "client_ref_id must be printable",
			wantOutcome: "invalid", wantAction: "debit-hook", wantDetail: "client_ref_id must be printable",
		},
		{
			name: "debit-hook user_code with NUL",
			body: func(t *testing.T, ref, marker string) []byte {
				h := cashHook(ref, agentCode+"\x00", "100")
				h.Extra = map[string]any{"m": marker}
				return []byte(h.body(t))
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "user_code must be printable",
			wantOutcome: "invalid", wantAction: "debit-hook", wantDetail: "user_code must be printable", wantReference: true,
		},
		{
			name: "action with NUL",
			body: func(t *testing.T, ref, marker string) []byte {
				return []byte(`{"action":"debit-hook\u0000","m":"` + marker + `","detail":{"client_ref_id":"` + ref + `"}}`)
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "action must be debit-hook or eko-response",
			wantOutcome: "invalid", wantAction: "debit-hook" + bad, wantDetail: "unknown action debit-hook" + bad,
		},
		{
			name: "action with invalid UTF-8",
			body: func(t *testing.T, ref, marker string) []byte {
				return []byte(`{"action":"eko-response` + "\xc3" + `","m":"` + marker + `","detail":{"client_ref_id":"` + ref + `"}}`)
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "action must be debit-hook or eko-response",
			wantOutcome: "invalid", wantAction: "eko-response" + bad, wantDetail: "unknown action eko-response" + bad,
		},
		{
			// The stored action (64 bytes) and the detail's quote of it (40) are cut inside an é.
			name: "long action cut inside a character",
			body: func(t *testing.T, ref, marker string) []byte {
				action := strings.Repeat("a", 39) + "é" + strings.Repeat("b", 22) + "é"
				return []byte(`{"action":"` + action + `","m":"` + marker + `","detail":{"client_ref_id":"` + ref + `"}}`)
			},
			wantStatus: http.StatusBadRequest, wantReply: "refuse", wantMessage: "action must be debit-hook or eko-response",
			wantOutcome: "invalid", wantAction: strings.Repeat("a", 39) + "é" + strings.Repeat("b", 22) + bad,
			wantDetail: "unknown action " + strings.Repeat("a", 39) + bad,
		},
		{
			name: "eko-response client_ref_id with NUL",
			body: func(t *testing.T, ref, marker string) []byte {
				return []byte(strings.Replace(ekoResponse(t, insert(ref, "\x00"), "0", nil), `"param1":"value1"`, `"param1":"`+marker+`"`, 1))
			},
			wantStatus: http.StatusBadRequest, wantReply: "error", wantMessage: "client_ref_id must be printable",
			wantOutcome: "invalid", wantAction: "eko-response", wantDetail: "client_ref_id must be printable",
		},
		{
			name: "eko-response with NUL in its response and invalid UTF-8 in its message",
			body: func(t *testing.T, ref, marker string) []byte {
				return responseTo(t, ref, marker, map[string]any{"tid": "T\x00" + ref, "reason": "a\x00b", "k\x00": "v"},
					"Transaction successful", "Transaction \xff successful")
			},
			wantStatus: http.StatusOK, wantReply: "ok",
			wantOutcome: "recorded", wantAction: "eko-response", wantReference: true,
			check: func(t *testing.T, ref string) {
				rows := storedResponses(t, a, ref)
				if len(rows) != 1 {
					t.Fatalf("%d eko_responses, want 1", len(rows))
				}
				r := rows[0]
				if r.TxStatus != "0" || r.Message != "Transaction "+bad+" successful" || r.TID != "T"+bad+ref {
					t.Errorf("stored tx_status %q message %q tid %q", r.TxStatus, r.Message, r.TID)
				}
				var resp struct {
					Message string            `json:"message"`
					Data    map[string]string `json:"data"`
				}
				if err := json.Unmarshal(r.Response, &resp); err != nil {
					t.Fatal(err)
				}
				if resp.Message != "Transaction "+bad+" successful" || resp.Data["reason"] != "a"+bad+"b" ||
					resp.Data["k"+bad] != "v" || resp.Data["amount"] != "100.0" {
					t.Errorf("stored response %s", r.Response)
				}
				if got := signalTxStatus(t, workflows.WorkflowID("eko", ref)); len(got) != 1 || got[0] != "0" {
					t.Errorf("outbox signals with tx_status %q, want one with 0", got)
				}
				if n := a.QueryInt(t, `SELECT count(*) FROM tx_events e JOIN transactions t ON t.id = e.transaction_id
					WHERE t.client_ref_id = $1 AND e.kind = 'eko_response' AND e.detail->>'tid' = $2`, ref, "T"+bad+ref); n != 1 {
					t.Errorf("%d eko_response events with the stored tid, want 1", n)
				}
			},
		},
		{
			name: "eko-response with NUL in tx_status",
			body: func(t *testing.T, ref, marker string) []byte {
				return responseTo(t, ref, marker, map[string]any{"tx_status": "0\x00"})
			},
			wantStatus: http.StatusOK, wantReply: "ok",
			wantOutcome: "recorded", wantAction: "eko-response", wantReference: true,
			check: func(t *testing.T, ref string) {
				if rows := storedResponses(t, a, ref); len(rows) != 1 || rows[0].TxStatus != "0"+bad {
					t.Fatalf("eko_responses %+v, want one with tx_status 0%s", rows, bad)
				}
				// Not a success: the workflow gets what cannot be mistaken for one, and inquires.
				if got := signalTxStatus(t, workflows.WorkflowID("eko", ref)); len(got) != 1 || got[0] != "0"+bad {
					t.Errorf("outbox signals with tx_status %q, want one with 0%s", got, bad)
				}
			},
		},
		{
			name: "partner ClientRefID with NUL", partner: true,
			body: func(t *testing.T, ref, marker string) []byte {
				return partnerCase(t, ref, marker, map[string]string{"ClientRefID": `"` + insert(ref, `\u0000`) + `"`})
			},
			wantStatus: http.StatusBadRequest, wantReply: "1", wantMessage: "ClientRefID must be printable",
			wantOutcome: "invalid", wantAction: "post-request", wantDetail: "ClientRefID must be printable",
		},
		{
			name: "partner ClientRefID with invalid UTF-8", partner: true,
			body: func(t *testing.T, ref, marker string) []byte {
				return partnerCase(t, ref, marker, map[string]string{"ClientRefID": `"` + insert(ref, "\xfe") + `"`})
			},
			wantStatus: http.StatusBadRequest, wantReply: "1", wantMessage: "ClientRefID must be printable",
			wantOutcome: "invalid", wantAction: "post-request", wantDetail: "ClientRefID must be printable",
		},
		{
			name: "partner free text with NUL and invalid UTF-8", partner: true,
			body: func(t *testing.T, ref, marker string) []byte {
				return partnerCase(t, ref, marker, map[string]string{
					"statusDesc": `"Transaction\u0000Successful"`, "productCode": "\"AEPS\xff\"",
					"username": `"Sagarika\u0000test"`, "status": `"SUCCESS\u0000"`,
				})
			},
			wantStatus: http.StatusOK, wantReply: "0", wantMessage: "success",
			wantOutcome: "recorded", wantAction: "post-request", wantReference: true,
			check: func(t *testing.T, ref string) {
				var got []struct {
					Status      string `db:"status"`
					StatusDesc  string `db:"status_desc"`
					ProductCode string `db:"product_code"`
					Username    string `db:"username"`
					Outcome     string `db:"outcome"`
				}
				if err := a.Store.DB().Select(&got, `SELECT status, status_desc, product_code, username, outcome
					FROM partner_callbacks WHERE client_ref_id = $1`, ref); err != nil {
					t.Fatal(err)
				}
				want := []struct{ s, d, p, u, o string }{{"SUCCESS" + bad, "Transaction" + bad + "Successful", "AEPS" + bad, "Sagarika" + bad + "test", "unknown"}}
				if len(got) != 1 || got[0].Status != want[0].s || got[0].StatusDesc != want[0].d || got[0].ProductCode != want[0].p ||
					got[0].Username != want[0].u || got[0].Outcome != want[0].o {
					t.Fatalf("partner_callbacks %+v, want %+v", got, want)
				}
				if tx := mustTx(t, a, ref); tx.Agent != "Sagarika"+bad+"test" || tx.State != "pending" {
					t.Errorf("transaction %+v", tx)
				}
				if got := signalTxStatus(t, workflows.WorkflowID("partner:p1", ref)); len(got) != 1 || got[0] != "SUCCESS"+bad {
					t.Errorf("outbox signals with partner_status %q, want one with SUCCESS%s", got, bad)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Letters: a debit-hook's stored body has its long digit runs masked.
			ref, marker := apptest.Ref(t), newMarker(t)
			body := tt.body(t, ref, marker)
			var status int
			var message string
			if tt.partner {
				var r partnerReply
				status, r = postPartner(t, a.URL, asP1, body)
				if r.Status != tt.wantReply {
					t.Errorf("reply %+v, want status %q", r, tt.wantReply)
				}
				message = r.StatusDesc
			} else {
				var r reply
				status, r, _ = send(t, a, "application/json", string(body))
				switch {
				case tt.wantReply == "refuse" && !r.isRefusal(),
					tt.wantReply == "error" && r.Status != "error",
					tt.wantReply == "ok" && (r.Status != "ok" || r.Outcome != "recorded"):
					t.Errorf("reply %+v, want the %s shape", r, tt.wantReply)
				}
				message = r.Message
			}
			if status != tt.wantStatus || !strings.Contains(message, tt.wantMessage) {
				t.Errorf("status %d message %q, want %d and %q", status, message, tt.wantStatus, tt.wantMessage)
			}
			in := inboundByMarker(t, a, marker)
			if in.Outcome != tt.wantOutcome || in.Action != tt.wantAction || !strings.Contains(in.OutcomeDetail, tt.wantDetail) ||
				in.HTTPStatus != status {
				t.Errorf("stored outcome %q action %q detail %q status %d", in.Outcome, in.Action, in.OutcomeDetail, in.HTTPStatus)
			}
			if wantRef := map[bool]string{true: ref}[tt.wantReference]; in.Reference != wantRef {
				t.Errorf("stored reference %q, want %q", in.Reference, wantRef)
			}
			if in.BodySize != int64(len(body)) || (!in.Redacted && !bytes.Equal(in.Body, body)) {
				t.Errorf("stored body %q (size %d), want the exact bytes %q", in.Body, in.BodySize, body)
			}
			if tt.check != nil {
				tt.check(t, ref)
			}
		})
	}
}
