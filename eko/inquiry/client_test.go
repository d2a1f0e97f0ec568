package inquiry

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
)

// Eko's public UAT credentials (docs/eko-aeps.md); treated as secrets all the same.
const (
	uatDeveloperKey = "becbbce45f79c6f5109f848acd540567"
	uatAccessKey    = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
	uatInitiatorID  = "9962981729"
	uatUserCode     = "20810200"
)

var testNow = time.UnixMilli(1700000000000)

// newTestClient serves h and returns a v3 client pointed at it; mod may adjust the config.
func newTestClient(t *testing.T, h http.Handler, mod func(cfg *Config, srvURL string), hc *http.Client) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + "/ekoapi/v3", DeveloperKey: uatDeveloperKey, InitiatorID: uatInitiatorID}
	if mod != nil {
		mod(&cfg, srv.URL)
	}
	c, err := New(cfg, sign.NewSigner(uatAccessKey), hc)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.Now = func() time.Time { return testNow }
	return c
}

func useV1(cfg *Config, srvURL string) { cfg.Version, cfg.BaseURL = "v1", srvURL+"/ekoapi/v1" }

func respond(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// echoSecrets replies with a body that repeats the request's secrets, to prove that errors never
// carry response text.
func echoSecrets(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		strings.NewReplacer("{DEV}", r.Header.Get("developer_key"), "{SECRET}", r.Header.Get("secret-key")).
			WriteString(w, body)
	}
}

// blockUntilGone holds the request until the client goes away (or the test ends), so timeout
// tests take exactly the client's timeout and no sleeps are needed. The 5s bound only turns a
// client that never gives up into a failure instead of a hung test.
func blockUntilGone(t *testing.T, arrived chan<- struct{}) http.HandlerFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close: LIFO
	return func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			arrived <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}
}

// assertNoSecrets fails if s holds a credential, the signature, or the initiator's mobile number.
func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	signed := sign.NewSigner(uatAccessKey).SecretKey(sign.Timestamp(testNow))
	for _, secret := range []string{uatDeveloperKey, uatAccessKey, base64.StdEncoding.EncodeToString([]byte(uatAccessKey)), signed, uatInitiatorID} {
		if strings.Contains(s, secret) {
			t.Fatalf("secret %q leaked in %q", secret, s)
		}
	}
}

// wantError checks err is an *Error of the given kind and retryability, wrapped or not.
func wantError(t *testing.T, err error, kind string, retryable bool, httpStatus int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	if e.Kind != kind || e.Retryable != retryable || e.HTTPStatus != httpStatus {
		t.Fatalf("got Kind=%q Retryable=%v HTTPStatus=%d, want %q %v %d (err: %v)",
			e.Kind, e.Retryable, e.HTTPStatus, kind, retryable, httpStatus, err)
	}
	if IsRetryable(err) != retryable || IsRetryable(fmt.Errorf("activity: %w", err)) != retryable {
		t.Fatalf("IsRetryable disagrees with Retryable=%v", retryable)
	}
	assertNoSecrets(t, err.Error())
	return e
}

