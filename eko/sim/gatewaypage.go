package sim

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
)

// LocalOrigin is aeps-gateway-lib's "local" environment: where its open() posts the launch form
// (LocalOrigin + "/v2/aeps"), and where `ekosim gateway-page` serves.
const LocalOrigin = "http://localhost:3004"

//go:embed gatewaypage.html
var gatewayPageHTML string

var gatewayPageTmpl = template.Must(template.New("gateway").Parse(gatewayPageHTML))

// GatewayPage plays Eko's AePS gateway page in a real browser. It takes the form that
// aeps-gateway-lib's open() posts to /v2/aeps, checks the launch as Eko would, and serves a page
// whose JavaScript, in the browser, sends the debit-hook to the callback URL with fetch() (JSON and
// the form's custom headers, so the browser makes a real CORS preflight), has the reply checked
// here (secret_key, request_hash, timestamp), shows a simulated biometric step with the outcome
// to choose, and sends the eko-response.
//
// Set the exported fields before first use.
type GatewayPage struct {
	// AccessKey verifies the launch's secret_key and the debit-hook replies: the service's gateway
	// access key (EKO_GATEWAY_ACCESS_KEY, else EKO_ACCESS_KEY).
	AccessKey string
	// DeveloperKey, when set, must be the launch's developer_key.
	DeveloperKey string
	// Inquiry, when set, learns each transaction's true outcome, so that the Transaction Inquiry
	// API answers as Eko would after it (a closed page: the withdrawal went through).
	Inquiry *InquiryServer
	MaxSkew time.Duration    // DefaultMaxSkew when 0
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: slog.Default()

	mu       sync.Mutex
	sessions map[string]*pageSession
}

// pageSession is one opened gateway page.
type pageSession struct {
	gw       *Gateway
	userCode string
	hooks    map[string]sentDebitHook // by client_ref_id sent
}

type sentDebitHook struct {
	params []string
	data   map[string]string
	body   []byte
}

// maxSessions bounds the simulator's memory: the oldest pages stop working past it.
const maxSessions = 1000

// Outcomes offered on the biometric step: the tx_status the eko-response reports ("" sends none)
// and what the Transaction Inquiry API answers afterwards.
var pageOutcomes = map[string]struct {
	txStatus string
	inquiry  []Step
}{
	"success":    {"0", []Step{{TxStatus: "0"}}},
	"failure":    {"1", []Step{{TxStatus: "1"}}},
	"pending":    {"2", []Step{{TxStatus: "2", Times: 1}, {TxStatus: "0"}}},
	"suspicious": {"7", []Step{{TxStatus: "0"}}},
	"close":      {"", []Step{{TxStatus: "0"}}},
}

