package api

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/txstate"
)

// transactionView is the read API's answer: PostgreSQL's record plus, when Temporal answers, the
// workflow's own view.
type transactionView struct {
	db.Transaction
	Agent            string                     `json:"agent_user_code,omitempty"`
	Customer         string                     `json:"customer,omitempty"` // masked mobile
	BankCode         string                     `json:"bank_code,omitempty"`
	AmountText       string                     `json:"amount_text,omitempty"`
	FinalAt          *time.Time                 `json:"final_at,omitempty"`
	EkoResponses     []db.StoredResponse        `json:"eko_responses"`
	PartnerCallbacks []db.StoredPartnerCallback `json:"partner_callbacks,omitempty"`
	Events           []db.StoredEvent           `json:"events"`
	Workflow         any                        `json:"workflow"`
}

// pathParam returns the path parameter name unescaped (the router keeps it escaped), or answers
// 400 and false.
func pathParam(c *gin.Context, name string) (string, bool) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "bad escape in " + name})
		return "", false
	}
	return v, true
}

func (s *Server) findOne(c *gin.Context) (db.Transaction, bool) {
	ref, ok := pathParam(c, "ref")
	if !ok {
		return db.Transaction{}, false
	}
	txs, err := s.Store.FindTransactions(c.Request.Context(), ref, c.Query("provider"))
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read transactions"})
		s.Logger.Error("read transaction", "ref", ref, "err", err)
		return db.Transaction{}, false
	}
	switch len(txs) {
	case 0:
		c.JSON(http.StatusNotFound, gin.H{"error": "no transaction with client_ref_id " + ref})
		return db.Transaction{}, false
	case 1:
		return txs[0], true
	}
	// The same reference under two providers, or our key equal to another's Eko reference.
	if txs[0].ClientRefID == ref && txs[1].ClientRefID != ref {
		return txs[0], true
	}
	providers := make([]string, len(txs))
	for i, t := range txs {
		providers[i] = t.Provider
	}
	c.JSON(http.StatusConflict, gin.H{"error": "several transactions match; add ?provider=", "providers": providers})
	return db.Transaction{}, false
}

func (s *Server) getTransaction(c *gin.Context) {
	t, ok := s.findOne(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	v := transactionView{Transaction: t, Agent: t.AgentUserCode.String, BankCode: t.BankCode.String, AmountText: t.AmountText.String}
	if t.Customer.Valid {
		v.Customer = redact.Mobile(t.Customer.String)
	}
	if t.FinalAt.Valid {
		v.FinalAt = &t.FinalAt.Time
	}
	var err error
	if v.Events, err = s.Store.Events(ctx, t.ID); err == nil {
		v.EkoResponses, err = s.Store.EkoResponses(ctx, t.ID)
	}
	if err == nil && strings.HasPrefix(t.Provider, txstate.PartnerPrefix) {
		v.PartnerCallbacks, err = s.Store.PartnerCallbacks(ctx, t.ID)
	}
	if err != nil {
		s.Logger.Error("read transaction history", "ref", t.ClientRefID, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read transaction history"})
		return
	}
	v.Workflow = s.Intents.WorkflowState(ctx, t.WorkflowID)
	c.JSON(http.StatusOK, v)
}

type resolveRequest struct {
	State  txstate.State `json:"state"`
	Reason string        `json:"reason"`
	// By is who resolves: taken from the token. Kept for older clients; when sent it must name the
	// token's operator, so that the record can never say someone else did it.
	By string `json:"by"`
}

func (s *Server) resolveTransaction(c *gin.Context) {
	var req resolveRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be {\"state\":\"success|failed\",\"reason\":\"...\"}"})
		return
	}
	req.Reason, req.By = strings.TrimSpace(req.Reason), strings.TrimSpace(req.By)
	if (req.State != txstate.Success && req.State != txstate.Failed) || req.Reason == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "state must be success or failed, and reason is required"})
		return
	}
	by := operator(c)
	if req.By != "" && req.By != by {
		c.JSON(http.StatusBadRequest, gin.H{"error": "by is taken from your token (operator " + by + "); omit it"})
		return
	}
	req.By = by
	t, ok := s.findOne(c)
	if !ok {
		return
	}
	err := s.Store.QueueResolution(c.Request.Context(), s.Intents, t.WorkflowID,
		db.Resolution{State: req.State, Reason: req.Reason, By: req.By})
	switch {
	case errors.Is(err, db.ErrConflict):
		c.JSON(http.StatusConflict, gin.H{"error": err.Error()})
	case err != nil:
		s.Logger.Error("queue resolution", "workflow_id", t.WorkflowID, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not record the resolution"})
	default:
		s.Logger.Info("resolution queued", "workflow_id", t.WorkflowID, "to", req.State, "by", req.By)
		c.JSON(http.StatusAccepted, gin.H{"status": "accepted", "workflow_id": t.WorkflowID, "state": req.State})
	}
}