func TestNew(t *testing.T) {
	signer := sign.NewSigner(uatAccessKey)
	ok := Config{BaseURL: "https://staging.eko.in/ekoapi/v3", DeveloperKey: uatDeveloperKey, InitiatorID: uatInitiatorID}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	tests := []struct {
		name    string
		cfg     Config
		signer  *sign.Signer
		wantErr string // substring; "" means success
	}{
		{"valid v3 defaults", ok, signer, ""},
		{"valid v1", with(func(c *Config) { c.Version, c.BaseURL = "v1", "https://staging.eko.in/ekoapi/v1" }), signer, ""},
		{"valid production port", with(func(c *Config) { c.BaseURL = "https://api.eko.in:25002/ekoicici/v3/" }), signer, ""},
		{"empty base URL", with(func(c *Config) { c.BaseURL = "" }), signer, "BaseURL is required"},
		{"unparseable base URL", with(func(c *Config) { c.BaseURL = "https://bad host/" }), signer, "not a valid URL"},
		{"relative base URL", with(func(c *Config) { c.BaseURL = "/ekoapi/v3" }), signer, "scheme"},
		{"ftp base URL", with(func(c *Config) { c.BaseURL = "ftp://staging.eko.in/" }), signer, "scheme"},
		{"no host", with(func(c *Config) { c.BaseURL = "https:///ekoapi/v3" }), signer, "no host"},
		{"user info", with(func(c *Config) { c.BaseURL = "https://u:" + uatDeveloperKey + "@staging.eko.in/" }), signer, "user info"},
		{"query in base", with(func(c *Config) { c.BaseURL = "https://staging.eko.in/ekoapi/v3?x=1" }), signer, "query"},
		{"unknown version", with(func(c *Config) { c.Version = "v2" }), signer, `Version "v2"`},
		{"missing developer key", with(func(c *Config) { c.DeveloperKey = "" }), signer, "DeveloperKey is required"},
		{"developer key with newline", with(func(c *Config) { c.DeveloperKey = uatDeveloperKey + "\n" }), signer, "control"},
		{"missing initiator", with(func(c *Config) { c.InitiatorID = "" }), signer, "InitiatorID is required"},
		{"nil signer", ok, nil, "signer is required"},
		{"negative timeout", with(func(c *Config) { c.Timeout = -time.Second }), signer, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg, tt.signer, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.Now == nil {
					t.Fatal("Now not set")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestNewHTTPClient(t *testing.T) {
	cfg := Config{BaseURL: "https://staging.eko.in/ekoapi/v3", DeveloperKey: uatDeveloperKey, InitiatorID: uatInitiatorID}
	tests := []struct {
		name        string
		timeout     time.Duration
		hc          *http.Client
		wantTimeout time.Duration // of the http.Client in use
	}{
		{"nil client gets the default timeout", 0, nil, DefaultTimeout},
		{"nil client gets the configured timeout", 3 * time.Second, nil, 3 * time.Second},
		{"caller's client keeps its own timeout", time.Second, &http.Client{Timeout: time.Minute}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.Timeout = tt.timeout
			c, err := New(cfg, sign.NewSigner(uatAccessKey), tt.hc)
			if err != nil {
				t.Fatal(err)
			}
			if c.hc.Timeout != tt.wantTimeout {
				t.Fatalf("http.Client.Timeout = %s, want %s", c.hc.Timeout, tt.wantTimeout)
			}
			if c.hc.CheckRedirect == nil {
				t.Fatal("redirects must be refused")
			}
			if tt.hc != nil && (tt.hc.CheckRedirect != nil || c.hc == tt.hc) {
				t.Fatal("the caller's client was modified")
			}
		})
	}
}

func TestInquireRequestShape(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(*Config, string)
		ref       string
		userCode  string
		wantPath  string // escaped, as on the wire
		wantQuery url.Values
	}{
		{
			name: "v3", ref: "AEPS1700000000000", userCode: uatUserCode,
			wantPath:  "/ekoapi/v3/tools/reference/transaction/client_ref_id:AEPS1700000000000",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}, "user_code": {uatUserCode}},
		},
		{
			name: "v3 base URL with trailing slash",
			mod:  func(c *Config, u string) { c.BaseURL = u + "/ekoapi/v3/" }, ref: "R1", userCode: uatUserCode,
			wantPath:  "/ekoapi/v3/tools/reference/transaction/client_ref_id:R1",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}, "user_code": {uatUserCode}},
		},
		{
			name: "v3 ref and user code are escaped", ref: "a/b c?d#e%", userCode: "20 81&x=1",
			wantPath:  "/ekoapi/v3/tools/reference/transaction/client_ref_id:a%2Fb%20c%3Fd%23e%25",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}, "user_code": {"20 81&x=1"}},
		},
		{
			name: "v1", mod: useV1, ref: "AEPS1700000000000", userCode: uatUserCode,
			wantPath:  "/ekoapi/v1/transactions/client_ref_id:AEPS1700000000000",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}},
		},
		{
			name: "v1 without user code", mod: useV1, ref: "R1",
			wantPath:  "/ekoapi/v1/transactions/client_ref_id:R1",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}},
		},
		{
			name: "v1 ref is escaped", mod: useV1, ref: "../x?y",
			wantPath:  "/ekoapi/v1/transactions/client_ref_id:..%2Fx%3Fy",
			wantQuery: url.Values{"initiator_id": {uatInitiatorID}},
		},
	}
	verifier := sign.NewSigner(uatAccessKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			h := func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				respond(200, `{"status":0,"data":{"tx_status":"0"}}`)(w, r)
			}
			c := newTestClient(t, http.HandlerFunc(h), tt.mod, nil)
			if _, err := c.Inquire(context.Background(), tt.ref, tt.userCode); err != nil {
				t.Fatalf("Inquire: %v", err)
			}
			if got.Method != http.MethodGet {
				t.Errorf("method = %s", got.Method)
			}
			if p := got.URL.EscapedPath(); p != tt.wantPath {
				t.Errorf("path = %s, want %s", p, tt.wantPath)
			}
			if q := got.URL.Query(); !reflect.DeepEqual(q, tt.wantQuery) {
				t.Errorf("query = %v, want %v", q, tt.wantQuery)
			}
			ts := got.Header.Get("secret-key-timestamp")
			if ts != sign.Timestamp(testNow) {
				t.Errorf("secret-key-timestamp = %q, want %q", ts, sign.Timestamp(testNow))
			}
			if !verifier.VerifySecretKey(ts, got.Header.Get("secret-key")) {
				t.Error("secret-key does not verify against secret-key-timestamp")
			}
			if k := got.Header.Get("developer_key"); k != uatDeveloperKey {
				t.Errorf("developer_key = %q", k)
			}
			if a := got.Header.Get("Accept"); a != "application/json" {
				t.Errorf("Accept = %q", a)
			}
		})
	}
}