func (p *GatewayPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch path := strings.TrimSuffix(r.URL.Path, "/"); {
	case path == "/v2/aeps" && r.Method == http.MethodPost:
		p.launch(w, r)
	case strings.HasPrefix(path, "/v2/aeps/s/") && r.Method == http.MethodPost:
		parts := strings.Split(strings.TrimPrefix(path, "/v2/aeps/s/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		p.action(w, r, parts[0], parts[1])
	case path == "/v2/aeps" || path == "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ekosim gateway page: open it with aeps-gateway-lib (environment \"local\"), which POSTs its form to /v2/aeps.")
	default:
		http.NotFound(w, r)
	}
}

// launchView is what the page's template and script get.
type launchView struct {
	Session     string            `json:"session"`
	PartnerName string            `json:"partner_name"`
	Logo        string            `json:"-"`
	UserCode    string            `json:"user_code"`
	Environment string            `json:"environment"`
	CallbackURL string            `json:"callback_url"`
	Headers     map[string]string `json:"headers"`
	Opener      string            `json:"opener_origin"`
	Timestamp   string            `json:"secret_key_timestamp"`
	Problems    []string          `json:"-"`
	JSON        string            `json:"-"`
}

// launch checks the launch form as Eko's gateway would and serves the page (or the refusal).
func (p *GatewayPage) launch(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	v := launchView{PartnerName: f.Get("partner_name"), Logo: f.Get("initiator_logo_url"), UserCode: f.Get("user_code"),
		Environment: f.Get("environment"), CallbackURL: f.Get("callback_url"), Opener: r.Header.Get("Origin"),
		Timestamp: f.Get("secret_key_timestamp")}
	var problems []string
	for _, name := range []string{"initiator_id", "developer_key", "secret_key", "secret_key_timestamp", "user_code", "callback_url"} {
		if f.Get(name) == "" {
			problems = append(problems, name+" is missing")
		}
	}
	if p.DeveloperKey != "" && f.Get("developer_key") != p.DeveloperKey {
		problems = append(problems, "developer_key is not the one registered for this initiator")
	}
	ts := f.Get("secret_key_timestamp")
	if ms, err := strconv.ParseInt(ts, 10, 64); err != nil {
		problems = append(problems, "secret_key_timestamp is not Unix milliseconds")
	} else if skew := p.now().Sub(time.UnixMilli(ms)); skew.Abs() > p.maxSkew() {
		problems = append(problems, fmt.Sprintf("secret_key_timestamp is %s away from now (allowed %s): sign it just before opening the gateway", skew.Round(time.Second), p.maxSkew()))
	}
	if !sign.NewSigner(p.AccessKey).VerifySecretKey(ts, f.Get("secret_key")) {
		problems = append(problems, "secret_key does not match base64(HMAC-SHA256(base64(access key), secret_key_timestamp))")
	}
	if u, err := url.Parse(v.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "callback_url is not an http(s) URL")
	}
	params, err := stringObject(f.Get("callback_url_custom_params"))
	if err != nil {
		problems = append(problems, "callback_url_custom_params: "+err.Error())
	}
	if v.Headers, err = stringObject(f.Get("callback_url_custom_headers")); err != nil {
		problems = append(problems, "callback_url_custom_headers: "+err.Error())
	}
	log := p.logger().With("agent", v.UserCode, "callback_url", v.CallbackURL)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		log.Warn("gateway launch refused", "problems", strings.Join(problems, "; "))
		v.Problems = problems
		w.WriteHeader(http.StatusForbidden)
		_ = gatewayPageTmpl.Execute(w, v)
		return
	}
	origin := "http://" + r.Host // the page's own origin, as Eko's pages name theirs in eko-responses
	v.Session = p.newSession(&pageSession{
		gw:       &Gateway{CallbackURL: v.CallbackURL, Origin: origin, AccessKey: p.AccessKey, Now: p.Now, MaxSkew: p.MaxSkew, Logger: p.Logger, Params: params, Headers: v.Headers},
		userCode: v.UserCode, hooks: map[string]sentDebitHook{},
	})
	b, _ := json.Marshal(v)
	v.JSON = string(b)
	log.Info("gateway launched", "session", v.Session)
	_ = gatewayPageTmpl.Execute(w, v)
}

// stringObject reads a JSON object of custom params or headers; non-string values keep their JSON.
func stringObject(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	for k, raw := range m {
		if t, ok := text(raw); ok {
			out[k] = t
		} else {
			out[k] = string(raw)
		}
	}
	return out, nil
}

func (p *GatewayPage) newSession(s *pageSession) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = map[string]*pageSession{}
	}
	if len(p.sessions) >= maxSessions {
		for k := range p.sessions { // any one: a simulator needs no LRU
			delete(p.sessions, k)
			break
		}
	}
	p.sessions[id] = s
	return id
}

func (p *GatewayPage) session(id string) (*pageSession, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[id]
	return s, ok
}

// pageRequest is what the page's script asks of the simulator.
type pageRequest struct {
	// debit-hook
	Type       string `json:"type"`
	CustomerID string `json:"customer_id"`
	Amount     string `json:"amount"`
	BankCode   string `json:"bank_code"`
	// verify, eko-response
	ClientRefID string `json:"client_ref_id"`
	HTTPStatus  int    `json:"status"`
	Reply       string `json:"reply"`
	Outcome     string `json:"outcome"`
}

