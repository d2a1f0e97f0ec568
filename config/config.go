// Package config reads aepsflow's configuration from environment variables.
//
// Secrets (access keys, tokens, partner secrets) only ever come from here. Config implements
// slog.LogValuer so that logging a Config can never print one.
package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Public Eko UAT credentials (docs/eko-aeps.md). They are used as defaults only when
// APP_ENV=development, so a production process can never run on them by accident.
const (
	uatAccessKey    = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
	uatDeveloperKey = "becbbce45f79c6f5109f848acd540567"
	uatInitiatorID  = "9962981729"
	uatAPIBaseURL   = "https://staging.eko.in/ekoapi/v3"
	prodAPIBaseURL  = "https://api.eko.in:25002/ekoicici/v3"
	uatOrigin       = "https://stagegateway.eko.in"
	prodOrigin      = "https://gateway.eko.in"
	// DevLaunchKey signs launch tokens under APP_ENV=development when GATEWAY_LAUNCH_KEY is unset.
	DevLaunchKey = "dev-gateway-launch-key-not-for-production-use"
	// LocalGatewayOrigin is the origin of aeps-gateway-lib's "local" environment, where the
	// simulator (ekosim gateway-page) plays Eko's gateway page. Granted CORS in development only.
	LocalGatewayOrigin = "http://localhost:3004"
)

// Config is the whole process configuration.
type Config struct {
	AppEnv string // development | production

	HTTPAddr string
	// WorkerHTTPAddr is where a worker process serves /healthz, /readyz and /metrics ("" when
	// WORKER_HTTP_ADDR=off).
	WorkerHTTPAddr  string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	RequestTimeout  time.Duration // budget for the database work behind one callback

	DatabaseURL string

	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string

	EkoEnv       string // uat | production
	EkoAccessKey string
	// EkoGatewayAccessKey signs debit-hook replies: EkoAccessKey unless EKO_GATEWAY_ACCESS_KEY is set.
	EkoGatewayAccessKey string
	EkoDeveloperKey     string
	EkoInitiatorID      string
	EkoAPIBaseURL       string
	EkoInquiryVersion   string // v3 | v1
	EkoAllowedOrigins   []string
	EkoAllowedHeaders   []string // custom headers the gateway page sends (callback_url_custom_headers)

	ClientRefIDSource string // eko | own

	// Operators may call the admin API (/v1/*), each with a token of their own
	// (OPERATOR_TOKENS=name:token,...; ADMIN_TOKEN is the operator "admin"). Only the tokens'
	// SHA-256 digests are kept: a dumped Config holds no usable token.
	Operators []Operator

	// PublicAPIURL is the API's base URL as operators reach it, for the read-API links and
	// resolve commands shown in the Temporal Web UI ("": paths only).
	PublicAPIURL string

	// WorkflowStartDelay starts a transaction's workflow with a start delay of the response
	// timeout, so that its first task runs only once there is something to do.
	WorkflowStartDelay bool

	// WorkflowLight lets new transaction workflows take the light workflow (operator-view 3:
	// decided in the task the report wakes). false pins them to the version before it: the first
	// step of a rolling deploy, while workers that do not know version 3 still run, and the
	// "before" of the benchmark.
	WorkflowLight bool

	// Gateway launch (POST /v1/gateway/session).
	Gateway Gateway

	// Debit-hook rules.
	CashMinAmount          decimal.Decimal
	CashMaxAmount          decimal.Decimal
	CashAmountMultiple     decimal.Decimal
	DailyCashCountLimit    int
	DailyCashAmountLimit   decimal.Decimal
	LimitLocation          *time.Location
	AllowRepeatAfterResult bool
	// EkoMaxReports caps the eko-responses delivered to one transaction's workflow; past it a
	// report is stored and the transaction flagged (eko-responses are unauthenticated).
	EkoMaxReports int

	// Workflow timings.
	Lifecycle Lifecycle

	// Partner callbacks: client_id -> client_secret.
	PartnerClients map[string]string

	// Rate limits of the callback URLs per client address (Rate 0: off).
	EkoRateLimit     RateLimit
	PartnerRateLimit RateLimit
	// RefusedStoreLimit bounds the refused requests stored per client; past it they are counted.
	RefusedStoreLimit RateLimit
	RateLimitClients  int // clients tracked at once, per callback URL
	// TrustedProxies are the addresses (IPs or CIDRs) whose X-Forwarded-For is believed when
	// telling the client's address; none by default.
	TrustedProxies []string

	// Outbox relay.
	RelaySweepInterval time.Duration
	// OutboxStartDefer holds a new transaction's workflow start back this long (at most half the
	// response timeout): an eko-response within it supersedes the start, since the relay's
	// SignalWithStart starts the workflow itself. One call to Temporal per transaction instead of
	// two, and no Temporal work during a burst of debit-hooks. 0 starts at once.
	OutboxStartDefer time.Duration
	RelayBatchSize   int

	// Retention (in every API replica): delivered outbox entries and raw requests of closed
	// transactions older than these ages are deleted, RetentionBatch rows at a time.
	RetentionEnabled   bool
	RetentionOutboxAge time.Duration
	RetentionRawAge    time.Duration
	RetentionInterval  time.Duration
	RetentionBatch     int

	// Events to the platform: off when WebhookURL is empty.
	WebhookURL     string
	WebhookSecret  string
	WebhookTimeout time.Duration // one POST
	// WebhookConcurrency bounds a worker's deliveries in flight (each holds a connection).
	WebhookConcurrency int

	// Scheduled reconciliation.
	ReconcileAt     string // HH:MM in LimitLocation, daily
	ReconcileSample string // "all", "N" transactions or "P%" of the day's successful withdrawals
}

