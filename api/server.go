// Package api serves aepsflow's HTTP endpoints: Eko's callback (debit-hook, eko-response), the
// partner's status callback, and the admin/read API for operators.
//
// Every callback is stored raw (Aadhaar numbers masked) before anything acts on it, and every
// reply, good or bad, is in the caller's own protocol shape.
package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/eko/sign"
	"github.com/aepsflow/aepsflow/metrics"
	"github.com/aepsflow/aepsflow/redact"
	"github.com/aepsflow/aepsflow/webhook"
)

// Server holds the API's dependencies.
type Server struct {
	Config config.Config
	Store  *db.Store
	Signer *sign.Signer
	// Intents is the one hand-off to transactions' workflows (package intents implements it).
	Intents  Handoff
	Temporal client.Client // for readiness; may be unreachable
	Logger   *slog.Logger
	Now      func() time.Time
	// NewClientRefID generates our own client_ref_id (CLIENT_REF_ID_SOURCE=own).
	NewClientRefID func() (string, error)
	// Metrics may be nil (no /metrics route, nothing recorded).
	Metrics *metrics.Metrics
	// Webhook re-sends events to the platform; nil when WEBHOOK_URL is unset.
	Webhook *webhook.Client
	// OnExportFlush, when set, is called at each flush of a CSV export (tests check streaming).
	OnExportFlush func()
}

// Handoff is how the API reaches transactions' workflows, and all it knows of them: the store
// writes what each request means for its workflow through it (db.Intents), and the read API shows
// a workflow's own view of its transaction. Package intents implements it; app injects it.
type Handoff interface {
	db.Intents
	// WorkflowState is the workflow's answer to the state query, or an error it describes; it
	// never blocks the read API for long.
	WorkflowState(ctx context.Context, workflowID string) any
}

// Handler builds the Gin engine with every route.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	// Route on the escaped path, so that a reference holding '/' (sent as %2F) is still one
	// path segment: /v1/transactions/AB%2F12 reads transaction "AB/12". EscapedPath, not
	// RawPath (which Go leaves empty when the default escaping matches, so the decoded path
	// would be decoded twice). Parameters stay escaped (gin would unescape them as a query, '+'
	// becoming a space); pathParam unescapes them once. No redirects: one rebuilt from the
	// decoded path would point elsewhere.
	r.UseEscapedPath = true
	r.UnescapePathValues = false
	r.RedirectTrailingSlash = false
	// The client's address is the connection's unless it comes from a trusted proxy (none by
	// default): otherwise anyone could pick their own address for the rate limit with a header.
	if err := r.SetTrustedProxies(s.Config.TrustedProxies); err != nil {
		panic(fmt.Sprintf("TRUSTED_PROXIES: %v", err)) // config.Load validated them
	}

	// Per-address rate limits on the callback URLs, which anyone can reach (off in development
	// by default). The Eko limit runs after CORS, so that a browser can read the refusal.
	ekoThrottle := s.newThrottle(s.Config.EkoRateLimit, throttle{source: "eko",
		headers: ekoHeaders(s.Config.EkoAllowedHeaders), needsBody: true, action: ekoAction, reply: ekoRefusal(tooManyRequests)})
	partnerThrottle := s.newThrottle(s.Config.PartnerRateLimit, throttle{source: "partner",
		headers: partnerHeaders(), action: func([]byte) string { return "post-request" },
		reply: func([]byte) any {
			return partnerReply{Status: "1", StatusDesc: "too many requests; deliver again later"}
		}})

	eko := r.Group("/eko/aeps")
	eko.Use(s.observe("eko"), s.ekoCORS(), ekoThrottle.middleware(s))
	eko.POST("/callback", s.ekoCallback)
	eko.OPTIONS("/callback", func(c *gin.Context) { c.Status(http.StatusNoContent) })

	r.POST("/partner/aeps/callback", s.observe("partner"), partnerThrottle.middleware(s), s.partnerCallback)

	// Another method on a callback URL, or a URL beside one (a trailing slash, a typo), is bad
	// input like any other: stored and answered in the protocol's shape (gin's own 404 and 405
	// are plain text and keep nothing).
	ekoMisrouted := s.misrouted(ekoThrottle, "POST, OPTIONS", ekoHeaders(s.Config.EkoAllowedHeaders),
		func(string) any { return refuse("Invalid request: use POST to the callback URL.") })
	partnerMisrouted := s.misrouted(partnerThrottle, "POST", partnerHeaders(),
		func(desc string) any { return partnerReply{Status: "1", StatusDesc: desc} })
	r.NoMethod(func(c *gin.Context) {
		switch c.Request.URL.Path {
		case "/eko/aeps/callback":
			ekoMisrouted(c, http.StatusMethodNotAllowed)
		case "/partner/aeps/callback":
			partnerMisrouted(c, http.StatusMethodNotAllowed)
		default:
			c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method " + c.Request.Method + " not allowed"})
		}
	})
	r.NoRoute(func(c *gin.Context) {
		switch p := c.Request.URL.Path; {
		case strings.HasPrefix(p, "/eko/aeps/"):
			ekoMisrouted(c, http.StatusNotFound)
		case strings.HasPrefix(p, "/partner/aeps/"):
			partnerMisrouted(c, http.StatusNotFound)
		default:
			c.JSON(http.StatusNotFound, gin.H{"error": "not found"})
		}
	})

	s.gatewayRoutes(r)

	admin := r.Group("/v1", s.requireAdmin)
	admin.GET("/transactions", s.listTransactions)
	admin.GET("/transactions/:ref", s.getTransaction)
	admin.GET("/reports/daily", s.dailyReport)
	admin.POST("/transactions/:ref/resolve", s.resolveTransaction)
	admin.GET("/transactions/:ref/events", s.listEvents)
	admin.POST("/transactions/:ref/events/resend", s.resendEvents)
	admin.GET("/agents/:user_code", s.getAgent)
	admin.PUT("/agents/:user_code", s.putAgent)
	admin.GET("/audit", s.getAudit)

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	if s.Metrics != nil {
		// Counts and latencies only: no personal data, no secrets.
		r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	}
	return r
}

