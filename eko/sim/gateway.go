package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/redact"
)

// maxReplyBytes caps how much of a callback reply is read: replies are a few hundred bytes.
const maxReplyBytes = 1 << 20

// Gateway plays Eko's AePS gateway page, which runs in the agent's browser (or an Android
// WebView) and calls the integrator's callback URL with fetch(): hence the CORS preflight, the
// Origin header, and no signature of its own on what it sends.
//
// Set the exported fields before first use; a Gateway is safe for concurrent use afterwards and
// must not be copied.
type Gateway struct {
	CallbackURL string // e.g. http://127.0.0.1:8080/eko/aeps/callback
	// Origin is the gateway page's origin (UATOrigin in UAT). Empty acts as a client that is not a
	// browser (curl, an Android app without a WebView origin): no preflight, no Origin header.
	Origin string
	// AccessKey must be the key the server signs its replies with (its EKO_ACCESS_KEY).
	AccessKey string
	HTTP      *http.Client     // nil: a client with a 30 s timeout
	Now       func() time.Time // nil: time.Now
	// MaxSkew bounds |now - secret_key_timestamp| of a debit-hook reply (DefaultMaxSkew when 0).
	MaxSkew time.Duration
	Logger  *slog.Logger // nil: slog.Default()
	// Params are the integrator's custom parameters (setCallbackURL's parameters), sent as extra
	// top-level body fields like param1/param2 in Eko's sample.
	Params map[string]string
	// Headers are the integrator's custom headers; each is listed in the preflight's
	// Access-Control-Request-Headers and must be granted, as a browser requires.
	Headers map[string]string
	// NumericTxStatus sends tx_status in eko-responses as a JSON number (some gateway builds do),
	// not a string.
	NumericTxStatus bool

	mu   sync.Mutex
	sent map[string]sentHook // by the client_ref_id Eko uses from then on
}

// sentHook is what the gateway remembers of an allowed debit-hook, to fill its eko-response.
type sentHook struct {
	data map[string]string
	tid  string
}

// DebitHookRequest describes one transaction the agent starts on the gateway page.
type DebitHookRequest struct {
	ClientRefID string // Eko's reference; empty: a fresh 13-digit one (NewClientRefID)
	Type        string // "2" cash withdrawal (default), "3" balance inquiry, "4" mini statement
	CustomerID  string // customer's mobile number
	UserCode    string // agent's Eko user code
	Amount      string // exact text, e.g. "100"; omitted from data when empty (types 3 and 4)
	BankCode    string // default "PUNB"
	// RequestHashParams defaults to customer_id, amount, user_code (the list in Eko's sample).
	RequestHashParams []string
}

// DebitHookResult is the callback's answer to a debit-hook, as Eko would judge it.
type DebitHookResult struct {
	ClientRefID string // the reference Eko uses from now on: the reply's own one if it gave one
	SentRef     string // the client_ref_id that was sent
	OwnRef      bool   // the reply replaced Eko's client_ref_id with the integrator's own
	HTTPStatus  int
	Allowed     bool
	Message     string // refusal message (shown to the agent)

	SecretKey          string
	SecretKeyTimestamp string
	RequestHash        string
	// Checks of an allow reply. All false for a refusal.
	SecretKeyOK bool // secret_key == base64(HMAC-SHA256(base64(access key), timestamp))
	HashOK      bool // request_hash signs timestamp + the request_hash_params values present
	TimestampOK bool // within MaxSkew of now
	// Mismatch says, in words, every way an allow reply fails Eko's checks ("" when none).
	Mismatch string

	Request []byte // the body sent
	Reply   []byte // the body received
}

// Verified reports whether Eko would go ahead: allowed, and every check passed.
func (r DebitHookResult) Verified() bool {
	return r.Allowed && r.SecretKeyOK && r.HashOK && r.TimestampOK && r.Mismatch == ""
}

// DefaultRequestHashParams is the request_hash_params of Eko's sample debit-hook.
func DefaultRequestHashParams() []string { return []string{"customer_id", "amount", "user_code"} }

// detail constants of the AePS interaction, as in Eko's samples.
const (
	interactionTypeID = 344
	responseTypeID    = 1305
)

type debitHookData struct {
	CustomerID string `json:"customer_id"`
	BankCode   string `json:"bank_code"`
	Type       string `json:"type"`
	UserCode   string `json:"user_code"`
	Amount     string `json:"amount,omitempty"`
}