// Gateway configures the launch of Eko's AePS gateway: what the session endpoint hands to the
// platform's front end (aeps.config / the Android bundle), who may ask for it, and the anti-forgery
// rule that ties a debit-hook to a recent launch.
type Gateway struct {
	// Token authenticates the platform's backend (GATEWAY_TOKEN); distinct from AdminToken.
	Token string
	// LaunchKey signs per-agent launch tokens (GATEWAY_LAUNCH_KEY); empty: launch tokens are off.
	LaunchKey      string
	LaunchTokenTTL time.Duration // default lifetime of a launch token
	LaunchTokenMax time.Duration // longest lifetime a launch token may be minted with
	// Environment is aeps-gateway-lib's environment: uat | production (from EKO_ENV), or local
	// (the simulator; development only).
	Environment     string
	CallbackURL     string
	CallbackHeaders map[string]string // custom headers the gateway page sends (each in EkoAllowedHeaders)
	CallbackParams  map[string]string // custom top-level body parameters
	PartnerName     string
	LogoURL         string
	// AllowedOrigins may call the session endpoint from a browser (CORS); none by default.
	AllowedOrigins []string
	// RequireSession refuses a debit-hook for an agent without an issued launch in the last
	// SessionWindow (REQUIRE_GATEWAY_SESSION, on by default outside development).
	RequireSession bool
	SessionWindow  time.Duration
	// DemoAgentPage serves the development agent launch page at /demo/agent; DemoLibPath is
	// aeps-gateway-lib's file, installed by npm into web/node_modules.
	DemoAgentPage bool
	DemoLibPath   string
}

// Lifecycle holds the timings and switches a transaction workflow runs with. They travel in the
// workflow's input, so a change affects new transactions only and never breaks replay.
type Lifecycle struct {
	EkoResponseTimeout    time.Duration // no eko-response by then: inquire
	InquiryInitialBackoff time.Duration
	InquiryMaxBackoff     time.Duration
	InquiryDeadline       time.Duration // past it, needs_review (AePS reversal window)
	NotFoundGrace         time.Duration // Eko still does not know the reference: expired
	VerifySuccess         bool          // confirm tx_status 0 on cash withdrawals by inquiry
	VerifyFailure         bool          // confirm tx_status 1 and 4 on cash withdrawals by inquiry
	PartnerUnknownReview  time.Duration // partner status neither success nor failure: review after
	// Events to the platform (WEBHOOK_URL set): retried with backoff until EventDeadline.
	Events              bool
	EventDeadline       time.Duration
	EventInitialBackoff time.Duration
	EventMaxBackoff     time.Duration
}

