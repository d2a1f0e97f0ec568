package sim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
)

// InquiryConfig configures an InquiryServer.
type InquiryConfig struct {
	DeveloperKey string // the developer_key header must equal it
	AccessKey    string // secret-key must be signed with it
	// InitiatorID, when set, must equal the initiator_id query parameter (always required).
	InitiatorID string
	// Mount points; "" means the default, "/" the root.
	V3Prefix      string           // DefaultV3Prefix
	V1Prefix      string           // DefaultV1Prefix
	ControlPrefix string           // DefaultControlPrefix
	MaxSkew       time.Duration    // DefaultMaxSkew when 0: a secret-key-timestamp further off is refused
	Now           func() time.Time // nil: time.Now
	Logger        *slog.Logger     // nil: slog.Default()
}

// InquiryServer is Eko's Transaction Inquiry API with scripted answers. Unknown references are
// answered "not found". It is an http.Handler serving
//
//	GET  {V3Prefix}/tools/reference/transaction/client_ref_id:{ref}?initiator_id=&user_code=
//	GET  {V3Prefix}/tools/reference/transaction/{tid}?initiator_id=&user_code=
//	GET  {V1Prefix}/transactions/client_ref_id:{ref}?initiator_id=
//	POST {ControlPrefix}/inquiry/{ref}   body: a JSON list of steps; replaces the ref's script
//	GET  {ControlPrefix}/inquiry/{ref}   the ref's script, position and calls
//	DELETE {ControlPrefix}/inquiry/{ref} forget the ref
//	GET  {ControlPrefix}/inquiry         every ref known
//
// The control API has no authentication: it is for a simulator on a loopback address.
// An InquiryServer is safe for concurrent use.
type InquiryServer struct {
	cfg    InquiryConfig
	signer *sign.Signer
	mux    *http.ServeMux

	mu   sync.Mutex
	refs map[string]*refState
}

type refState struct {
	steps []Step
	pos   int // current step
	used  int // answers the current step has given
	calls int
	log   []Call
	tid   string
	bank  string
	// amount is what answers report as the transaction's amount (as Eko would: the amount of
	// the transaction it made); "" until SetAmount.
	amount string
}

// maxLog bounds the per-reference call log (a load test may inquire a lot).
const maxLog = 200

// Call is one inquiry request the server received for a reference.
type Call struct {
	At          time.Time `json:"at"`
	Version     string    `json:"version"` // v3 | v1
	InitiatorID string    `json:"initiator_id"`
	UserCode    string    `json:"user_code,omitempty"`
	HTTPStatus  int       `json:"http_status"`
	Answer      string    `json:"answer"` // the step answered (ParseSteps notation), or forbidden / bad_request
}

// RefState is a reference's script and history.
type RefState struct {
	Ref      string `json:"ref"`
	Steps    []Step `json:"steps"`
	Position int    `json:"position"` // index of the step answering next
	Used     int    `json:"used"`     // answers already given by that step
	Calls    int    `json:"calls"`
	Log      []Call `json:"log"`
	Amount   string `json:"amount,omitempty"` // reported in every answer (SetAmount)
}