// recordingTransport keeps the headers exactly as the client set them, before any
// canonicalisation on the server side.
type recordingTransport struct {
	mu     sync.Mutex
	header http.Header
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.header = r.Header.Clone()
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestHeaderNamesAsDocumented(t *testing.T) {
	rt := &recordingTransport{}
	c := newTestClient(t, respond(200, `{"status":0,"data":{"tx_status":"0"}}`), nil, &http.Client{Transport: rt})
	if _, err := c.Inquire(context.Background(), "R1", uatUserCode); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"developer_key", "secret-key", "secret-key-timestamp"} {
		if len(rt.header[name]) != 1 {
			t.Errorf("header %q not sent under Eko's exact name; got %v", name, reflect.ValueOf(rt.header).MapKeys())
		}
	}
}

func TestFreshSignaturePerCall(t *testing.T) {
	type seen struct{ ts, key string }
	var mu sync.Mutex
	var calls []seen
	h := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, seen{r.Header.Get("secret-key-timestamp"), r.Header.Get("secret-key")})
		mu.Unlock()
		respond(200, `{"status":0,"data":{"tx_status":"2"}}`)(w, r)
	}
	c := newTestClient(t, http.HandlerFunc(h), nil, nil)
	clock := []time.Time{testNow, testNow.Add(1500 * time.Millisecond)}
	i := 0
	c.Now = func() time.Time { t := clock[i]; i++; return t }

	for range clock {
		if _, err := c.Inquire(context.Background(), "R1", uatUserCode); err != nil {
			t.Fatal(err)
		}
	}
	verifier := sign.NewSigner(uatAccessKey)
	for n, call := range calls {
		if want := sign.Timestamp(clock[n]); call.ts != want {
			t.Errorf("call %d timestamp = %s, want %s", n, call.ts, want)
		}
		if !verifier.VerifySecretKey(call.ts, call.key) {
			t.Errorf("call %d secret-key does not verify", n)
		}
	}
	if len(calls) != 2 || calls[0].ts == calls[1].ts || calls[0].key == calls[1].key {
		t.Fatalf("signature reused across calls: %+v", calls)
	}
}

