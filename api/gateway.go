package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/launchtoken"
)

// Gateway launch: POST /v1/gateway/session hands the platform's front end everything
// aeps-gateway-lib's config() and the Android bundle need, with a freshly signed secret_key. The
// access key that signs it never leaves aepsflow.

// gatewayConfig is aeps.config()'s argument, field for field.
type gatewayConfig struct {
	PartnerName        string `json:"partner_name"`
	InitiatorLogoURL   string `json:"initiator_logo_url"`
	InitiatorID        string `json:"initiator_id"`
	DeveloperKey       string `json:"developer_key"`
	SecretKey          string `json:"secret_key"`
	SecretKeyTimestamp string `json:"secret_key_timestamp"`
	UserCode           string `json:"user_code"`
	Environment        string `json:"environment"`
}

// gatewayCallback is aeps.setCallbackURL(url, {parameters, headers}).
type gatewayCallback struct {
	URL        string            `json:"url"`
	Parameters map[string]string `json:"parameters"`
	Headers    map[string]string `json:"headers"`
}

type sessionReply struct {
	Config   gatewayConfig   `json:"config"`
	Callback gatewayCallback `json:"callback"`
	// AndroidBundle is the same, flat, as the Android SDK's bundle takes it (and as the web
	// library posts it): custom parameters and headers as JSON strings.
	AndroidBundle map[string]string `json:"android_bundle"`
	LaunchID      int64             `json:"launch_id"`
}

type gatewayError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

const (
	authGatewayToken = "gateway_token"
	authLaunchToken  = "launch_token"
	maxGatewayBody   = 4 << 10
)

// gatewayRoutes registers the gateway launch endpoints (and the development agent page).
func (s *Server) gatewayRoutes(r *gin.Engine) {
	session := []gin.HandlerFunc{}
	if len(s.Config.Gateway.AllowedOrigins) > 0 {
		// The agent's browser may call the endpoint from the platform's own pages.
		session = append(session, cors.New(cors.Config{
			AllowOrigins: s.Config.Gateway.AllowedOrigins, AllowMethods: []string{http.MethodPost},
			AllowHeaders: []string{"Authorization", "Content-Type"}, MaxAge: 10 * time.Minute,
		}))
		r.OPTIONS("/v1/gateway/session", session...)
	}
	r.POST("/v1/gateway/session", append(session, s.gatewaySession)...)
	r.POST("/v1/gateway/launch-tokens", s.mintLaunchToken)
	if s.Config.Gateway.DemoAgentPage {
		s.demoRoutes(r)
	}
}

// tokenEqual compares in constant time (over digests, so length leaks nothing); an unset want
// never matches.
func tokenEqual(want, got string) bool {
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return want != "" && subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

func bearer(c *gin.Context) (string, bool) {
	return strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
}

func gatewayRefuse(c *gin.Context, status int, code, msg string) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, gatewayError{Error: msg, Code: code})
}

// launchAuth authenticates a session request: GATEWAY_TOKEN (the platform's backend), or a launch
// token (an agent's browser), which binds the request to one user_code.
func (s *Server) launchAuth(c *gin.Context) (auth, boundUser string, ok bool) {
	token, has := bearer(c)
	if !has || token == "" {
		gatewayRefuse(c, http.StatusUnauthorized, "unauthenticated", "missing bearer token: send GATEWAY_TOKEN or an agent launch token")
		return "", "", false
	}
	if strings.HasPrefix(token, launchtoken.Prefix) {
		user, _, err := launchtoken.Verify([]byte(s.Config.Gateway.LaunchKey), token, s.Now())
		if err != nil {
			msg := "invalid launch token"
			if errors.Is(err, launchtoken.ErrExpired) {
				msg = "launch token has expired: ask the platform for a new one"
			}
			gatewayRefuse(c, http.StatusUnauthorized, "unauthenticated", msg)
			return "", "", false
		}
		return authLaunchToken, user, true
	}
	if tokenEqual(s.Config.Gateway.Token, token) {
		return authGatewayToken, "", true
	}
	gatewayRefuse(c, http.StatusUnauthorized, "unauthenticated", "invalid token: send GATEWAY_TOKEN or an agent launch token")
	return "", "", false
}