// NewInquiryServer validates cfg and returns a server with no scripts.
func NewInquiryServer(cfg InquiryConfig) (*InquiryServer, error) {
	if cfg.DeveloperKey == "" || cfg.AccessKey == "" {
		return nil, errors.New("ekosim: inquiry server needs a developer key and an access key")
	}
	cfg.V3Prefix = prefix(cfg.V3Prefix, DefaultV3Prefix)
	cfg.V1Prefix = prefix(cfg.V1Prefix, DefaultV1Prefix)
	cfg.ControlPrefix = prefix(cfg.ControlPrefix, DefaultControlPrefix)
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &InquiryServer{cfg: cfg, signer: sign.NewSigner(cfg.AccessKey), refs: map[string]*refState{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+cfg.V3Prefix+"/tools/reference/transaction/{ref}", func(w http.ResponseWriter, r *http.Request) {
		s.inquiry(w, r, "v3")
	})
	mux.HandleFunc("GET "+cfg.V1Prefix+"/transactions/{ref}", func(w http.ResponseWriter, r *http.Request) {
		s.inquiry(w, r, "v1")
	})
	mux.HandleFunc("POST "+cfg.ControlPrefix+"/inquiry/{ref}", s.controlScript)
	mux.HandleFunc("GET "+cfg.ControlPrefix+"/inquiry/{ref}", s.controlShow)
	mux.HandleFunc("DELETE "+cfg.ControlPrefix+"/inquiry/{ref}", s.controlForget)
	mux.HandleFunc("GET "+cfg.ControlPrefix+"/inquiry", s.controlList)
	s.mux = mux
	return s, nil
}

func prefix(p, def string) string {
	switch p {
	case "":
		return def
	case "/":
		return ""
	}
	return "/" + strings.Trim(p, "/")
}

// ServeHTTP implements http.Handler.
func (s *InquiryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// V3Prefix and V1Prefix are where the two API versions are mounted (append them to the server's
// URL for EKO_API_BASE_URL).
func (s *InquiryServer) V3Prefix() string { return s.cfg.V3Prefix }

// V1Prefix: see V3Prefix.
func (s *InquiryServer) V1Prefix() string { return s.cfg.V1Prefix }

// Script replaces ref's script: each step answers Times times (0 = forever) and then the next
// one answers; the last step keeps answering once the others are used up. With no steps, ref is
// answered "not found" again. The call count is kept.
func (s *InquiryServer) Script(ref string, steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(ref)
	st.steps = append([]Step(nil), steps...)
	st.pos, st.used = 0, 0
}

// SetAmount makes every answer for ref report amount as the transaction's amount (Eko reports
// the amount of the transaction it made; a test sets it to what the gateway sent, or to another
// amount to play a gateway that was made to withdraw more). A step's Fields may still override it.
func (s *InquiryServer) SetAmount(ref, amount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state(ref).amount = amount
}

// Calls returns how many inquiries named ref (whatever they were answered).
func (s *InquiryServer) Calls(ref string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.refs[ref]; ok {
		return st.calls
	}
	return 0
}

// State returns ref's script, position and call log.
func (s *InquiryServer) State(ref string) RefState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot(ref)
}

// Forget drops ref's script and history.
func (s *InquiryServer) Forget(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refs, ref)
}

func (s *InquiryServer) snapshot(ref string) RefState {
	rs := RefState{Ref: ref, Steps: []Step{}, Log: []Call{}}
	if st, ok := s.refs[ref]; ok {
		rs.Steps = append(rs.Steps, st.steps...)
		rs.Position, rs.Used, rs.Calls, rs.Amount = st.pos, st.used, st.calls, st.amount
		rs.Log = append(rs.Log, st.log...)
	}
	return rs
}

// state returns ref's state, creating it; s.mu must be held.
func (s *InquiryServer) state(ref string) *refState {
	st, ok := s.refs[ref]
	if !ok {
		// The tid and bank reference stay the same across answers, as Eko's would.
		st = &refState{tid: randomDigits(8), bank: randomDigits(12)}
		s.refs[ref] = st
	}
	return st
}

// next counts a call for ref and returns the step that answers it (NotFound when unscripted).
func (s *InquiryServer) next(ref string, c Call) (step Step, tid, bank, amount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(ref)
	st.calls++
	step = Step{NotFound: true}
	if len(st.steps) > 0 {
		step = st.steps[st.pos]
		st.used++
		if step.Times > 0 && st.used >= step.Times && st.pos < len(st.steps)-1 {
			st.pos, st.used = st.pos+1, 0
		}
	}
	c.Answer = step.String()
	c.HTTPStatus = http.StatusOK
	if step.HTTPStatus != 0 {
		c.HTTPStatus = step.HTTPStatus
	}
	st.appendLog(c)
	return step, st.tid, st.bank, st.amount
}

// reject counts a refused call for ref.
func (s *InquiryServer) reject(ref string, c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(ref)
	st.calls++
	st.appendLog(c)
}

func (st *refState) appendLog(c Call) {
	if len(st.log) >= maxLog {
		st.log = append(st.log[:0], st.log[len(st.log)-maxLog+1:]...)
	}
	st.log = append(st.log, c)
}

// findTID returns the reference whose tid is tid, for v3's lookup by Eko's transaction id.
func (s *InquiryServer) findTID(tid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ref, st := range s.refs {
		if st.tid == tid {
			return ref, true
		}
	}
	return "", false
}

// envelope is Eko's response envelope.
type envelope struct {
	Status           int    `json:"status"`
	Message          string `json:"message"`
	ResponseStatusID int    `json:"response_status_id"`
	ResponseTypeID   int    `json:"response_type_id"`
	Data             any    `json:"data"`
}

