package api

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/eko/callback"
	"github.com/aepsflow/aepsflow/ratelimit"
)

const tooManyRequests = "Too many requests from this network. Please wait a minute and try again."

// throttle is one callback URL's rate limit and how its refusals look.
type throttle struct {
	source  string
	limiter *ratelimit.Limiter // nil: off
	headers []string
	// reply builds the refusal in the protocol's shape from the body read (perhaps nothing).
	reply func(body []byte) any
	// needsBody: the reply's shape depends on the body (Eko's two actions share one URL).
	needsBody bool
	// action names the stored request's action from its body.
	action func(body []byte) string
}

// newThrottle gives t the limiter of limit; a limit that is off lets everything through.
func (s *Server) newThrottle(limit config.RateLimit, t throttle) *throttle {
	if !limit.On() {
		return &t
	}
	l, err := ratelimit.New(ratelimit.Config{Rate: limit.Rate, Burst: limit.Burst,
		StoreRate: s.Config.RefusedStoreLimit.Rate, StoreBurst: s.Config.RefusedStoreLimit.Burst,
		MaxClients: s.Config.RateLimitClients})
	if err != nil {
		// config.Load validated every value; a limit that cannot be built must not fail open.
		panic(err)
	}
	t.limiter = l
	return &t
}

// ekoAction is the action an Eko callback's body names, "" if none can be read.
func ekoAction(body []byte) string {
	env, _ := callback.ParseEnvelope(body) // an action is kept even when the detail is missing
	return truncate(env.Action, 64)
}

// ekoRefusal answers in the shape of the action the body names: eko-response's error shape, or
// the debit-hook refusal for anything else (the gateway page reads allow and message).
func ekoRefusal(message string) func([]byte) any {
	return func(body []byte) any {
		if ekoAction(body) == callback.ActionEkoResponse {
			return responseReply{Status: "error", Message: message}
		}
		return refuse(message)
	}
}

// middleware refuses a request over its client's rate (429 in the protocol's shape) and lets
// the others through.
func (t *throttle) middleware(s *Server) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.throttled(c, t) {
			c.Abort()
		}
	}
}

// throttled answers and reports true when the client is over its rate. The client is Gin's
// ClientIP: the connection's address, or X-Forwarded-For when the connection comes from one of
// TRUSTED_PROXIES. A refused request is stored within its client's bound of stored refusals
// (CALLBACK_REFUSED_STORE_*), so that a flood cannot fill the database, and only counted past it.
func (s *Server) throttled(c *gin.Context, t *throttle) bool {
	if t.limiter == nil || c.Request.Method == http.MethodOptions {
		return false
	}
	ip := c.ClientIP()
	v := t.limiter.Take(ratelimit.Key(ip), time.Now())
	s.Metrics.TrackedClients(t.source, t.limiter.Len())
	if v.Allowed {
		return false
	}
	s.Metrics.Refused(t.source, "rate_limit", v.Store)
	mark(c, "rate_limited")
	c.Header("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(v.RetryAfter.Seconds())))))
	if v.Store {
		body, in, _, _ := s.rawRequest(c, t.source, t.headers)
		in.Action = t.action(body)
		reason := "rate limit exceeded by client " + ip
		if v.Unstored > 0 {
			reason += fmt.Sprintf("; %d refusals of this client before this one were counted, not stored", v.Unstored)
		}
		ctx, cancel := s.dbContext(c)
		defer cancel()
		s.reject(c, ctx, s.Logger.With("source", t.source, "client", ip), "callback rate limited", in,
			refusal{http.StatusTooManyRequests, "rate_limited", reason, t.reply(body)})
		return true
	}
	// Past the client's bound of stored refusals: counted, not stored.
	if v.Unstored == 1 {
		s.Logger.Warn("callback rate limited; further refusals of this client are counted, not stored",
			"source", t.source, "client", ip)
	}
	var body []byte
	if t.needsBody {
		body, _ = io.ReadAll(io.LimitReader(c.Request.Body, s.Config.MaxBodyBytes))
	}
	c.JSON(http.StatusTooManyRequests, t.reply(body))
	return true
}