// agentView shows an agent with its limits, "default" where none is set.
type agentView struct {
	db.Agent
	DailyCashCountLimit  any `json:"daily_cash_count_limit"`
	DailyCashAmountLimit any `json:"daily_cash_amount_limit"`
}

func (s *Server) viewAgent(a db.Agent) agentView {
	v := agentView{Agent: a, DailyCashCountLimit: s.Config.DailyCashCountLimit, DailyCashAmountLimit: s.Config.DailyCashAmountLimit.StringFixed(2)}
	if a.DailyCashCountLimit.Valid {
		v.DailyCashCountLimit = a.DailyCashCountLimit.Int64
	}
	if a.DailyCashAmountLimit.Valid {
		v.DailyCashAmountLimit = a.DailyCashAmountLimit.Decimal.StringFixed(2)
	}
	return v
}

func (s *Server) getAgent(c *gin.Context) {
	code, ok := pathParam(c, "user_code")
	if !ok {
		return
	}
	a, err := s.Store.GetAgent(c.Request.Context(), code)
	switch {
	case errors.Is(err, db.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "no agent " + code})
	case err != nil:
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read agent"})
	default:
		c.JSON(http.StatusOK, s.viewAgent(a))
	}
}

type agentRequest struct {
	Name                 *string `json:"name"`
	Status               *string `json:"status"`
	DailyCashCountLimit  *int    `json:"daily_cash_count_limit"`
	DailyCashAmountLimit *string `json:"daily_cash_amount_limit"` // a decimal string: never a float
	ClearLimits          bool    `json:"clear_limits"`
}

// putAgent registers an agent or changes it (suspend, activate, limits).
func (s *Server) putAgent(c *gin.Context) {
	var req agentRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "invalid body: " + err.Error()})
		return
	}
	code, ok := pathParam(c, "user_code")
	if !ok {
		return
	}
	u, err := AgentUpdate(code, req.Name, req.Status, req.DailyCashCountLimit, req.DailyCashAmountLimit, req.ClearLimits)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	a, err := s.Store.UpsertAgentAudited(c.Request.Context(), u, operator(c))
	if err != nil {
		s.Logger.Error("save agent", "user_code", u.UserCode, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not save agent"})
		return
	}
	s.Logger.Info("agent saved", "user_code", a.UserCode, "status", a.Status, "operator", operator(c))
	c.JSON(http.StatusOK, s.viewAgent(a))
}

var userCodeRE = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// AgentUpdate validates an agent change; the CLI uses it too.
func AgentUpdate(userCode string, name, status *string, count *int, amount *string, clear bool) (db.AgentUpdate, error) {
	u := db.AgentUpdate{UserCode: userCode, Name: name, Status: status, CountLimit: count, ClearLimits: clear}
	// The same rule as the agents table's CHECK: caught here it is a 400, not a failed insert.
	if !userCodeRE.MatchString(userCode) {
		return u, errors.New("user_code must be 1 to 32 letters, digits, '_' or '-'")
	}
	if status != nil && *status != "active" && *status != "suspended" {
		return u, errors.New("status must be active or suspended")
	}
	if count != nil && *count < 0 {
		return u, errors.New("daily_cash_count_limit must not be negative")
	}
	if amount != nil {
		d, err := decimal.NewFromString(*amount)
		if err != nil || d.IsNegative() {
			return u, errors.New("daily_cash_amount_limit must be a non-negative decimal string")
		}
		u.AmountLimit = &d
	}
	return u, nil
}

// getAudit lists admin actions, newest first: ?operator=, ?action=, ?target=, ?limit= (at most
// 1000), ?before_id= (the smallest id of the previous page).
func (s *Server) getAudit(c *gin.Context) {
	q := db.AuditQuery{Operator: c.Query("operator"), Action: c.Query("action"), Target: c.Query("target")}
	for name, dst := range map[string]*int64{"limit": nil, "before_id": &q.BeforeID} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			c.JSON(http.StatusBadRequest, gin.H{"error": name + " must be a non-negative integer"})
			return
		}
		if dst != nil {
			*dst = n
		} else {
			q.Limit = int(min(n, 1000))
		}
	}
	events, err := s.Store.AuditLog(c.Request.Context(), q)
	if err != nil {
		s.Logger.Error("read audit log", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read the audit log"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": events})
}