// readGatewayBody decodes a small JSON body into v; an empty body leaves v as it is.
func readGatewayBody(c *gin.Context, v any) bool {
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, maxGatewayBody+1))
	if err != nil || len(b) > maxGatewayBody {
		gatewayRefuse(c, http.StatusBadRequest, "invalid", "could not read the request body (at most 4 KiB of JSON)")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		gatewayRefuse(c, http.StatusBadRequest, "invalid", "the body must be a JSON object like {\"user_code\": \"20810200\"}")
		return false
	}
	return true
}

func (s *Server) gatewaySession(c *gin.Context) {
	auth, bound, ok := s.launchAuth(c)
	if !ok {
		return
	}
	var req struct {
		UserCode string `json:"user_code"`
	}
	if !readGatewayBody(c, &req) {
		return
	}
	if req.UserCode == "" {
		req.UserCode = bound // a launch token already names its agent
	}
	switch {
	case !launchtoken.ValidUserCode(req.UserCode):
		gatewayRefuse(c, http.StatusBadRequest, "invalid", "user_code is required: the agent's Eko user code (letters, digits, '-' or '_', at most 32)")
		return
	case bound != "" && req.UserCode != bound:
		gatewayRefuse(c, http.StatusForbidden, "wrong_agent", "this launch token is for agent "+bound+", not "+req.UserCode)
		return
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	launch := db.Launch{UserCode: req.UserCode, Auth: auth, RemoteAddr: c.Request.RemoteAddr,
		UserAgent: truncate(c.GetHeader("User-Agent"), 256)}
	log := s.Logger.With("action", "gateway-session", "agent", req.UserCode, "auth", auth)

	agent, err := s.Store.GetAgent(ctx, req.UserCode)
	var status int
	var msg string
	switch {
	case errors.Is(err, db.ErrNotFound):
		launch.Outcome, status = "unknown_agent", http.StatusNotFound
		msg = "agent " + req.UserCode + " is not registered for AePS: register it first (aepsflow agent register)"
	case err != nil:
		log.Error("gateway session: look up agent", "err", err)
		gatewayRefuse(c, http.StatusServiceUnavailable, "unavailable", unavailable)
		return
	case agent.Status != "active":
		launch.Outcome, status = "agent_suspended", http.StatusForbidden
		msg = "agent " + req.UserCode + " is suspended: the gateway cannot be opened for it"
	default:
		launch.Outcome = "issued"
	}
	if launch.Outcome != "issued" {
		if _, err := s.Store.RecordLaunch(ctx, launch); err != nil {
			log.Error("gateway session: record refusal", "err", err)
		}
		log.Info("gateway session refused", "outcome", launch.Outcome)
		gatewayRefuse(c, status, launch.Outcome, msg)
		return
	}

	cfg := s.Config
	ts := sign.Timestamp(s.Now())
	launch.SecretKeyTimestamp = ts
	// Recorded before it is handed out: REQUIRE_GATEWAY_SESSION trusts this table.
	if launch, err = s.Store.RecordLaunch(ctx, launch); err != nil {
		log.Error("gateway session: record launch", "err", err)
		gatewayRefuse(c, http.StatusServiceUnavailable, "unavailable", unavailable)
		return
	}
	g := cfg.Gateway
	reply := sessionReply{
		Config: gatewayConfig{
			PartnerName: g.PartnerName, InitiatorLogoURL: g.LogoURL, InitiatorID: cfg.EkoInitiatorID,
			DeveloperKey: cfg.EkoDeveloperKey, SecretKey: s.Signer.SecretKey(ts), SecretKeyTimestamp: ts,
			UserCode: req.UserCode, Environment: g.Environment,
		},
		Callback: gatewayCallback{URL: g.CallbackURL, Parameters: nonNil(g.CallbackParams), Headers: nonNil(g.CallbackHeaders)},
		LaunchID: launch.ID,
	}
	reply.AndroidBundle = androidBundle(reply)
	log.Info("gateway session issued", "launch_id", launch.ID, "environment", g.Environment)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, reply)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// androidBundle flattens a session as the library's form and the Android bundle carry it.
func androidBundle(r sessionReply) map[string]string {
	params, _ := json.Marshal(r.Callback.Parameters)
	headers, _ := json.Marshal(r.Callback.Headers)
	c := r.Config
	return map[string]string{
		"partner_name": c.PartnerName, "initiator_logo_url": c.InitiatorLogoURL, "initiator_id": c.InitiatorID,
		"developer_key": c.DeveloperKey, "secret_key": c.SecretKey, "secret_key_timestamp": c.SecretKeyTimestamp,
		"user_code": c.UserCode, "environment": c.Environment, "callback_url": r.Callback.URL,
		"callback_url_custom_params": string(params), "callback_url_custom_headers": string(headers),
	}
}

// mintLaunchToken is the admin API's way to mint a launch token (an operator's token, or GATEWAY_TOKEN:
// the platform's backend mints one for the agent's browser).
func (s *Server) mintLaunchToken(c *gin.Context) {
	token, _ := bearer(c)
	if !s.isAdmin(c) && !tokenEqual(s.Config.Gateway.Token, token) {
		gatewayRefuse(c, http.StatusUnauthorized, "unauthenticated", "missing or invalid token: send ADMIN_TOKEN or GATEWAY_TOKEN")
		return
	}
	g := s.Config.Gateway
	if g.LaunchKey == "" {
		gatewayRefuse(c, http.StatusServiceUnavailable, "not_configured", "launch tokens are off: set GATEWAY_LAUNCH_KEY")
		return
	}
	var req struct {
		UserCode string `json:"user_code"`
		TTL      string `json:"ttl"`
	}
	if !readGatewayBody(c, &req) {
		return
	}
	ttl := g.LaunchTokenTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 || d > g.LaunchTokenMax {
			gatewayRefuse(c, http.StatusBadRequest, "invalid", "ttl must be a duration like 10m, at most "+g.LaunchTokenMax.String())
			return
		}
		ttl = d
	}
	if !launchtoken.ValidUserCode(req.UserCode) {
		gatewayRefuse(c, http.StatusBadRequest, "invalid", "user_code is required")
		return
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	agent, err := s.Store.GetAgent(ctx, req.UserCode)
	switch {
	case errors.Is(err, db.ErrNotFound):
		gatewayRefuse(c, http.StatusNotFound, "unknown_agent", "agent "+req.UserCode+" is not registered for AePS")
		return
	case err != nil:
		s.Logger.Error("launch token: look up agent", "agent", req.UserCode, "err", err)
		gatewayRefuse(c, http.StatusServiceUnavailable, "unavailable", unavailable)
		return
	case agent.Status != "active":
		gatewayRefuse(c, http.StatusForbidden, "agent_suspended", "agent "+req.UserCode+" is suspended")
		return
	}
	exp := s.Now().Add(ttl).Truncate(time.Second)
	tok, err := launchtoken.Mint([]byte(g.LaunchKey), req.UserCode, exp)
	if err != nil {
		gatewayRefuse(c, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	s.Logger.Info("launch token minted", "agent", req.UserCode, "expires_at", exp)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"token": tok, "user_code": req.UserCode, "expires_at": exp.UTC()})
}

// requireLaunchWithin is the debit-hook's REQUIRE_GATEWAY_SESSION window (0: off).
func requireLaunchWithin(g config.Gateway) time.Duration {
	if !g.RequireSession {
		return 0
	}
	return g.SessionWindow
}