func TestInquireTxStatus(t *testing.T) {
	tests := []struct {
		name      string
		status    string // JSON literal
		txStatus  string // JSON literal
		wantTx    string
		wantClass Class
	}{
		{"0 string success", `0`, `"0"`, TxSuccess, ClassFinal},
		{"0 number success", `0`, `0`, TxSuccess, ClassFinal},
		{"1 string failed", `0`, `"1"`, TxFailed, ClassFinal},
		{"1 number failed", `0`, `1`, TxFailed, ClassFinal},
		{"1 failed with status 1", `1`, `"1"`, TxFailed, ClassFinal},
		{"2 string awaited", `0`, `"2"`, TxAwaited, ClassPending},
		{"2 number awaited", `"0"`, `2`, TxAwaited, ClassPending},
		{"3 string refund pending", `0`, `"3"`, TxRefundPending, ClassReversalPending},
		{"3 number refund pending", `0`, `3`, TxRefundPending, ClassReversalPending},
		{"4 string refunded", `0`, `"4"`, TxRefunded, ClassFinal},
		{"4 number refunded", `0`, `4`, TxRefunded, ClassFinal},
		{"5 string hold", `0`, `"5"`, TxHold, ClassPending},
		{"5 number hold", `0`, `5`, TxHold, ClassPending},
		{"7 string undocumented", `0`, `"7"`, "7", ClassSuspicious},
		{"7 number undocumented", `0`, `7`, "7", ClassSuspicious},
		{"negative", `0`, `-1`, "-1", ClassSuspicious},
		{"float spelling is not guessed at", `0`, `0.0`, "0.0", ClassSuspicious},
		{"padded string is not guessed at", `0`, `" 0"`, " 0", ClassSuspicious},
		{"word", `0`, `"success"`, "success", ClassSuspicious},
		{"status 0 without tx_status", `0`, `null`, "", ClassSuspicious},
		{"status 0 with empty tx_status", `0`, `""`, "", ClassSuspicious},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"status":` + tt.status + `,"response_status_id":0,"message":"Transaction successful","data":{"tx_status":` + tt.txStatus + `,"txstatus_desc":"desc"}}`
			c := newTestClient(t, respond(200, body), nil, nil)
			r, err := c.Inquire(context.Background(), "R1", uatUserCode)
			if err != nil {
				t.Fatalf("Inquire: %v", err)
			}
			if r.TxStatus != tt.wantTx || r.Class != tt.wantClass {
				t.Fatalf("TxStatus=%q Class=%s, want %q %s", r.TxStatus, r.Class, tt.wantTx, tt.wantClass)
			}
			if r.HTTPStatus != 200 || r.TxStatusDesc != "desc" || r.ResponseStatusID != "0" {
				t.Fatalf("unexpected result %+v", r)
			}
		})
	}
}

func TestInquireNotFound(t *testing.T) {
	tests := []struct {
		name       string
		mod        func(*Config, string)
		httpStatus int
		body       string
		wantClass  Class
		wantRSID   string
	}{
		{"463 with empty object", nil, 200, `{"status":1,"response_status_id":463,"message":"Transaction not found","data":{}}`, ClassNotFound, "463"},
		{"463 with strings and empty array", nil, 200, `{"status":"1","response_status_id":"463","message":"No record","data":[]}`, ClassNotFound, "463"},
		{"null data", nil, 200, `{"status":1,"response_status_id":463,"data":null}`, ClassNotFound, "463"},
		{"no data", nil, 200, `{"status":1,"response_status_id":463}`, ClassNotFound, "463"},
		{"empty string data", nil, 200, `{"status":1,"response_status_id":463,"data":""}`, ClassNotFound, "463"},
		{"data without tx_status", nil, 200, `{"status":1,"response_status_id":463,"data":{"client_ref_id":"R1"}}`, ClassNotFound, "463"},
		{"v1", useV1, 200, `{"status":1,"response_status_id":463,"data":{}}`, ClassNotFound, "463"},
		{"404 with Eko's envelope", nil, 404, `{"status":1,"response_status_id":463,"data":{}}`, ClassNotFound, "463"},
		// Decisions follow numbers, never the message.
		{"message says found, numbers say not", nil, 200, `{"status":1,"response_status_id":463,"message":"Transaction successful","data":{}}`, ClassNotFound, "463"},
		{"message says not found, numbers say success", nil, 200, `{"status":0,"response_status_id":0,"message":"Transaction not found","data":{"tx_status":"0"}}`, ClassFinal, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, respond(tt.httpStatus, tt.body), tt.mod, nil)
			r, err := c.Inquire(context.Background(), "R1", uatUserCode)
			if err != nil {
				t.Fatalf("Inquire: %v", err)
			}
			if r.Class != tt.wantClass || r.ResponseStatusID != tt.wantRSID || r.HTTPStatus != tt.httpStatus {
				t.Fatalf("got %s rsid=%q http=%d, want %s %q %d", r.Class, r.ResponseStatusID, r.HTTPStatus, tt.wantClass, tt.wantRSID, tt.httpStatus)
			}
			if string(r.Raw) != tt.body {
				t.Fatalf("Raw = %s", r.Raw)
			}
		})
	}
}

// TestInquireErrorReply: an envelope with a non-zero status and no tx_status is "not found" only
// with Eko's documented code (status 1, response_status_id 463). Any other, -1 included, says
// nothing certain about the transaction, so it is a retryable error, never an answer that could
// expire it.
func TestInquireErrorReply(t *testing.T) {
	tests := []struct {
		name       string
		mod        func(*Config, string)
		httpStatus int
		body       string
		wantKind   string
		wantRetry  bool
		wantDetail string // in the error text
	}{
		{"user not onboarded", nil, 200, `{"status":1,"response_status_id":1237,"message":"User not onboarded {DEV}","data":{}}`,
			KindEkoError, true, "eko status 1, response_status_id 1237"},
		{"strings and empty array", nil, 200, `{"status":"1","response_status_id":"1237","data":[]}`, KindEkoError, true, "response_status_id 1237"},
		{"no response_status_id", nil, 200, `{"status":1,"message":"Transaction not found","data":{}}`, KindEkoError, true, "response_status_id none"},
		{"null response_status_id", nil, 200, `{"status":1,"response_status_id":null}`, KindEkoError, true, "response_status_id none"},
		{"response_status_id 0", nil, 200, `{"status":1,"response_status_id":0,"data":{}}`, KindEkoError, true, "response_status_id 0"},
		{"status 347", nil, 200, `{"status":347,"response_status_id":347,"message":"Insufficient balance","data":{}}`, KindEkoError, true, "eko status 347"},
		{"status 347 with a not-found id", nil, 200, `{"status":347,"response_status_id":463,"data":{}}`, KindEkoError, true, "eko status 347, response_status_id 463"},
		{"negative status", nil, 200, `{"status":-1,"response_status_id":-1}`, KindEkoError, true, "eko status -1"},
		// -1 is seen for "not found" in some integrations and as a generic code elsewhere.
		{"-1 with strings and empty array", nil, 200, `{"status":"1","response_status_id":"-1","message":"No record","data":[]}`,
			KindEkoError, true, "eko status 1, response_status_id -1"},
		{"-1 with numbers", nil, 200, `{"status":1,"response_status_id":-1,"data":{}}`, KindEkoError, true, "response_status_id -1"},
		{"not-found id spelt otherwise is not guessed at", nil, 200, `{"status":1,"response_status_id":463.0,"data":{}}`, KindEkoError, true, "response_status_id 463.0"},
		{"message says not found, numbers do not", nil, 200, `{"status":1,"response_status_id":1237,"message":"Transaction not found","data":{}}`,
			KindEkoError, true, "response_status_id 1237"},
		{"v1", useV1, 200, `{"status":1,"response_status_id":1237,"data":{}}`, KindEkoError, true, "response_status_id 1237"},
		// A 404 is "not found" only with the documented codes; otherwise it is a wrong URL.
		{"404 with an error envelope", nil, 404, `{"status":1,"response_status_id":1237,"data":{}}`, KindHTTPStatus, false, "response_status_id 1237"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, echoSecrets(tt.httpStatus, tt.body), tt.mod, nil)
			r, err := c.Inquire(context.Background(), "R1", uatUserCode)
			wantError(t, err, tt.wantKind, tt.wantRetry, tt.httpStatus)
			if r.Class != 0 || r.Raw != nil {
				t.Fatalf("result must be empty on error, got %+v", r)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantDetail) || strings.Contains(msg, "not found") || strings.Contains(msg, "onboarded") {
				t.Fatalf("error %q: want %q and no message text", msg, tt.wantDetail)
			}
		})
	}
}

func TestInquireExactStrings(t *testing.T) {
	tests := []struct {
		name       string
		amount     string // JSON literal
		tid        string // JSON literal
		wantAmount string
		wantTID    string
	}{
		{"string 2000.00", `"2000.00"`, `"14563687"`, "2000.00", "14563687"},
		{"number 2000.00", `2000.00`, `14563687`, "2000.00", "14563687"},
		{"string 2000.0", `"2000.0"`, `"1"`, "2000.0", "1"},
		{"huge string", `"99999999999999999999999999.99"`, `"1"`, "99999999999999999999999999.99", "1"},
		{"huge number", `12345678901234567890.10`, `123456789012345678901234567890`, "12345678901234567890.10", "123456789012345678901234567890"},
		{"exponent kept as sent", `1e3`, `"1"`, "1e3", "1"},
		{"absent", `null`, `null`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"status":0,"response_status_id":0,"message":"ok","data":{"tx_status":"0","amount":` + tt.amount +
				`,"tid":` + tt.tid + `,"client_ref_id":"R1","bank_ref_num":"012345678901"}}`
			c := newTestClient(t, respond(200, body), nil, nil)
			r, err := c.Inquire(context.Background(), "R1", uatUserCode)
			if err != nil {
				t.Fatalf("Inquire: %v", err)
			}
			if r.Amount != tt.wantAmount || r.TID != tt.wantTID {
				t.Fatalf("Amount=%q TID=%q, want %q %q", r.Amount, r.TID, tt.wantAmount, tt.wantTID)
			}
			if r.ClientRefID != "R1" || r.BankRefNum != "012345678901" || r.Message != "ok" || r.Status != "0" {
				t.Fatalf("unexpected result %+v", r)
			}
			if !bytes.Equal(r.Raw, []byte(body)) {
				t.Fatalf("Raw = %s, want the body as received", r.Raw)
			}
		})
	}
}

