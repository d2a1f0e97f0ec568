package sim

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/eko/callback"
	"github.com/aepsflow/aepsflow/eko/sign"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeCallback is an integrator's callback URL whose CORS grant and debit-hook reply a test
// chooses. It parses what it receives with package eko/callback, so the simulator's bodies are checked
// against the service's own parser.
type fakeCallback struct {
	t          *testing.T
	grant      string // Access-Control-Allow-Origin for preflight and POST; "echo" echoes Origin
	postGrant  *string
	preStatus  int
	allowHdrs  string
	reply      func(h callback.DebitHook) any // debit-hook reply
	preflights atomic.Int32
	lastBody   atomic.Value // []byte
	lastOrigin atomic.Value // string
}

func (f *fakeCallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	grant := f.grant
	if grant == "echo" {
		grant = origin
	}
	if r.Method == http.MethodOptions {
		f.preflights.Add(1)
		if r.Header.Get("Access-Control-Request-Method") != "POST" || r.Header.Get("Access-Control-Request-Headers") == "" {
			f.t.Errorf("preflight without the request method/headers a browser sends: %v", r.Header)
		}
		if grant != "" {
			w.Header().Set("Access-Control-Allow-Origin", grant)
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hdrs := "Content-Type"
		if f.allowHdrs != "" {
			hdrs = f.allowHdrs
		}
		w.Header().Set("Access-Control-Allow-Headers", hdrs)
		status := http.StatusNoContent
		if f.preStatus != 0 {
			status = f.preStatus
		}
		w.WriteHeader(status)
		return
	}
	if f.postGrant != nil {
		grant = *f.postGrant
	}
	if grant != "" {
		w.Header().Set("Access-Control-Allow-Origin", grant)
	}
	body, _ := io.ReadAll(r.Body)
	f.lastBody.Store(body)
	f.lastOrigin.Store(origin)
	env, err := callback.ParseEnvelope(body)
	if err != nil {
		f.t.Errorf("service's parser rejects the envelope: %v: %s", err, body)
		w.WriteHeader(400)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch env.Action {
	case callback.ActionDebitHook:
		h, err := callback.ParseDebitHook(env.Detail, callback.Rules{MinAmount: decimal.NewFromInt(100), MaxAmount: decimal.NewFromInt(10000), Multiple: decimal.NewFromInt(50)})
		if err != nil {
			f.t.Errorf("service's parser rejects the debit-hook: %v: %s", err, body)
			w.WriteHeader(400)
			return
		}
		switch v := f.reply(h).(type) {
		case string:
			io.WriteString(w, v)
		default:
			json.NewEncoder(w).Encode(v)
		}
	case callback.ActionEkoResponse:
		if _, err := callback.ParseEkoResponse(env.Detail); err != nil {
			f.t.Errorf("service's parser rejects the eko-response: %v: %s", err, body)
		}
		io.WriteString(w, `{"status":"ok","outcome":"recorded"}`)
	}
}

// signedReply signs h as a server with key would, at ts, over data (h.Data when nil).
func signedReply(key string, ts time.Time, params []string, data map[string]string, extra map[string]any) func(callback.DebitHook) any {
	return func(h callback.DebitHook) any {
		s := sign.NewSigner(key)
		stamp := sign.Timestamp(ts)
		p, d := h.RequestHashParams, h.Data
		if params != nil {
			p = params
		}
		if data != nil {
			d = data
		}
		m := map[string]any{"action": "go", "allow": true, "secret_key_timestamp": stamp,
			"secret_key": s.SecretKey(stamp), "request_hash": s.RequestHash(stamp, p, d)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
}

func newGateway(t *testing.T, f *fakeCallback, origin string) *Gateway {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Gateway{CallbackURL: srv.URL + "/eko/aeps/callback", Origin: origin, AccessKey: DevAccessKey, Logger: quiet}
}

var withdrawal = DebitHookRequest{Type: "2", CustomerID: "9999999999", UserCode: "20810200", Amount: "100", BankCode: "PUNB"}

func TestDebitHookVerification(t *testing.T) {
	now := time.Now()
	refusal := func(callback.DebitHook) any {
		return map[string]any{"action": "go", "allow": false, "message": "Agent suspended"}
	}
	tests := []struct {
		name                        string
		reply                       func(callback.DebitHook) any
		wantAllowed                 bool
		wantKey, wantHash, wantTime bool
		wantMismatch                string // substring; "" means none
		wantOwnRef                  string
	}{
		{"correct reply", signedReply(DevAccessKey, now, nil, nil, nil), true, true, true, true, "", ""},
		{"signed with another access key", signedReply(GatewayStagingKey, now, nil, nil, nil), true, false, false, true, "secret_key does not match", ""},
		{"hash params in the wrong order", signedReply(DevAccessKey, now, []string{"amount", "customer_id", "user_code"}, nil, nil),
			true, true, false, true, "request_hash does not match", ""},
		{"hash over a reformatted amount",
			signedReply(DevAccessKey, now, nil, map[string]string{"customer_id": "9999999999", "amount": "100.00", "user_code": "20810200"}, nil),
			true, true, false, true, "customer_id + amount + user_code", ""},
		{"stale timestamp", signedReply(DevAccessKey, now.Add(-10*time.Minute), nil, nil, nil), true, true, true, false, "away from now", ""},
		{"timestamp from the future", signedReply(DevAccessKey, now.Add(6*time.Minute), nil, nil, nil), true, true, true, false, "away from now", ""},
		{"own client_ref_id", signedReply(DevAccessKey, now, nil, nil, map[string]any{"client_ref_id": "AF0000000000000001"}), true, true, true, true, "", "AF0000000000000001"},
		{"own client_ref_id too long", signedReply(DevAccessKey, now, nil, nil, map[string]any{"client_ref_id": "123456789012345678901"}),
			true, true, true, true, "longer than 20", ""},
		{"action is not go", signedReply(DevAccessKey, now, nil, nil, map[string]any{"action": "ok"}), true, true, true, true, `action is "ok"`, ""},
		{"refusal", refusal, false, false, false, false, "", ""},
		{"allow as a string", func(callback.DebitHook) any { return map[string]any{"action": "go", "allow": "true"} },
			false, false, false, false, "allow is missing or not a boolean", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, &fakeCallback{grant: "echo", reply: tt.reply}, UATOrigin)
			res, err := g.DebitHook(context.Background(), withdrawal)
			if err != nil {
				t.Fatalf("DebitHook: %v", err)
			}
			if res.Allowed != tt.wantAllowed || res.SecretKeyOK != tt.wantKey || res.HashOK != tt.wantHash || res.TimestampOK != tt.wantTime {
				t.Fatalf("allowed/key/hash/time = %v/%v/%v/%v, want %v/%v/%v/%v (mismatch %q)", res.Allowed, res.SecretKeyOK, res.HashOK,
					res.TimestampOK, tt.wantAllowed, tt.wantKey, tt.wantHash, tt.wantTime, res.Mismatch)
			}
			if tt.wantMismatch == "" && res.Mismatch != "" || !strings.Contains(res.Mismatch, tt.wantMismatch) {
				t.Fatalf("Mismatch = %q, want it to contain %q", res.Mismatch, tt.wantMismatch)
			}
			wantVerified := tt.wantAllowed && tt.wantKey && tt.wantHash && tt.wantTime && tt.wantMismatch == ""
			if res.Verified() != wantVerified {
				t.Fatalf("Verified() = %v, want %v", res.Verified(), wantVerified)
			}
			wantRef := res.SentRef
			if tt.wantOwnRef != "" {
				wantRef = tt.wantOwnRef
			}
			if res.ClientRefID != wantRef || res.OwnRef != (tt.wantOwnRef != "") {
				t.Fatalf("ClientRefID = %q (own %v), want %q", res.ClientRefID, res.OwnRef, wantRef)
			}
			if len(res.SentRef) != 13 {
				t.Fatalf("generated client_ref_id %q is not 13 digits", res.SentRef)
			}
			if !tt.wantAllowed && tt.wantMismatch == "" && res.Message != "Agent suspended" {
				t.Fatalf("Message = %q", res.Message)
			}
		})
	}
}

// The sample allow reply of Eko's guide is signed with the gateway staging key: its secret_key
// verifies; its request_hash belongs to another transaction (docs/eko-aeps.md#signing) and must not.
func TestDebitHookGuideSampleReply(t *testing.T) {
	const sample = `{"action":"go","allow":true,"secret_key_timestamp":"1540880719963",` +
		`"request_hash":"r8SC5YiCylzllnftA9ys4/hPi5hIJrMVZhykamemqKE=","secret_key":"4CKAzpT/B44CnhXM01pRnZELcGKWOhvbZg7TqoGDIrA="}`
	g := newGateway(t, &fakeCallback{grant: "echo", reply: func(callback.DebitHook) any { return sample }}, UATOrigin)
	g.AccessKey = GatewayStagingKey
	g.Now = func() time.Time { return time.UnixMilli(1540880719963).Add(time.Second) }
	res, err := g.DebitHook(context.Background(), DebitHookRequest{ClientRefID: "1540880592059", Type: "2",
		CustomerID: "9999999999", UserCode: "20810200", Amount: "100", BankCode: "PUNB"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.SecretKeyOK || !res.TimestampOK || res.HashOK || res.Verified() {
		t.Fatalf("key/time/hash/verified = %v/%v/%v/%v, want true/true/false/false", res.SecretKeyOK, res.TimestampOK, res.HashOK, res.Verified())
	}
}

func TestDebitHookCORS(t *testing.T) {
	ok := signedReply(DevAccessKey, time.Now(), nil, nil, nil)
	empty := ""
	type cors struct {
		grant     string
		postGrant *string
		preStatus int
		allowHdrs string
	}
	tests := []struct {
		name    string
		cb      cors
		origin  string
		headers map[string]string
		wantErr string // "" = success
		wantPre int32
	}{
		{"origin granted", cors{grant: "echo"}, UATOrigin, nil, "", 1},
		{"wildcard grant", cors{grant: "*"}, UATOrigin, nil, "", 1},
		{"another origin granted", cors{grant: ProductionOrigin}, UATOrigin, nil, "Access-Control-Allow-Origin is \"https://gateway.eko.in\"", 1},
		{"no grant", cors{grant: ""}, UATOrigin, nil, "CORS preflight failed", 1},
		{"preflight refused", cors{grant: "echo", preStatus: 403}, UATOrigin, nil, "HTTP 403", 1},
		{"content-type not allowed", cors{grant: "echo", allowHdrs: "X-Other"}, UATOrigin, nil, "does not allow content-type", 1},
		{"custom header not allowed", cors{grant: "echo"}, UATOrigin, map[string]string{"X-Partner": "p1"}, "does not allow x-partner", 1},
		{"custom header allowed", cors{grant: "echo", allowHdrs: "Content-Type, X-Partner"}, UATOrigin, map[string]string{"X-Partner": "p1"}, "", 1},
		{"POST reply without grant", cors{grant: "echo", postGrant: &empty}, UATOrigin, nil, "would not let the gateway page read it", 1},
		{"not a browser: no preflight", cors{grant: ""}, "", nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := &fakeCallback{grant: tt.cb.grant, postGrant: tt.cb.postGrant, preStatus: tt.cb.preStatus, allowHdrs: tt.cb.allowHdrs, reply: ok}
			g := newGateway(t, cb, tt.origin)
			g.Headers = tt.headers
			res, err := g.DebitHook(context.Background(), withdrawal)
			if got := cb.preflights.Load(); got != tt.wantPre {
				t.Errorf("preflights = %d, want %d", got, tt.wantPre)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !res.Verified() {
				t.Fatalf("DebitHook = %+v, %v; want verified", res, err)
			}
			if got, _ := cb.lastOrigin.Load().(string); got != tt.origin {
				t.Fatalf("POST Origin = %q, want %q", got, tt.origin)
			}
		})
	}
}

func TestDebitHookErrors(t *testing.T) {
	t.Run("reply is not JSON", func(t *testing.T) {
		g := newGateway(t, &fakeCallback{grant: "echo", reply: func(callback.DebitHook) any { return "<html>oops</html>" }}, UATOrigin)
		if _, err := g.DebitHook(context.Background(), withdrawal); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no access key", func(t *testing.T) {
		g := &Gateway{CallbackURL: "http://127.0.0.1:1/x"}
		if _, err := g.DebitHook(context.Background(), withdrawal); err == nil || !strings.Contains(err.Error(), "AccessKey") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		g := &Gateway{CallbackURL: "http://127.0.0.1:1/x", AccessKey: DevAccessKey, Origin: UATOrigin, Logger: quiet}
		if _, err := g.DebitHook(context.Background(), withdrawal); err == nil || !strings.Contains(err.Error(), "preflight") {
			t.Fatalf("err = %v", err)
		}
	})
}

// The body has the shape of Eko's sample, and types 3 and 4 carry no amount.
func TestDebitHookBodyShape(t *testing.T) {
	tests := []struct {
		name       string
		req        DebitHookRequest
		wantAmount bool
	}{
		{"cash withdrawal", withdrawal, true},
		{"balance inquiry", DebitHookRequest{Type: "3", CustomerID: "9999999999", UserCode: "20810200"}, false},
		{"mini statement", DebitHookRequest{Type: "4", CustomerID: "9999999999", UserCode: "20810200"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := &fakeCallback{grant: "echo", reply: signedReply(DevAccessKey, time.Now(), nil, nil, nil)}
			g := newGateway(t, cb, UATOrigin)
			g.Params = map[string]string{"param1": "value1", "action": "must not override"}
			res, err := g.DebitHook(context.Background(), tt.req)
			if err != nil || !res.Verified() {
				t.Fatalf("DebitHook = %+v, %v", res, err)
			}
			var body struct {
				Action string `json:"action"`
				Param1 string `json:"param1"`
				Detail struct {
					HTTPMethod        string            `json:"http_method"`
					InteractionTypeID int               `json:"interaction_type_id"`
					InteractionLabel  string            `json:"interaction_label"`
					ClientRefID       string            `json:"client_ref_id"`
					RequestHashParams []string          `json:"request_hash_params"`
					Data              map[string]string `json:"data"`
				} `json:"detail"`
			}
			if err := json.Unmarshal(cb.lastBody.Load().([]byte), &body); err != nil {
				t.Fatal(err)
			}
			d := body.Detail
			if body.Action != "debit-hook" || body.Param1 != "value1" || d.HTTPMethod != "POST" || d.InteractionTypeID != 344 ||
				d.InteractionLabel != "AePS" || d.ClientRefID != res.SentRef || strings.Join(d.RequestHashParams, ",") != "customer_id,amount,user_code" {
				t.Fatalf("body = %+v", body)
			}
			if _, has := d.Data["amount"]; has != tt.wantAmount || d.Data["bank_code"] != "PUNB" || d.Data["type"] != tt.req.Type {
				t.Fatalf("data = %v", d.Data)
			}
		})
	}
}

func TestEkoResponse(t *testing.T) {
	cb := &fakeCallback{grant: "echo", reply: signedReply(DevAccessKey, time.Now(), nil, nil, nil)}
	g := newGateway(t, cb, UATOrigin)
	hook, err := g.DebitHook(context.Background(), withdrawal)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(t *testing.T) (callback.EkoResponse, map[string]any) {
		t.Helper()
		raw := cb.lastBody.Load().([]byte)
		env, err := callback.ParseEnvelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		r, err := callback.ParseEkoResponse(env.Detail)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Detail struct {
				Response struct {
					Data map[string]any `json:"data"`
				} `json:"response"`
			} `json:"detail"`
		}
		json.Unmarshal(raw, &m)
		return r, m.Detail.Response.Data
	}
	t.Run("success, defaults from the debit-hook", func(t *testing.T) {
		res, err := g.EkoResponse(context.Background(), hook.ClientRefID, "0", nil)
		if err != nil || res.HTTPStatus != 200 || res.Status != "ok" || res.Outcome != "recorded" {
			t.Fatalf("EkoResponse = %+v, %v", res, err)
		}
		r, data := decode(t)
		if r.ClientRefID != hook.ClientRefID || r.TxStatus != "0" || r.Status != "0" || r.Data["amount"] != "100.0" ||
			r.Data["user_code"] != "20810200" || r.Data["aadhaar"] != "XXXX XXXX 9999" || r.Data["commission"] != "6.0" || r.Data["tid"] == "" {
			t.Fatalf("parsed = %+v", r)
		}
		if _, isString := data["tx_status"].(string); !isString {
			t.Fatalf("tx_status sent as %T, want a string", data["tx_status"])
		}
	})
	t.Run("numeric tx_status, overrides and removals", func(t *testing.T) {
		g.NumericTxStatus = true
		defer func() { g.NumericTxStatus = false }()
		if _, err := g.EkoResponse(context.Background(), hook.ClientRefID, "2", map[string]any{"amount": "150.0", "aadhaar": nil}); err != nil {
			t.Fatal(err)
		}
		r, data := decode(t)
		if _, isNumber := data["tx_status"].(float64); !isNumber || r.TxStatus != "2" || r.Data["amount"] != "150.0" {
			t.Fatalf("parsed = %+v, raw tx_status %T", r, data["tx_status"])
		}
		if _, has := data["aadhaar"]; has {
			t.Fatal("aadhaar was not removed")
		}
	})
	t.Run("non-integer tx_status as number", func(t *testing.T) {
		_, err := g.SendEkoResponse(context.Background(), EkoResponseRequest{ClientRefID: "1", TxStatus: "x", NumericTxStatus: true})
		if err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("unknown reference gets the sample's defaults", func(t *testing.T) {
		if _, err := g.EkoResponse(context.Background(), "1234567890123", "1", nil); err != nil {
			t.Fatal(err)
		}
		r, _ := decode(t)
		if r.TxStatus != "1" || r.Status != "1" || r.Data["commission"] != "0.0" {
			t.Fatalf("parsed = %+v", r)
		}
	})
}