// Eko's codes for the inquiry answers (response_type_id values are not documented for the
// inquiry; they are only carried along).
const (
	notFoundStatusID = 463
	inquiryTypeID    = 1100
)

func txStatusDesc(tx string) string {
	switch tx {
	case "0":
		return "Success"
	case "1":
		return "Failed"
	case "2":
		return "Response Awaited/Initiated"
	case "3":
		return "Refund Pending"
	case "4":
		return "Refunded"
	case "5":
		return "Hold"
	}
	return "Unknown"
}

func (s *InquiryServer) inquiry(w http.ResponseWriter, r *http.Request, version string) {
	seg := r.PathValue("ref")
	ref, byRef := strings.CutPrefix(seg, "client_ref_id:")
	if !byRef {
		if version == "v1" {
			// v1 knows only the client_ref_id form: this is not one of its URLs. A plain 404, not
			// Eko's envelope, so that a client cannot mistake a wrong URL for "not found".
			http.NotFound(w, r)
			return
		}
		// v3 also takes Eko's tid as is.
		if found, ok := s.findTID(seg); ok {
			ref = found
		}
	}
	q := r.URL.Query()
	c := Call{At: s.cfg.Now(), Version: version, InitiatorID: q.Get("initiator_id"), UserCode: q.Get("user_code")}
	log := s.cfg.Logger.With("version", version, "client_ref_id", ref)

	if reason := s.authenticate(r); reason != "" {
		// Eko answers 403 for a wrong developer_key, a bad secret-key or a stale timestamp. The
		// body's exact text is not documented; this one says which, as a simulator should.
		c.HTTPStatus, c.Answer = http.StatusForbidden, "forbidden"
		s.reject(ref, c)
		log.Info("inquiry refused", "reason", reason)
		writeJSON(w, http.StatusForbidden, envelope{Status: 403, ResponseStatusID: -1, Message: "Forbidden: " + reason, Data: map[string]any{}})
		return
	}
	var bad string
	switch {
	case c.InitiatorID == "":
		bad = "initiator_id is required"
	case s.cfg.InitiatorID != "" && c.InitiatorID != s.cfg.InitiatorID:
		bad = "initiator_id is not the one registered for this developer_key"
	case version == "v3" && c.UserCode == "":
		bad = "user_code is required"
	}
	if bad != "" {
		c.HTTPStatus, c.Answer = http.StatusBadRequest, "bad_request"
		s.reject(ref, c)
		log.Info("inquiry refused", "reason", bad)
		writeJSON(w, http.StatusBadRequest, envelope{Status: 1, ResponseStatusID: -1, Message: bad, Data: map[string]any{}})
		return
	}

	step, tid, bank, amount := s.next(ref, c)
	log = log.With("answer", step.String())
	if step.Delay > 0 {
		t := time.NewTimer(step.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			log.Info("inquiry caller gave up while the answer was delayed", "delay", step.Delay)
			return
		}
	}
	status := http.StatusOK
	if step.HTTPStatus != 0 {
		status = step.HTTPStatus
	}
	switch {
	case step.Garbage:
		// What a load balancer's maintenance page looks like to an API client.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1></body></html>\n")
	case step.NotFound:
		writeJSON(w, status, notFound())
	case step.EkoError != 0:
		writeJSON(w, status, envelope{Status: 1, ResponseStatusID: step.EkoError, Message: "No record", Data: []any{}})
	case status != http.StatusOK:
		writeJSON(w, status, envelope{Status: status, ResponseStatusID: -1, Message: http.StatusText(status), Data: map[string]any{}})
	default:
		data := map[string]any{
			"tx_status": step.TxStatus, "txstatus_desc": txStatusDesc(step.TxStatus), "tid": tid,
			"client_ref_id": ref, "amount": amount, "bank_ref_num": "",
		}
		if step.TxStatus == "0" {
			data["bank_ref_num"] = bank
		}
		for k, v := range step.Fields {
			data[k] = v
		}
		writeJSON(w, status, envelope{Status: 0, ResponseStatusID: 0, ResponseTypeID: inquiryTypeID,
			Message: "Transaction status: " + txStatusDesc(step.TxStatus), Data: data})
	}
	log.Info("inquiry answered", "http_status", status)
}

// notFound is Eko's answer for a reference it does not know.
func notFound() envelope {
	return envelope{Status: 1, ResponseStatusID: notFoundStatusID, Message: "No transaction found", Data: map[string]any{}}
}

