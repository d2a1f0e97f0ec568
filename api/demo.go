package api

import (
	_ "embed"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/launchtoken"
	"github.com/aepsflow/aepsflow/txstate"
)

// The development agent launch page (DEMO_AGENT_PAGE=true, APP_ENV=development only): it plays
// the platform's front end. With an agent's launch token (in the URL fragment, so it reaches no
// server log) it asks POST /v1/gateway/session for the gateway config, opens Eko's gateway with
// aeps-gateway-lib, and follows the transaction's state.

//go:embed demo/agent.html
var agentPageHTML []byte

func (s *Server) demoRoutes(r *gin.Engine) {
	r.GET("/demo/agent", func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, "text/html; charset=utf-8", agentPageHTML)
	})
	r.GET("/demo/agent/aeps-gateway-lib.js", s.demoLibrary)
	r.GET("/demo/agent/transactions/:ref", s.demoTransaction)
}

// demoLibrary serves aeps-gateway-lib as npm installed it (web/package.json pins it; make dev and
// make test run npm ci): the page never loads it from a CDN.
func (s *Server) demoLibrary(c *gin.Context) {
	b, err := os.ReadFile(s.Config.Gateway.DemoLibPath)
	if err != nil {
		s.Logger.Error("demo agent page: aeps-gateway-lib is not installed", "path", s.Config.Gateway.DemoLibPath, "err", err)
		c.Data(http.StatusServiceUnavailable, "text/javascript; charset=utf-8",
			[]byte(`console.error("aeps-gateway-lib is not installed: run make dev (or npm ci --prefix web), or set DEMO_AGENT_PAGE_LIB");`))
		return
	}
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", b)
}

// demoTransaction shows the agent page its own transaction's state: a launch token reads only
// its agent's transactions.
func (s *Server) demoTransaction(c *gin.Context) {
	token, _ := bearer(c)
	user, _, err := launchtoken.Verify([]byte(s.Config.Gateway.LaunchKey), token, s.Now())
	if err != nil {
		c.JSON(http.StatusUnauthorized, gin.H{"error": "a valid launch token is required"})
		return
	}
	ref, ok := pathParam(c, "ref")
	if !ok {
		return
	}
	txs, err := s.Store.FindTransactions(c.Request.Context(), ref, txstate.ProviderEko)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read the transaction"})
		return
	}
	var t *db.Transaction
	for i := range txs {
		if txs[i].AgentUserCode.String == user {
			t = &txs[i]
		}
	}
	if t == nil {
		c.JSON(http.StatusNotFound, gin.H{"error": "no transaction " + ref + " of agent " + user})
		return
	}
	events, err := s.Store.Events(c.Request.Context(), t.ID)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read the transaction's history"})
		return
	}
	var states []gin.H
	for _, e := range events {
		if e.To != "" {
			states = append(states, gin.H{"at": e.At, "state": e.To, "kind": e.Kind})
		}
	}
	c.JSON(http.StatusOK, gin.H{"client_ref_id": t.ClientRefID, "type": t.TxType, "amount": t.Amount,
		"state": t.State, "state_reason": t.StateReason, "final": t.FinalAt.Valid, "states": states,
		"agent": user})
}
