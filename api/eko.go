package api

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/callback"
	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/txstate"
)

// ekoHeaders lists the headers worth keeping with a stored Eko callback (never anything secret),
// plus the integrator's custom ones.
func ekoHeaders(custom []string) []string {
	return append([]string{"Origin", "Referer", "User-Agent", "Content-Type", "Content-Length", "X-Forwarded-For", "X-Request-Id"}, custom...)
}

// allowReply and refuseReply are the debit-hook reply shapes (docs/eko-aeps.md#debit-hook).
type allowReply struct {
	Action             string `json:"action"`
	Allow              bool   `json:"allow"`
	SecretKey          string `json:"secret_key"`
	SecretKeyTimestamp string `json:"secret_key_timestamp"`
	RequestHash        string `json:"request_hash"`
	ClientRefID        string `json:"client_ref_id,omitempty"`
}

type refuseReply struct {
	Action  string `json:"action"`
	Allow   bool   `json:"allow"`
	Message string `json:"message"`
}

func refuse(message string) refuseReply {
	return refuseReply{Action: "go", Allow: false, Message: message}
}

// responseReply answers an eko-response. Eko documents no reply; this one is for logs and curl.
type responseReply struct {
	Status  string `json:"status"` // ok | error
	Outcome string `json:"outcome,omitempty"`
	Message string `json:"message,omitempty"`
}

const unavailable = "Service temporarily unavailable. Please try again in a minute."

// recorded is the reply to every eko-response that was stored, whatever it meant.
var recorded = responseReply{Status: "ok", Outcome: "recorded"}

// agentMessage is what a refused debit-hook tells the agent: what to do, never which internal
// state caused it (reported, processed, in review), whether an agent code is registered or
// suspended, or another agent's limits and usage, since anyone can send a debit-hook for any
// reference or agent code. The code and the store's detailed message stay in the log and the
// stored request.
func agentMessage(code string) string {
	switch code {
	case "reference_conflict", "already_processed", "already_reported":
		return "This transaction reference cannot be used again. Please start a new transaction."
	case "unknown_agent", "agent_suspended":
		return "This agent account cannot make AePS transactions now. Please contact support."
	case "no_gateway_session":
		// REQUIRE_GATEWAY_SESSION: the agent can act on it, and a forger learns nothing useful.
		return "Please open the AePS gateway again from your portal, then start the transaction."
	case "daily_count_limit", "daily_amount_limit":
		return "This withdrawal is over the agent's daily limit. Please try a smaller amount or try again tomorrow."
	}
	return "This transaction cannot be confirmed. Please start a new transaction or contact support."
}

func (s *Server) ekoCallback(c *gin.Context) {
	start := time.Now()
	body, in, tooLarge, readErr := s.rawRequest(c, "eko", ekoHeaders(s.Config.EkoAllowedHeaders))
	ctx, cancel := s.dbContext(c)
	defer cancel()

	reject := func(status int, outcome, message string, reply any) {
		s.reject(c, ctx, s.Logger.With("remote", in.RemoteAddr), "eko callback rejected", in, refusal{status, outcome, message, reply})
	}
	if readErr != nil {
		reject(http.StatusBadRequest, "invalid", "could not read body: "+readErr.Error(), refuse("Could not read the request."))
		return
	}
	if tooLarge {
		msg := "request body is larger than the configured limit"
		reject(http.StatusRequestEntityTooLarge, "too_large", msg, refuse("Request too large."))
		return
	}
	if origin, refused := c.Get(ctxOriginRefused); refused {
		msg := "origin " + origin.(string) + " is not an allowed Eko gateway origin"
		reject(http.StatusForbidden, "origin_refused", msg, refuse("This transaction cannot be confirmed from this page."))
		return
	}
	env, err := callback.ParseEnvelope(body)
	if err != nil {
		reject(http.StatusBadRequest, "invalid", err.Error(), refuse("Invalid request: "+err.Error()))
		return
	}
	in.Action = truncate(env.Action, 64) // any string may arrive here; the body keeps it whole
	switch env.Action {
	case callback.ActionDebitHook:
		c.Set(keyAction, env.Action) // known actions only: metric labels must stay few
		s.debitHook(c, in, env, start)
	case callback.ActionEkoResponse:
		c.Set(keyAction, env.Action)
		s.ekoResponse(c, in, env, start)
	default:
		reject(http.StatusBadRequest, "invalid", "unknown action "+truncate(env.Action, 40),
			refuse("Invalid request: action must be debit-hook or eko-response"))
	}
}