func (p *GatewayPage) action(w http.ResponseWriter, r *http.Request, id, action string) {
	s, ok := p.session(id)
	if !ok {
		pageJSON(w, http.StatusNotFound, map[string]any{"error": "this gateway page has expired: open the gateway again"})
		return
	}
	var req pageRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		pageJSON(w, http.StatusBadRequest, map[string]any{"error": "bad request: " + err.Error()})
		return
	}
	switch action {
	case "debit-hook":
		amount := req.Amount
		if req.Type != "2" {
			amount = ""
		}
		ref, body, params, data, err := s.gw.newDebitHook(DebitHookRequest{Type: req.Type, CustomerID: req.CustomerID,
			UserCode: s.userCode, Amount: amount, BankCode: req.BankCode})
		if err != nil {
			pageJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		p.mu.Lock()
		s.hooks[ref] = sentDebitHook{params: params, data: data, body: body}
		p.mu.Unlock()
		pageJSON(w, http.StatusOK, map[string]any{"client_ref_id": ref, "body": string(body)})
	case "verify":
		p.mu.Lock()
		h, ok := s.hooks[req.ClientRefID]
		p.mu.Unlock()
		if !ok {
			pageJSON(w, http.StatusNotFound, map[string]any{"error": "no debit-hook " + req.ClientRefID + " was sent from this page"})
			return
		}
		res := DebitHookResult{ClientRefID: req.ClientRefID, SentRef: req.ClientRefID, HTTPStatus: req.HTTPStatus, Request: h.body, Reply: []byte(req.Reply)}
		if err := s.gw.judge(&res, h.params, h.data); err != nil {
			pageJSON(w, http.StatusOK, map[string]any{"allowed": false, "verified": false, "mismatch": err.Error()})
			return
		}
		if res.Allowed {
			s.gw.remember(res.ClientRefID, h.data)
		}
		p.logger().Info("debit-hook reply checked", "client_ref_id", res.ClientRefID, "allowed", res.Allowed, "verified", res.Verified(), "mismatch", res.Mismatch)
		pageJSON(w, http.StatusOK, map[string]any{
			"allowed": res.Allowed, "verified": res.Verified(), "message": res.Message, "mismatch": res.Mismatch,
			"client_ref_id": res.ClientRefID, "secret_key_ok": res.SecretKeyOK, "hash_ok": res.HashOK, "timestamp_ok": res.TimestampOK,
		})
	case "eko-response":
		o, ok := pageOutcomes[req.Outcome]
		if _, sent := s.gw.recall(req.ClientRefID); !ok || !sent {
			pageJSON(w, http.StatusBadRequest, map[string]any{"error": "unknown outcome or transaction"})
			return
		}
		if p.Inquiry != nil {
			hook, _ := s.gw.recall(req.ClientRefID)
			if a := hook.data["amount"]; a != "" {
				p.Inquiry.SetAmount(req.ClientRefID, ekoAmount(a)) // Eko reports the amount withdrawn
			}
			p.Inquiry.Script(req.ClientRefID, o.inquiry...)
		}
		if o.txStatus == "" {
			pageJSON(w, http.StatusOK, map[string]any{"tx_status": "", "body": ""})
			return
		}
		body, err := s.gw.ekoResponseBody(EkoResponseRequest{ClientRefID: req.ClientRefID, TxStatus: o.txStatus})
		if err != nil {
			pageJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		pageJSON(w, http.StatusOK, map[string]any{"tx_status": o.txStatus, "body": string(body)})
	default:
		http.NotFound(w, r)
	}
}

func pageJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (p *GatewayPage) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *GatewayPage) maxSkew() time.Duration {
	if p.MaxSkew > 0 {
		return p.MaxSkew
	}
	return DefaultMaxSkew
}

func (p *GatewayPage) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