func TestInquireHTTPErrors(t *testing.T) {
	const jsonEcho = `{"status":1,"response_status_id":403,"message":"bad {DEV} {SECRET}"}`
	const html = `<html><body>Bad Gateway {DEV} {SECRET}</body></html>`
	tests := []struct {
		name          string
		status        int
		body          string
		wantKind      string
		wantRetryable bool
	}{
		{"403 bad signature", 403, jsonEcho, KindSignature, false},
		{"403 empty body", 403, ``, KindSignature, false},
		{"403 with not-found-like envelope is still a signature error", 403, `{"status":1,"response_status_id":463,"data":{}}`, KindSignature, false},
		{"401", 401, jsonEcho, KindHTTPStatus, false},
		{"400 envelope is not read as not found", 400, `{"status":1,"response_status_id":463,"data":{}}`, KindHTTPStatus, false},
		{"404 HTML", 404, html, KindHTTPStatus, false},
		{"404 JSON that is not the envelope", 404, `{"error":"no route {DEV}"}`, KindHTTPStatus, false},
		{"404 envelope with a tx_status", 404, `{"status":0,"data":{"tx_status":"0"}}`, KindHTTPStatus, false},
		{"405", 405, html, KindHTTPStatus, false},
		{"408", 408, html, KindHTTPStatus, true},
		{"429", 429, jsonEcho, KindHTTPStatus, true},
		{"500 envelope is not read as not found", 500, `{"status":1,"response_status_id":463,"data":{}}`, KindHTTPStatus, true},
		{"502 HTML", 502, html, KindHTTPStatus, true},
		{"503", 503, jsonEcho, KindHTTPStatus, true},
		{"504", 504, ``, KindHTTPStatus, true},
	}
	for _, tt := range tests {
		for _, mod := range []func(*Config, string){nil, useV1} {
			name := tt.name + "/v3"
			if mod != nil {
				name = tt.name + "/v1"
			}
			t.Run(name, func(t *testing.T) {
				c := newTestClient(t, echoSecrets(tt.status, tt.body), mod, nil)
				r, err := c.Inquire(context.Background(), "R1", uatUserCode)
				wantError(t, err, tt.wantKind, tt.wantRetryable, tt.status)
				if r.Class != 0 || r.Raw != nil {
					t.Fatalf("result must be empty on error, got %+v", r)
				}
			})
		}
	}
}