// defaultPublicURL is the API's own address in development (loopback when it listens on every
// interface) and nothing elsewhere: a production link must be configured, never guessed.
func defaultPublicURL(dev bool, httpAddr string) string {
	if !dev {
		return ""
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// RateLimit is a token bucket: Rate requests per second sustained, Burst at once.
type RateLimit struct {
	Rate  float64
	Burst int
}

// On reports whether the limit applies.
func (r RateLimit) On() bool { return r.Rate > 0 }

// LogValue lists only what is safe to log.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_env", c.AppEnv),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("worker_http_addr", c.WorkerHTTPAddr),
		slog.String("temporal_address", c.TemporalAddress),
		slog.String("temporal_namespace", c.TemporalNamespace),
		slog.String("task_queue", c.TemporalTaskQueue),
		slog.String("eko_env", c.EkoEnv),
		slog.String("eko_api_base_url", c.EkoAPIBaseURL),
		slog.String("public_api_url", c.PublicAPIURL),
		slog.Any("eko_allowed_origins", c.EkoAllowedOrigins),
		slog.String("client_ref_id_source", c.ClientRefIDSource),
		slog.String("gateway_environment", c.Gateway.Environment),
		slog.String("gateway_callback_url", c.Gateway.CallbackURL),
		slog.Bool("require_gateway_session", c.Gateway.RequireSession),
		slog.Duration("gateway_session_window", c.Gateway.SessionWindow),
		slog.Bool("launch_tokens", c.Gateway.LaunchKey != ""),
		slog.Bool("demo_agent_page", c.Gateway.DemoAgentPage),
		slog.Int("partners", len(c.PartnerClients)),
		slog.String("webhook", webhookHost(c.WebhookURL)),
		slog.Any("operators", c.OperatorNames()),
		slog.Any("callback_rate_limit", c.EkoRateLimit),
		slog.Any("partner_callback_rate_limit", c.PartnerRateLimit),
		slog.Any("trusted_proxies", c.TrustedProxies),
	)
}

// Format prints what LogValue lists, for every verb (%v, %+v, %#v, %s): a Config printed with fmt
// would otherwise show every secret field.
func (c Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.LogValue()) }

// Operator is one admin API caller: a name and the SHA-256 digest of their token.
type Operator struct {
	Name        string
	TokenDigest [sha256.Size]byte
}

// OperatorNames lists the configured operators' names (safe to log).
func (c Config) OperatorNames() []string {
	names := make([]string, len(c.Operators))
	for i, o := range c.Operators {
		names[i] = o.Name
	}
	return names
}

// OperatorByToken returns the name of the operator whose token this is. Every configured digest
// is compared, in constant time, whether or not one already matched: neither the timing nor the
// order of the list tells an attacker anything.
func (c Config) OperatorByToken(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	got := sha256.Sum256([]byte(token))
	name, found := "", 0
	for _, o := range c.Operators {
		if subtle.ConstantTimeCompare(o.TokenDigest[:], got[:]) == 1 {
			name, found = o.Name, found+1
		}
	}
	return name, found == 1
}

// Development reports whether development defaults are allowed.
func (c Config) Development() bool { return c.AppEnv == "development" }

// Getenv is the lookup Load uses; tests pass a map's lookup.
type Getenv func(string) (string, bool)