func (s *Server) debitHook(c *gin.Context, in db.Inbound, env callback.Envelope, start time.Time) {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	cfg := s.Config
	h, err := callback.ParseDebitHook(env.Detail, callback.Rules{MinAmount: cfg.CashMinAmount, MaxAmount: cfg.CashMaxAmount, Multiple: cfg.CashAmountMultiple})
	if err != nil {
		// Recorded under its reference when that was readable, so that the refusal is found with
		// the transaction's other requests.
		in.Reference = h.ClientRefID
		s.reject(c, ctx, s.Logger, "debit-hook invalid", in, refusal{http.StatusBadRequest, "invalid", err.Error(),
			refuse("Invalid transaction details: " + err.Error() + ". Please start a new transaction; if this happens again, contact support.")})
		return
	}
	in.Reference = h.ClientRefID
	in.HTTPStatus = http.StatusOK
	now := s.Now()
	// What is booked, and nothing else, is what the reply signs (db.Decision.Booked).
	b := h.Booking()
	amount := decimal.NullDecimal{Decimal: h.Amount, Valid: b.Type == callback.TypeCashWithdrawal}
	req := db.DebitHook{
		Inbound: in, Provider: txstate.ProviderEko, ProviderRef: h.ClientRefID,
		TxType: b.Type, CashWithdrawal: b.Type == callback.TypeCashWithdrawal,
		AgentUserCode: b.UserCode, CustomerMobile: b.CustomerID, BankCode: b.BankCode,
		Amount: amount, AmountText: b.Amount, DetailsHash: h.DetailsHash(),
		// One fresh timestamp signs both secret_key and request_hash of a first allow; a repeat
		// is signed with the first allow's, stored with the transaction.
		Timestamp:              sign.Timestamp(now),
		BusinessDay:            now.In(cfg.LimitLocation),
		DefaultLimits:          db.Limits{Count: cfg.DailyCashCountLimit, Amount: cfg.DailyCashAmountLimit},
		AllowRepeatAfterResult: cfg.AllowRepeatAfterResult,
		RequireLaunchWithin:    requireLaunchWithin(cfg.Gateway),
	}
	if cfg.ClientRefIDSource == "own" {
		req.NewClientRefID = s.NewClientRefID
	}
	d, err := s.Store.DecideDebitHook(ctx, s.Intents, req)
	log := s.Logger.With("action", "debit-hook", "client_ref_id", h.ClientRefID, "type", b.Type,
		"agent", b.UserCode, "customer", redact.Mobile(b.CustomerID), "amount", b.Amount)
	if err != nil {
		s.reject(c, ctx, log, "debit-hook could not be decided", in, refusal{http.StatusServiceUnavailable, "error", err.Error(), refuse(unavailable)})
		return
	}
	log = log.With("decision", d.Code, "latency", time.Since(start))
	if !d.Allow {
		log.Info("debit-hook refused", "message", d.Message)
		mark(c, d.Code)
		c.JSON(http.StatusOK, refuse(agentMessage(d.Code)))
		return
	}
	// Signed over the booked transaction as the database holds it, never over
	// request_hash_params as sent: nothing but what was checked and booked can be signed.
	booked := callback.Booking{Type: d.Booked.TxType, CustomerID: d.Booked.CustomerMobile, Amount: d.Booked.AmountText, UserCode: d.Booked.AgentUserCode}
	params, data, err := booked.HashParams()
	if ts := d.Booked.Timestamp; err != nil || ts == "" {
		// Cannot happen for a row this code wrote; refusing is safe (no money has moved).
		log.Error("debit-hook allowed but its booking cannot be signed", "err", err, "timestamp", ts)
		mark(c, "error")
		c.JSON(http.StatusInternalServerError, refuse(unavailable))
		return
	}
	ts := d.Booked.Timestamp
	reply := allowReply{
		Action: "go", Allow: true, SecretKeyTimestamp: ts,
		SecretKey:   s.Signer.SecretKey(ts),
		RequestHash: s.Signer.RequestHash(ts, params, data),
	}
	if cfg.ClientRefIDSource == "own" {
		reply.ClientRefID = d.ClientRefID
	}
	log.Info("debit-hook allowed", slog.String("our_client_ref_id", d.ClientRefID))
	mark(c, d.Code)
	c.JSON(http.StatusOK, reply)
}