func TestInquireRedirectNotFollowed(t *testing.T) {
	for _, hc := range []*http.Client{nil, {}} {
		t.Run(fmt.Sprintf("caller client %v", hc != nil), func(t *testing.T) {
			var leaked sync.Map
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaked.Store("key", r.Header.Get("developer_key"))
			}))
			defer elsewhere.Close()
			c := newTestClient(t, http.RedirectHandler(elsewhere.URL, http.StatusFound), nil, hc)
			_, err := c.Inquire(context.Background(), "R1", uatUserCode)
			wantError(t, err, KindHTTPStatus, false, http.StatusFound)
			if _, ok := leaked.Load("key"); ok {
				t.Fatal("redirect followed: secrets sent to another host")
			}
		})
	}
}

func TestInquireGarbage(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"HTML", 200, `<html><body>Maintenance {DEV} {SECRET}</body></html>`},
		{"empty", 200, ``},
		{"204 no content", 204, ``},
		{"plain text", 200, `OK`},
		{"truncated JSON", 200, `{"status":0,"data":{"tx_status":"0"`},
		{"array", 200, `[{"status":0}]`},
		{"null", 200, `null`},
		{"object without status", 200, `{"data":{"tx_status":"0"}}`},
		{"empty status", 200, `{"status":"","data":{"tx_status":"0"}}`},
		{"trailing data", 200, `{"status":0,"data":{"tx_status":"0"}} {"status":1}`},
		{"tx_status boolean", 200, `{"status":0,"data":{"tx_status":true}}`},
		{"amount object", 200, `{"status":0,"data":{"tx_status":"0","amount":{"v":1}}}`},
		{"data is a string", 200, `{"status":0,"data":"tx_status=0"}`},
		{"status object", 200, `{"status":{"code":0},"data":{"tx_status":"0"}}`},
		{"over 1 MiB", 200, `{"status":0,"data":{"tx_status":"0"}}` + strings.Repeat(" ", maxBodyBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, echoSecrets(tt.status, tt.body), nil, nil)
			r, err := c.Inquire(context.Background(), "R1", uatUserCode)
			wantError(t, err, KindGarbage, true, tt.status)
			if r.Class != 0 {
				t.Fatalf("result must be empty on error, got %+v", r)
			}
		})
	}
}

func TestInquireTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	stallBody := func(t *testing.T) http.HandlerFunc {
		block := blockUntilGone(t, nil)
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.Write([]byte(`{"status":0,`))
			w.(http.Flusher).Flush()
			block(w, r)
		}
	}
	tests := []struct {
		name       string
		handler    func(t *testing.T) http.HandlerFunc
		hc         *http.Client
		wantStatus int
	}{
		{"no answer, default client", func(t *testing.T) http.HandlerFunc { return blockUntilGone(t, nil) }, nil, 0},
		{"no answer, caller's client without timeout", func(t *testing.T) http.HandlerFunc { return blockUntilGone(t, nil) }, &http.Client{}, 0},
		{"body stalls after headers, default client", stallBody, nil, 200},
		{"body stalls after headers, caller's client", stallBody, &http.Client{}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.handler(t), func(c *Config, _ string) { c.Timeout = timeout }, tt.hc)
			_, err := c.Inquire(context.Background(), "R1", uatUserCode)
			wantError(t, err, KindTimeout, true, tt.wantStatus)
		})
	}
}

func TestInquireParentContext(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(t *testing.T, arrived <-chan struct{}) context.Context
		wantErr error
	}{
		{"cancelled while waiting", func(t *testing.T, arrived <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-arrived; cancel() }()
			t.Cleanup(cancel)
			return ctx
		}, context.Canceled},
		{"caller's deadline before the per-call timeout", func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
		{"already cancelled", func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			c := newTestClient(t, blockUntilGone(t, arrived), func(c *Config, _ string) { c.Timeout = time.Minute }, nil)
			_, err := c.Inquire(tt.ctx(t, arrived), "R1", uatUserCode)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var e *Error
			if errors.As(err, &e) || IsRetryable(err) {
				t.Fatalf("caller's cancellation must not be a retryable *Error: %v", err)
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestInquireNetworkError(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *Client
	}{
		{"connection refused", func(t *testing.T) *Client {
			srv := httptest.NewServer(http.NotFoundHandler())
			base := srv.URL
			srv.Close()
			c, err := New(Config{BaseURL: base + "/ekoapi/v3", DeveloperKey: uatDeveloperKey, InitiatorID: uatInitiatorID},
				sign.NewSigner(uatAccessKey), nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Now = func() time.Time { return testNow }
			return c
		}},
		{"connection dropped", func(t *testing.T) *Client {
			return newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}), nil, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.setup(t).Inquire(context.Background(), "R1", uatUserCode)
			wantError(t, err, KindNetwork, true, 0)
		})
	}
}

func TestInquireBadInput(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*Config, string)
		ref      string
		userCode string
	}{
		{"empty ref v3", nil, "", uatUserCode},
		{"empty ref v1", useV1, "", uatUserCode},
		{"v3 without user code", nil, "R1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hit := false
			c := newTestClient(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }), tt.mod, nil)
			_, err := c.Inquire(context.Background(), tt.ref, tt.userCode)
			if err == nil || IsRetryable(err) {
				t.Fatalf("err = %v, want a non-retryable error", err)
			}
			if hit {
				t.Fatal("request sent despite bad input")
			}
		})
	}
}

