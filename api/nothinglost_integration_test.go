package api_test

import (
	"bytes"
	"context"
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
			marker := "M" + apptest.Ref(t)
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
		marker := "M" + apptest.Ref(t)
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
		marker := "M" + apptest.Ref(t)
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
		if n := queryInt(t, a, `SELECT count(*) FROM inbound_requests WHERE position('234567890124'::bytea IN body) > 0`); n != 0 {
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
		if n := queryInt(t, a, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, workflows.WorkflowID("eko", ref)); n != 1 {
			t.Errorf("%d outbox signals, want 1", n)
		}
		marker := "M" + apptest.Ref(t)
		serve(`{"action":"nonsense","m":"` + marker + `"}`)
		inboundByMarker(t, a, marker)
	})
}