// ekoCORS grants CORS to the configured gateway origins only. A request from any other origin gets
// no grant; a POST from one is still stored and refused in the protocol's shape (handled by the
// callback), so that it never vanishes.
func (s *Server) ekoCORS() gin.HandlerFunc {
	allowed := map[string]bool{}
	for _, o := range s.Config.EkoAllowedOrigins {
		allowed[o] = true
	}
	grant := cors.New(cors.Config{
		AllowOrigins:     s.Config.EkoAllowedOrigins,
		AllowMethods:     []string{http.MethodPost, http.MethodOptions},
		AllowHeaders:     append([]string{"Content-Type"}, s.Config.EkoAllowedHeaders...),
		AllowCredentials: false,
		MaxAge:           10 * time.Minute,
	})
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		switch {
		case origin == "":
			c.Next() // not a browser (server-to-server, curl, Android without WebView origin)
		case allowed[origin]:
			c.Header("Vary", "Origin") // before grant: a preflight's reply is written inside it
			grant(c)
		case c.Request.Method == http.MethodOptions:
			c.AbortWithStatus(http.StatusForbidden)
		default:
			c.Set(ctxOriginRefused, origin)
			c.Next()
		}
	}
}

const (
	ctxOriginRefused = "origin_refused"
	keyAction        = "aepsflow.action"
	keyOutcome       = "aepsflow.outcome"
)

// mark names a callback's outcome for the metrics.
func mark(c *gin.Context, outcome string) { c.Set(keyOutcome, outcome) }

// observe records each callback's outcome and latency.
func (s *Server) observe(source string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if c.Request.Method == http.MethodOptions {
			return
		}
		outcome := c.GetString(keyOutcome)
		if outcome == "" {
			outcome = "http_" + strconv.Itoa(c.Writer.Status())
		}
		s.Metrics.Observe(source, c.GetString(keyAction), outcome, time.Since(start))
	}
}

// keyOperator holds the name of the operator whose token authorised the request.
const keyOperator = "aepsflow.operator"

// requireAdmin admits a request whose bearer token is an operator's (compared in constant time,
// over digests) and records that operator's name for the handler and the audit log.
func (s *Server) requireAdmin(c *gin.Context) {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	name, known := s.Config.OperatorByToken(token)
	if !ok || !known {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "missing or invalid admin token"})
		return
	}
	c.Set(keyOperator, name)
	c.Next()
}

// isAdmin reports whether the request carries an operator's token.
func (s *Server) isAdmin(c *gin.Context) bool {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	_, known := s.Config.OperatorByToken(token)
	return ok && known
}

// operator is the name of the operator the request authenticated as (set by requireAdmin).
func operator(c *gin.Context) string { return c.GetString(keyOperator) }