type debitHookDetail struct {
	HTTPMethod        string        `json:"http_method"`
	InteractionTypeID int           `json:"interaction_type_id"`
	InteractionLabel  string        `json:"interaction_label"`
	ClientRefID       string        `json:"client_ref_id"`
	RequestHashParams []string      `json:"request_hash_params"`
	Data              debitHookData `json:"data"`
}

// DebitHook sends the preflight and the debit-hook, and verifies an allow reply exactly as Eko
// would. A reply that fails verification is not an error: the result's checks and Mismatch say
// what is wrong. Errors are for what Eko could not get past at all: a failed preflight, a reply
// the browser would not let the page read, a network failure, a body that is not JSON.
func (g *Gateway) DebitHook(ctx context.Context, req DebitHookRequest) (DebitHookResult, error) {
	if g.AccessKey == "" {
		return DebitHookResult{}, errors.New("ekosim: debit-hook: Gateway.AccessKey is required to verify the reply")
	}
	ref, body, params, data, err := g.newDebitHook(req)
	if err != nil {
		return DebitHookResult{}, err
	}
	d := debitHookData{Type: data["type"], CustomerID: data["customer_id"], UserCode: data["user_code"], Amount: data["amount"]}
	log := g.logger().With("action", "debit-hook", "client_ref_id", ref, "type", d.Type,
		"customer", redact.Mobile(d.CustomerID), "agent", d.UserCode, "amount", d.Amount)

	status, reply, err := g.post(ctx, body)
	if err != nil {
		log.Warn("debit-hook failed", "err", err)
		return DebitHookResult{}, fmt.Errorf("ekosim: debit-hook %s: %w", ref, err)
	}
	res := DebitHookResult{ClientRefID: ref, SentRef: ref, HTTPStatus: status, Request: body, Reply: reply}
	if err := g.judge(&res, params, data); err != nil {
		log.Warn("debit-hook reply unreadable", "status", status, "err", err)
		return res, fmt.Errorf("ekosim: debit-hook %s: %w", ref, err)
	}
	if res.Allowed {
		g.remember(res.ClientRefID, data)
	}
	log.Info("debit-hook answered", "status", status, "allowed", res.Allowed, "verified", res.Verified(),
		"mismatch", res.Mismatch, "eko_client_ref_id", res.ClientRefID)
	return res, nil
}

// newDebitHook builds a debit-hook's body, with what its reply is checked against.
func (g *Gateway) newDebitHook(req DebitHookRequest) (ref string, body []byte, params []string, data map[string]string, err error) {
	ref = req.ClientRefID
	if ref == "" {
		ref = NewClientRefID()
	}
	params = req.RequestHashParams
	if params == nil {
		params = DefaultRequestHashParams()
	}
	d := debitHookData{CustomerID: req.CustomerID, BankCode: req.BankCode, Type: req.Type, UserCode: req.UserCode, Amount: req.Amount}
	if d.Type == "" {
		d.Type = "2"
	}
	if d.BankCode == "" {
		d.BankCode = "PUNB"
	}
	data = map[string]string{"customer_id": d.CustomerID, "bank_code": d.BankCode, "type": d.Type, "user_code": d.UserCode}
	if d.Amount != "" {
		data["amount"] = d.Amount
	}
	body, err = withParams(map[string]any{
		"action": "debit-hook",
		"detail": debitHookDetail{HTTPMethod: "POST", InteractionTypeID: interactionTypeID, InteractionLabel: "AePS",
			ClientRefID: ref, RequestHashParams: params, Data: d},
	}, g.Params)
	if err != nil {
		return "", nil, nil, nil, fmt.Errorf("ekosim: debit-hook %s: encode: %w", ref, err)
	}
	return ref, body, params, data, nil
}