// FromEnv loads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load builds a Config from env, applying defaults and validating everything, and reports every
// problem at once so an operator fixes the deployment in one pass.
func Load(env Getenv) (Config, error) {
	r := reader{env: env}
	c := Config{
		AppEnv:            r.oneOf("APP_ENV", "production", "development", "production"),
		HTTPAddr:          r.str("HTTP_ADDR", ":8080"),
		WorkerHTTPAddr:    r.str("WORKER_HTTP_ADDR", ":8081"),
		MaxBodyBytes:      int64(r.int("MAX_BODY_BYTES", 64<<10)),
		ShutdownTimeout:   r.dur("SHUTDOWN_TIMEOUT", 20*time.Second),
		RequestTimeout:    r.dur("REQUEST_TIMEOUT", 900*time.Millisecond),
		DatabaseURL:       r.str("DATABASE_URL", ""),
		TemporalAddress:   r.str("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: r.str("TEMPORAL_NAMESPACE", "default"),
		TemporalTaskQueue: r.str("TEMPORAL_TASK_QUEUE", "aepsflow"),
		EkoEnv:            r.oneOf("EKO_ENV", "uat", "uat", "production"),
		EkoInquiryVersion: r.oneOf("EKO_INQUIRY_VERSION", "v3", "v3", "v1"),
		ClientRefIDSource: r.oneOf("CLIENT_REF_ID_SOURCE", "eko", "eko", "own"),
		EkoAllowedHeaders: r.list("EKO_ALLOWED_HEADERS"),

		CashMinAmount:          r.dec("CASH_MIN_AMOUNT", "100"),
		CashMaxAmount:          r.dec("CASH_MAX_AMOUNT", "10000"),
		CashAmountMultiple:     r.dec("CASH_AMOUNT_MULTIPLE", "50"),
		DailyCashCountLimit:    r.int("AGENT_DAILY_CASH_COUNT_LIMIT", 50),
		DailyCashAmountLimit:   r.dec("AGENT_DAILY_CASH_AMOUNT_LIMIT", "200000"),
		AllowRepeatAfterResult: r.bool("ALLOW_REPEAT_DEBIT_HOOK_AFTER_RESULT", false),
		EkoMaxReports:          r.int("EKO_MAX_REPORTS", 20),

		Lifecycle: Lifecycle{
			EkoResponseTimeout:    r.dur("EKO_RESPONSE_TIMEOUT", 5*time.Minute),
			InquiryInitialBackoff: r.dur("INQUIRY_INITIAL_BACKOFF", 30*time.Second),
			InquiryMaxBackoff:     r.dur("INQUIRY_MAX_BACKOFF", 30*time.Minute),
			InquiryDeadline:       r.dur("INQUIRY_DEADLINE", 5*24*time.Hour),
			NotFoundGrace:         r.dur("INQUIRY_NOT_FOUND_GRACE", 30*time.Minute),
			VerifySuccess:         r.bool("VERIFY_SUCCESS", true),
			VerifyFailure:         r.bool("VERIFY_FAILURE", true),
			PartnerUnknownReview:  r.dur("PARTNER_UNKNOWN_REVIEW_AFTER", 24*time.Hour),
			EventDeadline:         r.dur("WEBHOOK_DEADLINE", 72*time.Hour),
			EventInitialBackoff:   r.dur("WEBHOOK_INITIAL_BACKOFF", 10*time.Second),
			EventMaxBackoff:       r.dur("WEBHOOK_MAX_BACKOFF", 10*time.Minute),
		},
		WebhookURL:         r.str("WEBHOOK_URL", ""),
		WebhookTimeout:     r.dur("WEBHOOK_TIMEOUT", 10*time.Second),
		WebhookConcurrency: r.int("WEBHOOK_CONCURRENCY", 8),
		ReconcileAt:        r.str("RECONCILE_AT", "02:00"),
		ReconcileSample:    r.str("RECONCILE_SAMPLE", "all"),

		WorkflowStartDelay: r.bool("WORKFLOW_START_DELAY", true),
		WorkflowLight:      r.bool("WORKFLOW_LIGHT", true),
		RelaySweepInterval: r.dur("OUTBOX_SWEEP_INTERVAL", 2*time.Second),
		OutboxStartDefer:   r.durOrZero("OUTBOX_START_DEFER", 10*time.Second),
		RelayBatchSize:     r.int("OUTBOX_BATCH_SIZE", 64),

		RetentionEnabled:   r.bool("RETENTION_ENABLED", true),
		RetentionOutboxAge: r.dur("RETENTION_OUTBOX_AGE", 7*24*time.Hour),
		RetentionRawAge:    r.dur("RETENTION_RAW_REQUEST_AGE", 180*24*time.Hour),
		RetentionInterval:  r.dur("RETENTION_INTERVAL", 24*time.Hour),
		RetentionBatch:     r.int("RETENTION_BATCH_SIZE", 500),
	}
	tz := r.str("LIMIT_TIMEZONE", "Asia/Kolkata")
	if loc, err := time.LoadLocation(tz); err != nil {
		r.fail("LIMIT_TIMEZONE", fmt.Errorf("unknown time zone %q: %w", tz, err))
	} else {
		c.LimitLocation = loc
	}

	dev := c.Development()
	origin, baseURL := prodOrigin, prodAPIBaseURL
	if c.EkoEnv == "uat" {
		origin, baseURL = uatOrigin, uatAPIBaseURL
	}
	c.EkoAllowedOrigins = r.origins("EKO_ALLOWED_ORIGINS")
	if len(c.EkoAllowedOrigins) == 0 {
		c.EkoAllowedOrigins = []string{origin}
		if dev {
			// The simulator's gateway page (aeps-gateway-lib's "local" environment).
			c.EkoAllowedOrigins = append(c.EkoAllowedOrigins, LocalGatewayOrigin)
		}
	}
	for _, o := range c.EkoAllowedOrigins {
		if !dev && isLoopbackOrigin(o) {
			r.fail("EKO_ALLOWED_ORIGINS", fmt.Errorf("entry %q is a local origin, allowed only with APP_ENV=development", o))
		}
	}
	if c.EkoInquiryVersion == "v1" {
		// The two versions live under different prefixes; the default follows the version.
		baseURL = strings.TrimSuffix(baseURL, "/v3") + "/v1"
	}
	c.EkoAPIBaseURL = r.str("EKO_API_BASE_URL", baseURL)
	c.PublicAPIURL = strings.TrimSuffix(r.str("PUBLIC_API_URL", defaultPublicURL(dev, c.HTTPAddr)), "/")
	// Rate limits are on by default in production and off in development, where one developer's
	// curl loop or load test is the only client.
	ekoRate, partnerRate := "5/s", "20/s"
	if dev {
		ekoRate, partnerRate = "off", "off"
	}
	c.EkoRateLimit = RateLimit{Rate: r.rate("CALLBACK_RATE_LIMIT", ekoRate), Burst: r.int("CALLBACK_RATE_BURST", 50)}
	c.PartnerRateLimit = RateLimit{Rate: r.rate("PARTNER_CALLBACK_RATE_LIMIT", partnerRate), Burst: r.int("PARTNER_CALLBACK_RATE_BURST", 200)}
	c.RefusedStoreLimit = RateLimit{Rate: r.rate("CALLBACK_REFUSED_STORE_LIMIT", "1/m"), Burst: r.int("CALLBACK_REFUSED_STORE_BURST", 10)}
	c.RateLimitClients = r.int("CALLBACK_RATE_CLIENTS", 10000)
	c.TrustedProxies = r.proxies("TRUSTED_PROXIES")
	c.EkoAccessKey = r.secret("EKO_ACCESS_KEY", dev, uatAccessKey)
	// One access key normally signs both the debit-hook replies and the Inquiry API calls, but
	// Eko's gateway documents show another key for the gateway's staging than its API's public
	// UAT key: the gateway's can be set apart.
	c.EkoGatewayAccessKey = c.EkoAccessKey
	if v, ok := r.env("EKO_GATEWAY_ACCESS_KEY"); ok && strings.TrimSpace(v) != "" {
		c.EkoGatewayAccessKey = strings.TrimSpace(v)
	}
	c.EkoDeveloperKey = r.secret("EKO_DEVELOPER_KEY", dev, uatDeveloperKey)
	c.EkoInitiatorID = r.secret("EKO_INITIATOR_ID", dev, uatInitiatorID)
	c.Operators = r.operators(dev)
	if c.DatabaseURL == "" {
		r.fail("DATABASE_URL", errors.New("is required"))
	}
	c.PartnerClients = r.partners("PARTNER_CLIENTS")
	c.Gateway = r.gateway(c, dev)

	if !c.CashMinAmount.IsPositive() || c.CashMaxAmount.LessThan(c.CashMinAmount) {
		r.fail("CASH_MIN_AMOUNT/CASH_MAX_AMOUNT", errors.New("need 0 < min <= max"))
	}
	if !c.CashAmountMultiple.IsPositive() {
		r.fail("CASH_AMOUNT_MULTIPLE", errors.New("must be positive"))
	}
	if c.MaxBodyBytes < 1024 {
		r.fail("MAX_BODY_BYTES", errors.New("must be at least 1024"))
	}
	if c.EkoMaxReports < 1 {
		r.fail("EKO_MAX_REPORTS", errors.New("must be at least 1"))
	}
	if c.OutboxStartDefer > time.Minute {
		// Longer, and a transaction would be missing from Temporal (and the outbox alert's
		// oldest-entry age) for longer than an operator expects.
		r.fail("OUTBOX_START_DEFER", errors.New("must be at most 1m (0: start at once)"))
	}
	if c.WebhookURL != "" {
		c.Lifecycle.Events = true
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.fail("WEBHOOK_URL", errors.New("must be an http(s) URL"))
		}
		// No development default: a platform must never accept events signed with a known key.
		if v, ok := r.env("WEBHOOK_SECRET"); ok && strings.TrimSpace(v) != "" {
			c.WebhookSecret = strings.TrimSpace(v)
		} else {
			r.fail("WEBHOOK_SECRET", errors.New("is required when WEBHOOK_URL is set"))
		}
		if len(c.WebhookSecret) > 0 && len(c.WebhookSecret) < 16 {
			r.fail("WEBHOOK_SECRET", errors.New("must be at least 16 characters"))
		}
	}
	if c.WebhookConcurrency < 1 {
		r.fail("WEBHOOK_CONCURRENCY", errors.New("must be at least 1"))
	}
	if c.Lifecycle.EventMaxBackoff < c.Lifecycle.EventInitialBackoff {
		r.fail("WEBHOOK_MAX_BACKOFF", errors.New("must not be below WEBHOOK_INITIAL_BACKOFF"))
	}
	if _, _, err := ParseClock(c.ReconcileAt); err != nil {
		r.fail("RECONCILE_AT", err)
	}
	if _, _, err := ParseSample(c.ReconcileSample); err != nil {
		r.fail("RECONCILE_SAMPLE", err)
	}
	if strings.EqualFold(c.WorkerHTTPAddr, "off") {
		c.WorkerHTTPAddr = ""
	}
	for name, l := range map[string]RateLimit{"CALLBACK_RATE_BURST": c.EkoRateLimit, "PARTNER_CALLBACK_RATE_BURST": c.PartnerRateLimit} {
		if l.On() && l.Burst < 1 {
			r.fail(name, errors.New("must be at least 1"))
		}
	}
	if !c.RefusedStoreLimit.On() || c.RefusedStoreLimit.Burst < 0 {
		r.fail("CALLBACK_REFUSED_STORE_LIMIT/CALLBACK_REFUSED_STORE_BURST", errors.New("need a rate and a burst of at least 0"))
	}
	if c.RateLimitClients < 1 {
		r.fail("CALLBACK_RATE_CLIENTS", errors.New("must be at least 1"))
	}
	if c.RetentionBatch < 1 {
		r.fail("RETENTION_BATCH_SIZE", errors.New("must be at least 1"))
	}
	if c.RelayBatchSize < 1 {
		r.fail("OUTBOX_BATCH_SIZE", errors.New("must be at least 1"))
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

type reader struct {
	env  Getenv
	errs []error
}

func (r *reader) fail(name string, err error) {
	r.errs = append(r.errs, fmt.Errorf("%s %w", name, err))
}

func (r *reader) str(name, def string) string {
	if v, ok := r.env(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// secret returns the variable's value; outside development a missing secret is an error
// (never a silent default), and the error names the variable, never a value. Surrounding
// whitespace is dropped: a secret read from a file usually ends in a newline, which would
// otherwise change every signature made with it.
func (r *reader) secret(name string, dev bool, devDefault string) string {
	if v, ok := r.env(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	if dev {
		return devDefault
	}
	r.fail(name, errors.New("is required outside APP_ENV=development"))
	return ""
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, fmt.Errorf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, fmt.Errorf("must be an integer: %w", err))
		return def
	}
	return n
}

func (r *reader) bool(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Errorf("must be true or false: %w", err))
		return def
	}
	return b
}

// durOrZero is dur that also takes 0 (off).
func (r *reader) durOrZero(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(r.str(name, "")); err == nil && d == 0 {
		return 0 // "0", "0s"
	}
	return r.dur(name, def)
}

func (r *reader) dur(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, fmt.Errorf("must be a positive duration like 30s or 5m, got %q", v))
		return def
	}
	return d
}