// readyz answers whether this replica can take callbacks: PostgreSQL answers. Temporal away is
// reported as degraded, not as not-ready: the outbox lets the API keep confirming and recording
// callbacks then, and pulling every replica out of service during a Temporal outage would turn
// it into a full outage. Only an operator's token sees why: the errors name hosts, ports and
// driver messages, which a stranger probing the service has no business reading.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	checks := gin.H{}
	ready, degraded := true, false
	if err := s.Store.Ping(ctx); err != nil {
		checks["postgres"], ready = "unreachable: "+err.Error(), false
	} else {
		checks["postgres"] = "ok"
	}
	if s.Temporal == nil {
		checks["temporal"], degraded = "not configured", true
	} else if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], degraded = "unreachable (callbacks are kept in the outbox): "+err.Error(), true
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	if !s.isAdmin(c) {
		c.JSON(status, gin.H{"ready": ready, "degraded": degraded})
		return
	}
	c.JSON(status, gin.H{"ready": ready, "degraded": degraded, "checks": checks})
}

// rawRequest reads a callback's body within the configured limit and builds its stored record.
// tooLarge reports a body over the limit; its first MaxBodyBytes are kept.
func (s *Server) rawRequest(c *gin.Context, source string, headerNames []string) (body []byte, in db.Inbound, tooLarge bool, err error) {
	limit := s.Config.MaxBodyBytes
	body, err = io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	size := int64(len(body))
	if int64(len(body)) > limit {
		tooLarge = true
		body = body[:limit]
		// The rest is not read: reading it only to count it would let any client make us take in
		// a body of any size. The declared length says how big it was; without one the record
		// holds the size read, a lower bound. Closing spares net/http draining the rest.
		size = max(size, c.Request.ContentLength)
		c.Header("Connection", "close")
	}
	stored, redacted := redact.Document(body)
	headers := map[string]string{}
	for _, h := range headerNames {
		if v := c.GetHeader(h); v != "" {
			headers[h] = truncate(v, 512)
		}
	}
	in = db.Inbound{
		Source: source, Method: c.Request.Method, Path: c.Request.URL.Path, RemoteAddr: c.Request.RemoteAddr,
		Headers: headers, Body: stored, BodySize: size, BodyTruncated: tooLarge, BodyRedacted: redacted,
	}
	return body, in, tooLarge, err
}

// misrouted stores a request that reached a callback URL with another method than POST (405),
// or a URL beside a callback's (404), and answers in the caller's protocol shape, built by reply
// from the reason.
func (s *Server) misrouted(t *throttle, allow string, headerNames []string, reply func(reason string) any) func(*gin.Context, int) {
	source := t.source
	return func(c *gin.Context, status int) {
		start := time.Now()
		if s.throttled(c, t) { // the same limit as the URL beside it: a flood gains nothing by a typo
			s.Metrics.Observe(source, "", "rate_limited", time.Since(start))
			return
		}
		_, in, _, _ := s.rawRequest(c, source, headerNames)
		outcome, reason := "not_found", "no callback at "+truncate(c.Request.URL.Path, 100)+"; POST to the callback URL"
		if status == http.StatusMethodNotAllowed {
			outcome, reason = "method_not_allowed", "method "+c.Request.Method+" is not allowed; use POST"
			c.Header("Allow", allow)
		}
		// Not behind the callback routes' observe middleware (gin's fallbacks run only the global one).
		s.Metrics.Observe(source, "", outcome, time.Since(start))
		s.reject(c, c.Request.Context(), s.Logger.With("source", source), "callback misrouted", in, refusal{status, outcome, reason, reply(reason)})
	}
}

// storeOnly records a request whose handling ends here (invalid, refused early, failed). A failure
// is logged: the reply already says what went wrong.
func (s *Server) storeOnly(ctx context.Context, in db.Inbound) {
	// A budget of its own: ctx may be the very one whose deadline just failed the request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Config.RequestTimeout)
	defer cancel()
	if _, err := s.Store.RecordInbound(ctx, in); err != nil {
		s.Logger.Error("could not store inbound request", "source", in.Source, "outcome", in.Outcome, "err", err)
	}
}

func (s *Server) dbContext(c *gin.Context) (context.Context, context.CancelFunc) {
	// Bounded so that an unreachable database turns into a clear refusal within a second, and
	// detached from the client's connection: net/http cancels the request's context when the
	// browser tab closes, and what the tab sent (an eko-response is news of money moved) must
	// still be recorded.
	return context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.Config.RequestTimeout)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