// judge reads the reply and runs Eko's checks on an allow.
func (g *Gateway) judge(res *DebitHookResult, params []string, data map[string]string) error {
	var reply map[string]json.RawMessage
	if err := json.Unmarshal(res.Reply, &reply); err != nil || reply == nil {
		return fmt.Errorf("reply (HTTP %d) is not a JSON object: %.200q", res.HTTPStatus, res.Reply)
	}
	var problems []string
	if action, _ := text(reply["action"]); action != "go" {
		problems = append(problems, fmt.Sprintf("action is %q, not \"go\"", action))
	}
	var allow bool
	if raw, ok := reply["allow"]; !ok || json.Unmarshal(raw, &allow) != nil {
		// Eko only goes ahead on an explicit true; anything else stops the transaction.
		problems = append(problems, "allow is missing or not a boolean")
	}
	res.Allowed = allow
	res.Message, _ = text(reply["message"])
	if !allow {
		res.Mismatch = strings.Join(problems, "; ")
		return nil
	}

	res.SecretKey, _ = text(reply["secret_key"])
	res.SecretKeyTimestamp, _ = text(reply["secret_key_timestamp"])
	res.RequestHash, _ = text(reply["request_hash"])
	ts := res.SecretKeyTimestamp
	signer := sign.NewSigner(g.AccessKey)
	switch ms, err := strconv.ParseInt(ts, 10, 64); {
	case ts == "":
		problems = append(problems, "secret_key_timestamp is missing")
	case err != nil:
		problems = append(problems, fmt.Sprintf("secret_key_timestamp %q is not Unix milliseconds", ts))
	default:
		skew := g.now().Sub(time.UnixMilli(ms))
		if res.TimestampOK = skew.Abs() <= g.maxSkew(); !res.TimestampOK {
			problems = append(problems, fmt.Sprintf("secret_key_timestamp is %s away from now (allowed %s)", skew.Round(time.Millisecond), g.maxSkew()))
		}
	}
	if res.SecretKeyOK = ts != "" && signer.VerifySecretKey(ts, res.SecretKey); !res.SecretKeyOK {
		problems = append(problems, "secret_key does not match base64(HMAC-SHA256(base64(access key), secret_key_timestamp)): wrong access key or wrong algorithm")
	}
	if res.HashOK = ts != "" && signer.VerifyRequestHash(ts, params, data, res.RequestHash); !res.HashOK {
		problems = append(problems, fmt.Sprintf("request_hash does not match HMAC-SHA256 over secret_key_timestamp + %s (values as sent, absent ones skipped)",
			strings.Join(presentParams(params, data), " + ")))
	}
	if raw, ok := reply["client_ref_id"]; ok && string(raw) != "null" {
		switch own, isText := text(raw); {
		case !isText || own == "":
			problems = append(problems, "client_ref_id in the reply is not a non-empty string")
		case len([]rune(own)) > 20:
			problems = append(problems, fmt.Sprintf("client_ref_id %q in the reply is longer than 20 characters", own))
		default:
			// Eko replaces its reference with the integrator's and reports it in eko-response.
			res.OwnRef = own != res.SentRef
			res.ClientRefID = own
		}
	}
	res.Mismatch = strings.Join(problems, "; ")
	return nil
}

func presentParams(params []string, data map[string]string) []string {
	var out []string
	for _, p := range params {
		if _, ok := data[p]; ok {
			out = append(out, p)
		}
	}
	return out
}