func TestClassString(t *testing.T) {
	tests := []struct {
		c    Class
		want string
	}{
		{ClassFinal, "final"},
		{ClassPending, "pending"},
		{ClassReversalPending, "reversal_pending"},
		{ClassNotFound, "not_found"},
		{ClassSuspicious, "suspicious"},
		{0, "Class(0)"},
		{42, "Class(42)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Class(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	retry := &Error{Op: "inquire R1", Kind: KindTimeout, Retryable: true, Err: context.DeadlineExceeded}
	final := &Error{Op: "inquire R1", Kind: KindSignature, HTTPStatus: 403}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("x"), false},
		{"context cancelled", context.Canceled, false},
		{"retryable", retry, true},
		{"wrapped retryable", fmt.Errorf("activity: %w", retry), true},
		{"non-retryable", final, false},
		{"wrapped non-retryable", fmt.Errorf("activity: %w", final), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Fatalf("IsRetryable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "inquire R1", Kind: KindHTTPStatus, HTTPStatus: 503, Retryable: true, Err: errors.New("x")},
			"ekoapi: inquire R1: http_status (HTTP 503), retryable: x"},
		{&Error{Op: "inquire R1", Kind: KindSignature, HTTPStatus: 403}, "ekoapi: inquire R1: signature (HTTP 403)"},
		{&Error{Op: "inquire R1", Kind: KindNetwork, Retryable: true, Err: errors.New("refused")}, "ekoapi: inquire R1: network, retryable: refused"},
		{&Error{Op: "inquire R1", Kind: KindEkoError, HTTPStatus: 200, Retryable: true, Err: &errorReply{status: "1", responseStatusID: "1237"}},
			"ekoapi: inquire R1: eko_error (HTTP 200), retryable: Eko answered with an error, not a transaction state (eko status 1, response_status_id 1237)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, tt.err.Err) && tt.err.Err != nil {
			t.Errorf("Unwrap lost %v", tt.err.Err)
		}
	}
}

func TestNoSecretsWhenPrinted(t *testing.T) {
	cfg := Config{BaseURL: "https://staging.eko.in/ekoapi/v3", DeveloperKey: uatDeveloperKey, InitiatorID: uatInitiatorID}
	c, err := New(cfg, sign.NewSigner(uatAccessKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("x", "cfg", cfg, "client", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("x", "cfg", cfg, "client", c)
	outputs := []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, &cfg, cfg, cfg),
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		text.String(), js.String(),
	}
	for _, out := range outputs {
		assertNoSecrets(t, out)
	}
	if !strings.Contains(fmt.Sprint(cfg), "******1729") {
		t.Fatalf("initiator should be masked, not dropped: %s", fmt.Sprint(cfg))
	}
}
