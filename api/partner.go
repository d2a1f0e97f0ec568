package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/partner"
	"github.com/aepsflow/aepsflow/txstate"
)

// Partner callback headers (docs/partner-callback.md). Go's server accepts header names with underscores; a
// proxy in front must be told to pass them (nginx: underscores_in_headers on).
const (
	headerClientID     = "client_id"
	headerClientSecret = "client_secret"
)

// partnerHeaders lists the headers kept with a stored partner callback. client_secret is never
// among them.
func partnerHeaders() []string {
	return []string{headerClientID, "Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Request-Id"}
}

// partnerReply is the partner's reply shape: status "0" means "recorded, stop delivering", "1"
// means "not recorded": the partner retries (twice), so "1" is only for what a retry can fix or
// what the partner must correct.
type partnerReply struct {
	Status     string `json:"status"`
	StatusDesc string `json:"statusDesc"`
}

var partnerOK = partnerReply{Status: "0", StatusDesc: "success"}

// partnerCallback receives the partner's status callback. The reply is "0" only once the
// callback is committed; a re-delivery of the same content also gets "0" and changes nothing.
func (s *Server) partnerCallback(c *gin.Context) {
	start := time.Now()
	body, in, tooLarge, readErr := s.rawRequest(c, "partner", partnerHeaders())
	in.Action = "post-request"
	c.Set(keyAction, in.Action)
	ctx, cancel := s.dbContext(c)
	defer cancel()
	clientID, authed := s.partnerClient(c.GetHeader(headerClientID), c.GetHeader(headerClientSecret))
	log := s.Logger.With("source", "partner", "client_id", truncate(clientID, 64), "remote", in.RemoteAddr)

	reject := func(status int, outcome, detail, desc string) {
		s.reject(c, ctx, log, "partner callback rejected", in, refusal{status, outcome, detail, partnerReply{Status: "1", StatusDesc: desc}})
	}
	// Credentials first: an unauthenticated caller learns nothing about the body's problems.
	switch {
	case !authed:
		msg := "missing or invalid client_id/client_secret"
		reject(http.StatusUnauthorized, "unauthorized", msg, msg)
		return
	case readErr != nil:
		reject(http.StatusBadRequest, "invalid", "could not read body: "+readErr.Error(), "could not read the request body")
		return
	case tooLarge:
		reject(http.StatusRequestEntityTooLarge, "too_large", "request body is larger than the configured limit",
			"request body is too large")
		return
	case !isJSON(c.GetHeader("Content-Type")):
		reject(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type is not application/json",
			"Content-Type must be application/json")
		return
	}
	cb, errs, err := partner.Parse(body, partner.IST())
	if err != nil {
		reject(http.StatusBadRequest, "invalid", err.Error(), "invalid request: "+err.Error())
		return
	}
	if !hasField(errs, partner.FieldClientRefID) {
		in.Reference = cb.ClientRefID
	}
	if len(errs) > 0 {
		desc := partner.Describe(errs)
		reject(http.StatusBadRequest, "invalid", desc, desc)
		return
	}

	in.HTTPStatus = http.StatusOK
	provider := txstate.PartnerPrefix + clientID
	outcome := cb.Outcome()
	status := strings.TrimSpace(cb.Status)
	amount := decimal.NullDecimal{}
	if cb.Amount != nil {
		amount = decimal.NullDecimal{Decimal: *cb.Amount, Valid: true}
	}
	res, err := s.Store.RecordPartnerCallback(ctx, s.Intents, db.PartnerCallback{
		Inbound: in, PartnerID: clientID, Provider: provider,
		TxnID: cb.TxnID, ContentHash: cb.ContentHash(), DetailsHash: cb.DetailsHash(), ClientRefID: cb.ClientRefID,
		Status: cb.Status, StatusDesc: cb.StatusDesc, Outcome: string(outcome),
		TxnType: cb.TxnType, TxType: cb.TxType(), TxnTypeKnown: cb.TxnTypeKnown, ProductCode: cb.ProductCode,
		Amount: amount, AmountText: cb.TxnAmount,
		CreatedDate: cb.Created, UpdatedDate: cb.Updated, TxnDateTime: cb.TxnTime,
		BusinessDay:            cb.TxnTime.In(partner.IST()).Format(time.DateOnly),
		CustomerIdentification: cb.CustomerIdentification,
		RRN:                    cb.RRN, Username: cb.Username, ParamB: cb.ParamB, ParamC: cb.ParamC, Flags: cb.Flags,
	})
	log = log.With("txn_id", cb.TxnID, "client_ref_id", cb.ClientRefID, "txn_type", cb.TxnType, "status", status,
		"partner_outcome", outcome)
	if err != nil {
		// "1" makes the partner retry, which is what a database outage needs.
		s.reject(c, ctx, log, "partner callback could not be recorded", in, refusal{http.StatusServiceUnavailable, "error", err.Error(),
			partnerReply{Status: "1", StatusDesc: unavailable}})
		return
	}
	log.Info("partner callback recorded", "outcome", res.Outcome, "created", res.Created, "flagged", res.Flagged,
		"flag_reason", res.FlagReason, "flags", cb.Flags, "latency", time.Since(start))
	mark(c, res.Outcome)
	c.JSON(http.StatusOK, partnerOK)
}

// partnerClient checks the credentials against every configured partner in constant time (over
// digests, so lengths leak nothing, and over all partners, so timing does not reveal which
// client_ids exist). It returns the client_id as sent.
func (s *Server) partnerClient(id, secret string) (string, bool) {
	if id == "" || secret == "" {
		return id, false
	}
	gotID, gotSecret := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	match := 0
	for wantID, wantSecret := range s.Config.PartnerClients {
		i, sec := sha256.Sum256([]byte(wantID)), sha256.Sum256([]byte(wantSecret))
		match |= subtle.ConstantTimeCompare(gotID[:], i[:]) & subtle.ConstantTimeCompare(gotSecret[:], sec[:])
	}
	return id, match == 1
}

// isJSON accepts application/json in any letter case, with any parameters (charset=utf-8).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	return mt == "application/json"
}

func hasField(errs []partner.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}