// text returns a JSON string's value, or a number's literal; ok is false for anything else.
func text(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func (g *Gateway) remember(ref string, data map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sent == nil {
		g.sent = map[string]sentHook{}
	}
	if _, ok := g.sent[ref]; !ok {
		g.sent[ref] = sentHook{data: data, tid: randomDigits(8)}
	}
}

func (g *Gateway) recall(ref string) (sentHook, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h, ok := g.sent[ref]
	return h, ok
}

// EkoResponseRequest is an eko-response with full control; EkoResponse covers the usual case.
type EkoResponseRequest struct {
	ClientRefID string
	TxStatus    string
	// NumericTxStatus sends tx_status as a JSON number (it must then be an integer).
	NumericTxStatus bool
	// Data overrides response.data fields of the defaults (Eko's sample values); a nil value removes one.
	Data map[string]any
	// Status and Message override the envelope's (derived from TxStatus when nil / empty).
	Status  *int
	Message string
}

// EkoResponseResult is the callback's answer to an eko-response. Eko documents no reply; ours is
// {"status":"ok"|"error","outcome":...,"message":...}.
type EkoResponseResult struct {
	HTTPStatus int
	Status     string
	Outcome    string
	Message    string
	Request    []byte
	Reply      []byte
}

// EkoResponse reports the transaction's outcome to the callback, in the shape of Eko's sample
// (docs/eko-aeps.md#eko-response). fields override the defaults of response.data (the sample's values; amount and user_code from the
// debit-hook this Gateway sent for clientRefID, if any); a nil value removes a field.
// tx_status is sent as a string, or as a number when Gateway.NumericTxStatus is set.
func (g *Gateway) EkoResponse(ctx context.Context, clientRefID, txStatus string, fields map[string]any) (EkoResponseResult, error) {
	return g.SendEkoResponse(ctx, EkoResponseRequest{ClientRefID: clientRefID, TxStatus: txStatus, NumericTxStatus: g.NumericTxStatus, Data: fields})
}

// SendEkoResponse sends an eko-response built from req.
func (g *Gateway) SendEkoResponse(ctx context.Context, req EkoResponseRequest) (EkoResponseResult, error) {
	if req.ClientRefID == "" {
		return EkoResponseResult{}, errors.New("ekosim: eko-response: client_ref_id is required")
	}
	body, err := g.ekoResponseBody(req)
	if err != nil {
		return EkoResponseResult{}, fmt.Errorf("ekosim: eko-response %s: %w", req.ClientRefID, err)
	}
	log := g.logger().With("action", "eko-response", "client_ref_id", req.ClientRefID, "tx_status", req.TxStatus)
	status, reply, err := g.post(ctx, body)
	if err != nil {
		log.Warn("eko-response failed", "err", err)
		return EkoResponseResult{}, fmt.Errorf("ekosim: eko-response %s: %w", req.ClientRefID, err)
	}
	res := EkoResponseResult{HTTPStatus: status, Request: body, Reply: reply}
	var r struct {
		Status  string `json:"status"`
		Outcome string `json:"outcome"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return res, fmt.Errorf("ekosim: eko-response %s: reply (HTTP %d) is not the expected JSON: %.200q", req.ClientRefID, status, reply)
	}
	res.Status, res.Outcome, res.Message = r.Status, r.Outcome, r.Message
	log.Info("eko-response answered", "status", status, "reply_status", r.Status, "outcome", r.Outcome)
	return res, nil
}

// envelopeFor is the response envelope Eko's gateway puts around a tx_status. Eko documents only
// the success sample (status 0, "Transaction successful") and that a pending one has status 0 too;
// the failure envelope is a guess, which is fine: the service must decide on tx_status alone.
func envelopeFor(txStatus string) (status int, message string) {
	switch txStatus {
	case "0":
		return 0, "Transaction successful"
	case "1":
		return 1, "Transaction failed"
	case "2":
		return 0, "Transaction initiated: response awaited"
	case "3":
		return 0, "Refund pending"
	case "4":
		return 0, "Transaction refunded"
	}
	return 0, "Transaction status unknown"
}

func (g *Gateway) ekoResponseBody(req EkoResponseRequest) ([]byte, error) {
	hook, known := g.recall(req.ClientRefID)
	success := req.TxStatus == "0"
	data := map[string]any{
		"tx_status": req.TxStatus, "transaction_date": "", "reason": "", "merchant_code": "", "shop": "",
		"sender_name": "amit", "auth_code": "", "balance": "339976.26", "shop_address_line1": "",
		"user_code": "20810200", "merchantname": "Sneha", "stan": "", "aadhaar": "XXXX XXXX 9999",
		"customer_balance": "", "transaction_time": "", "bank_ref_num": "", "terminal_id": "",
		"amount": "0.0", "commission": "0.0", "tds": "0.0", "tid": randomDigits(8),
	}
	if known {
		data["tid"] = hook.tid
		data["user_code"] = hook.data["user_code"]
		if a := hook.data["amount"]; a != "" {
			data["amount"] = ekoAmount(a)
		}
		if hook.data["type"] != "2" && success {
			data["customer_balance"] = "5000.00" // balance inquiry / mini statement report a balance
		}
	}
	if success {
		data["commission"], data["tds"] = "6.0", "0.3"
		data["bank_ref_num"] = randomDigits(12)
	}
	if req.NumericTxStatus {
		n, err := strconv.Atoi(req.TxStatus)
		if err != nil {
			return nil, fmt.Errorf("tx_status %q cannot be sent as a number", req.TxStatus)
		}
		data["tx_status"] = n
	}
	for k, v := range req.Data {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	status, message := envelopeFor(req.TxStatus)
	if req.Status != nil {
		status = *req.Status
	}
	if req.Message != "" {
		message = req.Message
	}
	origin := g.Origin
	if origin == "" {
		origin = UATOrigin
	}
	final := req.TxStatus == "0" || req.TxStatus == "1" || req.TxStatus == "4"
	return withParams(map[string]any{
		"action": "eko-response",
		"detail": map[string]any{
			"url": origin + "/v2/api", "client_ref_id": req.ClientRefID, "http_method": "POST", "http_status": 200,
			"interaction_type_id": interactionTypeID, "is_debithook_response": true, "is_final": final,
			"response": map[string]any{
				"status": status, "response_status_id": status, "response_type_id": responseTypeID,
				"message": message, "data": data,
			},
		},
	}, g.Params)
}

// ekoAmount formats a requested amount as Eko reports it ("2000" -> "2000.0", as in Eko's sample).
func ekoAmount(a string) string {
	if strings.Contains(a, ".") {
		return a
	}
	return a + ".0"
}

// withParams encodes body with the custom params added at the top level (never overriding
// action or detail).
func withParams(body map[string]any, params map[string]string) ([]byte, error) {
	for k, v := range params {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	return json.Marshal(body)
}

// post sends body as the gateway page's fetch() would: preflight first (for a browser origin),
// then the POST, and the reply is only readable if the POST's reply grants the origin too.
func (g *Gateway) post(ctx context.Context, body []byte) (int, []byte, error) {
	if g.CallbackURL == "" {
		return 0, nil, errors.New("Gateway.CallbackURL is required")
	}
	if g.Origin != "" {
		if err := g.preflight(ctx); err != nil {
			return 0, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build POST: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Origin != "" {
		req.Header.Set("Origin", g.Origin)
	}
	for k, v := range g.Headers {
		req.Header.Set(k, v)
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", g.CallbackURL, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read reply: %w", err)
	}
	if g.Origin != "" {
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != g.Origin && got != "*" {
			// The request did reach the server, but the browser hides the reply from the page:
			// to Eko this is a callback that never answered.
			return resp.StatusCode, reply, fmt.Errorf("CORS: the reply to POST (HTTP %d) has Access-Control-Allow-Origin %q, not %q: a browser would not let the gateway page read it",
				resp.StatusCode, got, g.Origin)
		}
	}
	return resp.StatusCode, reply, nil
}

// preflight sends the OPTIONS request a browser sends before a cross-origin JSON POST and checks
// the grant as the Fetch standard does: an ok status, the origin allowed (exactly, or "*" since
// no credentials are sent), and every non-safelisted request header allowed. POST itself is a
// CORS-safelisted method, so Access-Control-Allow-Methods is not required to name it.
func (g *Gateway) preflight(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, g.CallbackURL, nil)
	if err != nil {
		return fmt.Errorf("build preflight: %w", err)
	}
	wantHeaders := []string{"content-type"}
	for k := range g.Headers {
		wantHeaders = append(wantHeaders, strings.ToLower(k))
	}
	sort.Strings(wantHeaders)
	req.Header.Set("Origin", g.Origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", strings.Join(wantHeaders, ","))
	resp, err := g.client().Do(req)
	if err != nil {
		return fmt.Errorf("CORS preflight OPTIONS %s: %w", g.CallbackURL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("CORS preflight failed: OPTIONS answered HTTP %d for origin %s (a browser needs a 2xx)", resp.StatusCode, g.Origin)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != g.Origin && got != "*" {
		return fmt.Errorf("CORS preflight failed: Access-Control-Allow-Origin is %q, not %q: a browser would not send the callback", got, g.Origin)
	}
	allowed := map[string]bool{}
	for _, v := range resp.Header.Values("Access-Control-Allow-Headers") {
		for _, h := range strings.Split(v, ",") {
			allowed[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	var missing []string
	for _, h := range wantHeaders {
		if !allowed[h] && !allowed["*"] {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("CORS preflight failed: Access-Control-Allow-Headers %q does not allow %s: a browser would not send the callback",
			strings.Join(resp.Header.Values("Access-Control-Allow-Headers"), ", "), strings.Join(missing, ", "))
	}
	methods := strings.Join(resp.Header.Values("Access-Control-Allow-Methods"), ",")
	if !slices.ContainsFunc(strings.Split(methods, ","), func(m string) bool { return strings.TrimSpace(m) == http.MethodPost }) {
		// Not fatal to a browser (see above), but Eko's guide asks for it: worth a note.
		g.logger().Info("preflight reply does not list POST in Access-Control-Allow-Methods", "methods", methods)
	}
	return nil
}

func (g *Gateway) client() *http.Client {
	if g.HTTP != nil {
		return g.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gateway) maxSkew() time.Duration {
	if g.MaxSkew > 0 {
		return g.MaxSkew
	}
	return DefaultMaxSkew
}

func (g *Gateway) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}

// NewClientRefID returns a fresh 13-digit reference like Eko's (which look like Unix
// milliseconds). Random rather than clock-based, so concurrent simulators never collide.
func NewClientRefID() string { return randomDigits(13) }

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(fmt.Sprintf("ekosim: crypto/rand failed: %v", err)) // the OS's RNG is broken
		}
		b[i] = byte('0' + d.Int64())
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}