// authenticate checks the headers as Eko does; it returns why they fail, or "".
func (s *InquiryServer) authenticate(r *http.Request) string {
	// Header.Get canonicalises the name, so "developer_key" as sent matches here too.
	dev := r.Header.Get("developer_key")
	if subtle.ConstantTimeCompare([]byte(dev), []byte(s.cfg.DeveloperKey)) != 1 {
		return "developer_key is missing or wrong"
	}
	ts := r.Header.Get("secret-key-timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "secret-key-timestamp is missing or not Unix milliseconds"
	}
	if skew := s.cfg.Now().Sub(time.UnixMilli(ms)); skew.Abs() > s.cfg.MaxSkew {
		return fmt.Sprintf("secret-key-timestamp is %s away from now", skew.Round(time.Second))
	}
	if !s.signer.VerifySecretKey(ts, r.Header.Get("secret-key")) {
		return "secret-key does not match secret-key-timestamp"
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxControlBody bounds a script posted to the control API.
const maxControlBody = 1 << 16

func (s *InquiryServer) controlScript(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	var steps []Step
	dec := json.NewDecoder(io.LimitReader(r.Body, maxControlBody))
	dec.UseNumber() // keep Fields' numbers exact
	if err := dec.Decode(&steps); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON list of steps: " + err.Error()})
		return
	}
	s.Script(ref, steps...)
	if amount := r.URL.Query().Get("amount"); amount != "" {
		s.SetAmount(ref, amount)
	}
	s.cfg.Logger.Info("inquiry scripted", "client_ref_id", ref, "steps", stepsString(steps))
	writeJSON(w, http.StatusOK, s.State(ref))
}

func (s *InquiryServer) controlShow(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.State(r.PathValue("ref")))
}

func (s *InquiryServer) controlForget(w http.ResponseWriter, r *http.Request) {
	s.Forget(r.PathValue("ref"))
	w.WriteHeader(http.StatusNoContent)
}

func (s *InquiryServer) controlList(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	refs := make([]string, 0, len(s.refs))
	for ref := range s.refs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	out := make([]RefState, 0, len(refs))
	for _, ref := range refs {
		rs := s.snapshot(ref)
		rs.Log = nil // the list stays short; GET one ref for its log
		out = append(out, rs)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func stepsString(steps []Step) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = st.String()
	}
	return strings.Join(parts, ",")
}

// ScriptRemote scripts ref on a running simulator through its control API; controlURL is the
// simulator's URL with the control prefix (e.g. http://127.0.0.1:8090/sim). It returns the
// resulting state.
func ScriptRemote(ctx context.Context, hc *http.Client, controlURL, ref string, steps []Step) (RefState, error) {
	return ScriptRemoteAmount(ctx, hc, controlURL, ref, "", steps)
}

// ScriptRemoteAmount is ScriptRemote that also sets the amount the answers report (SetAmount),
// unless amount is "".
func ScriptRemoteAmount(ctx context.Context, hc *http.Client, controlURL, ref, amount string, steps []Step) (RefState, error) {
	body, err := json.Marshal(steps)
	if err != nil {
		return RefState{}, fmt.Errorf("encode steps: %w", err)
	}
	query := ""
	if amount != "" {
		query = "?amount=" + url.QueryEscape(amount)
	}
	return controlCall(ctx, hc, http.MethodPost, controlURL, ref, query, body)
}

// ShowRemote returns ref's state on a running simulator (controlURL as for ScriptRemote).
func ShowRemote(ctx context.Context, hc *http.Client, controlURL, ref string) (RefState, error) {
	return controlCall(ctx, hc, http.MethodGet, controlURL, ref, "", nil)
}

func controlCall(ctx context.Context, hc *http.Client, method, controlURL, ref, query string, body []byte) (RefState, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	u := strings.TrimRight(controlURL, "/") + "/inquiry/" + url.PathEscape(ref) + query
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return RefState{}, fmt.Errorf("build %s %s: %w", method, u, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return RefState{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return RefState{}, fmt.Errorf("read reply of %s %s: %w", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return RefState{}, fmt.Errorf("%s %s: HTTP %d: %s", method, u, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var rs RefState
	if err := json.Unmarshal(raw, &rs); err != nil {
		return RefState{}, fmt.Errorf("decode reply of %s %s: %w", method, u, err)
	}
	return rs, nil
}