func (s *Server) ekoResponse(c *gin.Context, in db.Inbound, env callback.Envelope, start time.Time) {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	r, err := callback.ParseEkoResponse(env.Detail)
	if err != nil {
		var verr *callback.ValidationError
		status := http.StatusBadRequest
		if !errors.As(err, &verr) {
			status = http.StatusInternalServerError
		}
		in.Reference = r.ClientRefID
		s.reject(c, ctx, s.Logger, "eko-response invalid", in, refusal{status, "invalid", err.Error(),
			responseReply{Status: "error", Outcome: "invalid", Message: err.Error()}})
		return
	}
	in.Reference = r.ClientRefID
	in.HTTPStatus = http.StatusOK
	amounts := map[string]decimal.NullDecimal{}
	for _, f := range []string{"amount", "commission", "tds", "fee", "balance", "customer_balance"} {
		// An "amount" that is an Aadhaar number is not kept as a number (NUMERIC cannot be
		// masked); the response document keeps it masked.
		if d, ok := callback.Decimal(r.Data[f]); ok && redact.Text(r.Data[f]) == r.Data[f] {
			amounts[f] = decimal.NullDecimal{Decimal: d, Valid: true}
		}
	}
	aadhaar := r.Data["aadhaar"]
	if aadhaar == "" {
		aadhaar = r.Data["aadhar"]
	}
	// Anything but a masked number is masked: "UID 2341...", a 16-digit VID, a partial mask.
	if aadhaar != "" && !redact.IsMaskedAadhaar(aadhaar) {
		aadhaar = redact.MaskAadhaar(aadhaar)
	}
	res, err := s.Store.RecordEkoResponse(ctx, s.Intents, db.EkoResponse{
		Inbound: in, ClientRefID: r.ClientRefID, ContentHash: r.ContentHash, TxStatus: r.TxStatus, Status: r.Status,
		Message: r.Message, TID: r.Data["tid"], BankRefNum: r.Data["bank_ref_num"], UserCode: r.Data["user_code"],
		Aadhaar: aadhaar, Amounts: amounts, Response: r.Response, // masked by the store, as every jsonb value
		MaxReports: s.Config.EkoMaxReports,
	})
	log := s.Logger.With("action", "eko-response", "client_ref_id", r.ClientRefID, "tx_status", r.TxStatus)
	if err != nil {
		s.reject(c, ctx, log, "eko-response could not be recorded", in, refusal{http.StatusServiceUnavailable, "error", err.Error(),
			responseReply{Status: "error", Message: unavailable}})
		return
	}
	log.Info("eko-response recorded", "outcome", res.Outcome, "flagged", res.Flagged, "flag_reason", res.FlagReason,
		"signalled", res.Signalled, "over_cap", res.OverCap, "latency", time.Since(start))
	mark(c, res.Outcome)
	// One neutral reply for everything stored: whoever sends an eko-response (any browser) must
	// not learn whether the reference exists, is final or was reported before. The detail is in
	// the log line above and in the stored rows.
	c.JSON(http.StatusOK, recorded)
}