func (r *reader) dec(name, def string) decimal.Decimal {
	v := r.str(name, def)
	d, err := decimal.NewFromString(v)
	if err != nil {
		r.fail(name, fmt.Errorf("must be a decimal amount, got %q", v))
		return decimal.RequireFromString(def)
	}
	return d
}

func (r *reader) list(name string) []string {
	var out []string
	for _, s := range strings.Split(r.str(name, ""), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rate reads a rate as "N/s", "N/m", "N/h" or a bare N (per second); "off" or 0 turns it off (0).
func (r *reader) rate(name, def string) float64 {
	v := strings.ToLower(r.str(name, def))
	if v == "off" {
		return 0
	}
	num, unit, _ := strings.Cut(v, "/")
	per := map[string]float64{"": 1, "s": 1, "m": 60, "h": 3600}[unit]
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || per == 0 || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		r.fail(name, fmt.Errorf("must be off or a rate like 5/s, 300/m or 1000/h, got %q", v))
		return 0
	}
	return n / per
}

// proxies reads a list of IP addresses and CIDR networks.
func (r *reader) proxies(name string) []string {
	var out []string
	for _, p := range r.list(name) {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				r.fail(name, fmt.Errorf("entry %q must be an IP address or a CIDR network", p))
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// origins reads a list of browser origins (scheme://host[:port]). Browsers send the Origin header in
// lower case and without a path, so an entry is lower-cased and a trailing '/' dropped; anything
// else (a path, "*", no scheme) is an error here rather than a CORS grant that never matches or a
// panic when the CORS middleware is built.
func (r *reader) origins(name string) []string {
	var out []string
	for _, o := range r.list(name) {
		o = strings.ToLower(strings.TrimSuffix(o, "/"))
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(o, "*") {
			r.fail(name, fmt.Errorf("entry %q must be an origin like https://gateway.eko.in", o))
			continue
		}
		out = append(out, o)
	}
	return out
}

var operatorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// operators reads ADMIN_TOKEN (the operator "admin") and OPERATOR_TOKENS ("name:token,..."). Outside
// development at least one operator is required and every token must be at least 12 characters;
// a name or a token may appear only once, so that a token always names one person.
func (r *reader) operators(dev bool) []Operator {
	var out []Operator
	seenName, seenToken := map[string]bool{}, map[[sha256.Size]byte]bool{}
	add := func(name, token, source string) {
		d := sha256.Sum256([]byte(token))
		switch {
		case len(token) < 12 && !dev:
			r.fail(source, fmt.Errorf("token of %q must be at least 12 characters", name))
		case seenName[name]:
			r.fail(source, fmt.Errorf("operator %q appears twice", name))
		case seenToken[d]:
			r.fail(source, fmt.Errorf("operator %q has the same token as another operator", name))
		}
		seenName[name], seenToken[d] = true, true
		out = append(out, Operator{Name: name, TokenDigest: d})
	}
	admin, _ := r.env("ADMIN_TOKEN")
	if admin = strings.TrimSpace(admin); admin != "" {
		add("admin", admin, "ADMIN_TOKEN")
	}
	raw, _ := r.env("OPERATOR_TOKENS")
	for i, item := range strings.Split(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, token, ok := strings.Cut(item, ":")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		if !ok || token == "" || !operatorNameRE.MatchString(name) {
			// The entry is not quoted: it may be a token pasted without its name.
			r.fail("OPERATOR_TOKENS", fmt.Errorf("entry %d must be name:token, the name in lower case letters, digits, '.', '_', '@' or '-'", i+1))
			continue
		}
		add(name, token, "OPERATOR_TOKENS")
	}
	if len(out) == 0 {
		if !dev {
			r.fail("ADMIN_TOKEN/OPERATOR_TOKENS", errors.New("at least one operator token is required outside APP_ENV=development"))
			return nil
		}
		add("admin", "dev-admin-token", "ADMIN_TOKEN")
	}
	return out
}

// partners parses "id1:secret1,id2:secret2". Secrets may contain ':' (only the first splits).
func (r *reader) partners(name string) map[string]string {
	out := map[string]string{}
	raw, _ := r.env(name)
	for i, item := range strings.Split(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, secret, ok := strings.Cut(item, ":")
		if !ok || id == "" || secret == "" {
			// The entry itself is not quoted: it may be a secret pasted without its id.
			r.fail(name, fmt.Errorf("entry %d must be client_id:client_secret", i+1))
			continue
		}
		if _, dup := out[id]; dup {
			r.fail(name, fmt.Errorf("client_id %q appears twice", id))
		}
		out[id] = secret
	}
	return out
}

// isLoopbackOrigin reports an origin on this machine: a simulator's, never Eko's.
func isLoopbackOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasPrefix(h, "127.") || h == "::1"
}

// gateway reads the gateway launch settings. c holds everything read before.
func (r *reader) gateway(c Config, dev bool) Gateway {
	g := Gateway{
		LaunchTokenTTL: r.dur("GATEWAY_LAUNCH_TOKEN_TTL", 10*time.Minute),
		LaunchTokenMax: r.dur("GATEWAY_LAUNCH_TOKEN_MAX_TTL", time.Hour),
		Environment:    r.oneOf("GATEWAY_ENVIRONMENT", c.EkoEnv, "uat", "production", "local"),
		PartnerName:    r.str("GATEWAY_PARTNER_NAME", "aepsflow"),
		LogoURL:        r.str("GATEWAY_LOGO_URL", ""),
		AllowedOrigins: r.origins("GATEWAY_ALLOWED_ORIGINS"),
		RequireSession: r.bool("REQUIRE_GATEWAY_SESSION", !dev),
		SessionWindow:  r.dur("GATEWAY_SESSION_WINDOW", 30*time.Minute),
		DemoAgentPage:  r.bool("DEMO_AGENT_PAGE", false),
		DemoLibPath:    r.str("DEMO_AGENT_PAGE_LIB", "web/node_modules/@ekoindia/aeps-gateway-lib/build/aeps-gateway-lib.js"),
	}
	g.Token = r.secret("GATEWAY_TOKEN", dev, "dev-gateway-token")
	if g.Token != "" && !dev && len(g.Token) < 12 {
		r.fail("GATEWAY_TOKEN", errors.New("must be at least 12 characters"))
	}
	if _, operator := c.OperatorByToken(g.Token); g.Token != "" && operator {
		// The platform's backend must not hold the operators' token, nor they its.
		r.fail("GATEWAY_TOKEN", errors.New("must differ from ADMIN_TOKEN and every OPERATOR_TOKENS token"))
	}
	if v, ok := r.env("GATEWAY_LAUNCH_KEY"); ok && strings.TrimSpace(v) != "" {
		g.LaunchKey = strings.TrimSpace(v)
	} else if dev {
		g.LaunchKey = DevLaunchKey
	}
	if g.LaunchKey != "" && len(g.LaunchKey) < 32 {
		r.fail("GATEWAY_LAUNCH_KEY", errors.New("must be at least 32 characters"))
	}
	if _, operator := c.OperatorByToken(g.LaunchKey); g.LaunchKey != "" && (g.LaunchKey == g.Token || operator) {
		r.fail("GATEWAY_LAUNCH_KEY", errors.New("must differ from GATEWAY_TOKEN and ADMIN_TOKEN"))
	}
	if g.LaunchTokenTTL > g.LaunchTokenMax {
		r.fail("GATEWAY_LAUNCH_TOKEN_TTL", errors.New("must not exceed GATEWAY_LAUNCH_TOKEN_MAX_TTL"))
	}
	if g.Environment == "local" && !dev {
		r.fail("GATEWAY_ENVIRONMENT", errors.New("local (the simulator) is allowed only with APP_ENV=development"))
	}
	if g.DemoAgentPage && !dev {
		r.fail("DEMO_AGENT_PAGE", errors.New("is allowed only with APP_ENV=development"))
	}

	def := ""
	if dev {
		port := "8080"
		if _, p, err := net.SplitHostPort(c.HTTPAddr); err == nil && p != "" {
			port = p
		}
		def = "http://127.0.0.1:" + port + "/eko/aeps/callback"
	}
	g.CallbackURL = r.str("GATEWAY_CALLBACK_URL", def)
	if u, err := url.Parse(g.CallbackURL); g.CallbackURL == "" || err != nil || u.Host == "" ||
		(u.Scheme != "https" && (u.Scheme != "http" || !dev)) {
		r.fail("GATEWAY_CALLBACK_URL", errors.New("must be the https URL of the callback (/eko/aeps/callback) as the agent's browser reaches it (http only in development)"))
	}
	g.CallbackHeaders = r.pairs("GATEWAY_CALLBACK_HEADERS")
	allowed := map[string]bool{}
	for _, h := range c.EkoAllowedHeaders {
		allowed[strings.ToLower(h)] = true
	}
	for h := range g.CallbackHeaders {
		if !allowed[strings.ToLower(h)] {
			// The browser would refuse the preflight and no debit-hook would ever arrive.
			r.fail("GATEWAY_CALLBACK_HEADERS", fmt.Errorf("header %q must also be listed in EKO_ALLOWED_HEADERS", h))
		}
	}
	g.CallbackParams = r.pairs("GATEWAY_CALLBACK_PARAMS")
	for k := range g.CallbackParams {
		if k == "action" || k == "detail" {
			r.fail("GATEWAY_CALLBACK_PARAMS", fmt.Errorf("parameter %q would clash with the callback's own fields", k))
		}
	}
	return g
}

// pairs parses "k1:v1,k2:v2" (values may contain ':').
func (r *reader) pairs(name string) map[string]string {
	out := map[string]string{}
	for _, item := range r.list(name) {
		k, v, ok := strings.Cut(item, ":")
		if k, v = strings.TrimSpace(k), strings.TrimSpace(v); !ok || k == "" {
			r.fail(name, fmt.Errorf("entry %q must be name:value", k))
			continue
		}
		out[k] = v
	}
	return out
}

// ParseClock reads a time of day "HH:MM".
func ParseClock(v string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, 0, fmt.Errorf("must be a time of day HH:MM, got %q", v)
	}
	return t.Hour(), t.Minute(), nil
}

// ParseSample reads the reconciliation's sample: "all" (0, 0), "N" transactions (n, 0) or "P%"
// of them (0, p).
func ParseSample(v string) (n int, percent float64, err error) {
	v = strings.TrimSpace(strings.ToLower(v))
	if v == "all" || v == "" || v == "100%" {
		return 0, 0, nil
	}
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return 0, 0, fmt.Errorf("must be all, a count or a percentage like 10%%, got %q", v)
		}
		return 0, f, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("must be all, a count or a percentage like 10%%, got %q", v)
	}
	return n, 0, nil
}

// webhookHost is what may be logged of WEBHOOK_URL: scheme and host, never credentials or a
// query that may carry a token.
func webhookHost(v string) string {
	u, err := url.Parse(v)
	if err != nil || v == "" {
		return "off"
	}
	return u.Scheme + "://" + u.Host
}
