package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"
)

// Distinctive values, so that a leak is found by a plain substring search.
const (
	secretAccessKey    = "SECRET-ACCESS-KEY-7f3a9c"
	secretGatewayKey   = "SECRET-GATEWAY-KEY-2d81e4"
	secretDeveloperKey = "SECRET-DEVELOPER-KEY-51be02"
	secretInitiatorID  = "SECRET-INITIATOR-88121"
	secretAdminToken   = "SECRET-ADMIN-TOKEN-a8d7e6f5"
	secretPartner      = "SECRET-PARTNER-c0ffee:with-colon"
	secretDBPassword   = "SECRET-DB-PASSWORD-9d9d"
	secretGatewayToken = "SECRET-GATEWAY-TOKEN-6b0c4a"
	secretLaunchKey    = "SECRET-LAUNCH-KEY-0123456789abcdef0123"
)

var secrets = []string{secretAccessKey, secretGatewayKey, secretDeveloperKey, secretInitiatorID, secretAdminToken, secretPartner, secretDBPassword, secretGatewayToken, secretLaunchKey}

// production is a complete production environment.
func production() map[string]string {
	return map[string]string{
		"DATABASE_URL":         "postgres://aeps:" + secretDBPassword + "@db:5432/aeps",
		"EKO_ACCESS_KEY":       secretAccessKey,
		"EKO_DEVELOPER_KEY":    secretDeveloperKey,
		"EKO_INITIATOR_ID":     secretInitiatorID,
		"ADMIN_TOKEN":          secretAdminToken,
		"PARTNER_CLIENTS":      "bank1:" + secretPartner,
		"GATEWAY_TOKEN":        secretGatewayToken,
		"GATEWAY_LAUNCH_KEY":   secretLaunchKey,
		"GATEWAY_CALLBACK_URL": "https://aeps.example.com/eko/aeps/callback",
	}
}

func load(env map[string]string) (Config, error) {
	return Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func with(base map[string]string, kv ...string) map[string]string {
	env := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func without(base map[string]string, keys ...string) map[string]string {
	env := maps.Clone(base)
	for _, k := range keys {
		delete(env, k)
	}
	return env
}

func TestEkoEnvDefaults(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantEnv     string
		wantOrigins []string
		wantBaseURL string
	}{
		{"EKO_ENV unset is uat", production(), "uat", []string{"https://stagegateway.eko.in"}, "https://staging.eko.in/ekoapi/v3"},
		{"uat", with(production(), "EKO_ENV", "uat"), "uat", []string{"https://stagegateway.eko.in"}, "https://staging.eko.in/ekoapi/v3"},
		{"production", with(production(), "EKO_ENV", "production"), "production", []string{"https://gateway.eko.in"}, "https://api.eko.in:25002/ekoicici/v3"},
		{"PRODUCTION, any case", with(production(), "EKO_ENV", "PRODUCTION"), "production", []string{"https://gateway.eko.in"}, "https://api.eko.in:25002/ekoicici/v3"},
		{"origins overridden", with(production(), "EKO_ENV", "production", "EKO_ALLOWED_ORIGINS", " https://gateway.eko.in , https://Partner.Example.com:8443/ ,"),
			"production", []string{"https://gateway.eko.in", "https://partner.example.com:8443"}, "https://api.eko.in:25002/ekoicici/v3"},
		{"base URL overridden", with(production(), "EKO_API_BASE_URL", "http://127.0.0.1:9999/ekoapi/v3"), "uat", []string{"https://stagegateway.eko.in"}, "http://127.0.0.1:9999/ekoapi/v3"},
		{"v1 inquiry, uat", with(production(), "EKO_INQUIRY_VERSION", "v1"), "uat", []string{"https://stagegateway.eko.in"}, "https://staging.eko.in/ekoapi/v1"},
		{"v1 inquiry, production", with(production(), "EKO_ENV", "production", "EKO_INQUIRY_VERSION", "v1"), "production", []string{"https://gateway.eko.in"}, "https://api.eko.in:25002/ekoicici/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.EkoEnv != tt.wantEnv {
				t.Errorf("EkoEnv = %q, want %q", c.EkoEnv, tt.wantEnv)
			}
			if strings.Join(c.EkoAllowedOrigins, " ") != strings.Join(tt.wantOrigins, " ") {
				t.Errorf("EkoAllowedOrigins = %q, want %q", c.EkoAllowedOrigins, tt.wantOrigins)
			}
			if c.EkoAPIBaseURL != tt.wantBaseURL {
				t.Errorf("EkoAPIBaseURL = %q, want %q", c.EkoAPIBaseURL, tt.wantBaseURL)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := load(production())
	if err != nil {
		t.Fatal(err)
	}
	if c.AppEnv != "production" || c.Development() {
		t.Errorf("AppEnv = %q, want production by default", c.AppEnv)
	}
	if c.HTTPAddr != ":8080" || c.TemporalAddress != "127.0.0.1:7233" || c.TemporalNamespace != "default" || c.TemporalTaskQueue != "aepsflow" {
		t.Errorf("addresses: %q %q %q %q", c.HTTPAddr, c.TemporalAddress, c.TemporalNamespace, c.TemporalTaskQueue)
	}
	if c.ClientRefIDSource != "eko" || c.EkoInquiryVersion != "v3" {
		t.Errorf("ClientRefIDSource %q, EkoInquiryVersion %q", c.ClientRefIDSource, c.EkoInquiryVersion)
	}
	if c.CashMinAmount.String() != "100" || c.CashMaxAmount.String() != "10000" || c.CashAmountMultiple.String() != "50" {
		t.Errorf("cash rules %s..%s step %s", c.CashMinAmount, c.CashMaxAmount, c.CashAmountMultiple)
	}
	if c.LimitLocation == nil || c.LimitLocation.String() != "Asia/Kolkata" {
		t.Errorf("LimitLocation = %v", c.LimitLocation)
	}
	if !c.Lifecycle.VerifySuccess || !c.Lifecycle.VerifyFailure || c.Lifecycle.EkoResponseTimeout != 5*time.Minute {
		t.Errorf("Lifecycle = %+v", c.Lifecycle)
	}
	if len(c.EkoAllowedHeaders) != 0 {
		t.Errorf("EkoAllowedHeaders = %q, want none", c.EkoAllowedHeaders)
	}
	if c.EkoMaxReports != 20 {
		t.Errorf("EkoMaxReports = %d, want 20", c.EkoMaxReports)
	}
	if c.OutboxStartDefer != 10*time.Second || !c.WorkflowLight || !c.WorkflowStartDelay {
		t.Errorf("OutboxStartDefer %s, WorkflowLight %v, WorkflowStartDelay %v", c.OutboxStartDefer, c.WorkflowLight, c.WorkflowStartDelay)
	}
	for _, v := range []string{"0", "0s"} {
		if c, err := load(with(production(), "OUTBOX_START_DEFER", v)); err != nil || c.OutboxStartDefer != 0 {
			t.Errorf("OUTBOX_START_DEFER=%s: %v, %s; want 0 (start at once)", v, err, c.OutboxStartDefer)
		}
	}
	c, err = load(with(production(), "EKO_ALLOWED_HEADERS", "X-Agent-Session, X-Shop-Id"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.EkoAllowedHeaders, ",") != "X-Agent-Session,X-Shop-Id" {
		t.Errorf("EkoAllowedHeaders = %q", c.EkoAllowedHeaders)
	}
}

// Development runs on the public UAT credentials; production never does.
func TestDevelopmentDefaults(t *testing.T) {
	c, err := load(map[string]string{"APP_ENV": "development", "DATABASE_URL": "postgres://localhost/aeps"})
	if err != nil {
		t.Fatal(err)
	}
	if c.EkoAccessKey != "d2fe1d99-6298-4af2-8cc5-d97dcf46df30" || c.EkoDeveloperKey != "becbbce45f79c6f5109f848acd540567" || c.EkoInitiatorID != "9962981729" {
		t.Errorf("development did not default to the public UAT credentials")
	}
	if name, ok := c.OperatorByToken("dev-admin-token"); !ok || name != "admin" {
		t.Errorf("development: dev-admin-token is operator %q %v, want admin", name, ok)
	}
}

func TestMissingSecretsOutsideDevelopment(t *testing.T) {
	for _, name := range []string{"EKO_ACCESS_KEY", "EKO_DEVELOPER_KEY", "EKO_INITIATOR_ID", "ADMIN_TOKEN"} {
		for _, how := range []string{"unset", "empty"} {
			t.Run(name+" "+how, func(t *testing.T) {
				env := without(production(), name)
				if how == "empty" {
					env[name] = ""
				}
				_, err := load(env)
				if err == nil {
					t.Fatalf("missing %s accepted in production", name)
				}
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
				for _, s := range secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error leaks a secret value: %q", err)
					}
				}
			})
		}
	}
	// Every problem is reported at once, still without a value.
	_, err := load(map[string]string{"DATABASE_URL": "postgres://x:" + secretDBPassword + "@h/db", "ADMIN_TOKEN": "short-" + secretAdminToken[:3]})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"EKO_ACCESS_KEY", "EKO_DEVELOPER_KEY", "EKO_INITIATOR_ID"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), secretDBPassword) || strings.Contains(err.Error(), "short-") {
		t.Errorf("error leaks a value: %q", err)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"unknown EKO_ENV", "EKO_ENV", "staging"},
		{"unknown APP_ENV", "APP_ENV", "test"},
		{"unknown CLIENT_REF_ID_SOURCE", "CLIENT_REF_ID_SOURCE", "partner"},
		{"origin without scheme", "EKO_ALLOWED_ORIGINS", "gateway.eko.in"},
		{"origin with a path", "EKO_ALLOWED_ORIGINS", "https://gateway.eko.in/aeps"},
		{"wildcard origin", "EKO_ALLOWED_ORIGINS", "*"},
		{"ftp origin", "EKO_ALLOWED_ORIGINS", "ftp://gateway.eko.in"},
		{"MAX_BODY_BYTES too small", "MAX_BODY_BYTES", "100"},
		{"EKO_MAX_REPORTS zero", "EKO_MAX_REPORTS", "0"},
		{"EKO_MAX_REPORTS not a number", "EKO_MAX_REPORTS", "many"},
		{"MAX_BODY_BYTES not a number", "MAX_BODY_BYTES", "64k"},
		{"bad duration", "EKO_RESPONSE_TIMEOUT", "5"},
		{"negative duration", "EKO_RESPONSE_TIMEOUT", "-5m"},
		{"bad bool", "VERIFY_SUCCESS", "yes please"},
		{"bad decimal", "CASH_MAX_AMOUNT", "10,000"},
		{"max below min", "CASH_MAX_AMOUNT", "50"},
		{"zero multiple", "CASH_AMOUNT_MULTIPLE", "0"},
		{"unknown time zone", "LIMIT_TIMEZONE", "Mars/Olympus"},
		{"short admin token", "ADMIN_TOKEN", "short"},
		{"short operator token", "OPERATOR_TOKENS", "asha:short"},
		{"operator without a token", "OPERATOR_TOKENS", "asha"},
		{"operator name in capitals", "OPERATOR_TOKENS", "Asha:asha-token-0123456789"},
		{"operator twice", "OPERATOR_TOKENS", "asha:asha-token-0123456789,asha:asha-token-9876543210"},
		{"two operators, one token", "OPERATOR_TOKENS", "asha:shared-token-0123456,ravi:shared-token-0123456"},
		{"operator admin beside ADMIN_TOKEN", "OPERATOR_TOKENS", "admin:other-admin-token-0123"},
		{"operator with the admin token", "OPERATOR_TOKENS", "asha:" + secretAdminToken},
		{"database missing", "DATABASE_URL", ""},
		{"rate without a number", "CALLBACK_RATE_LIMIT", "fast"},
		{"rate per day", "CALLBACK_RATE_LIMIT", "100/d"},
		{"negative rate", "PARTNER_CALLBACK_RATE_LIMIT", "-1/s"},
		{"zero burst", "CALLBACK_RATE_BURST", "0"},
		{"refused store off", "CALLBACK_REFUSED_STORE_LIMIT", "off"},
		{"no clients", "CALLBACK_RATE_CLIENTS", "0"},
		{"proxy not an address", "TRUSTED_PROXIES", "10.0.0.1,proxy.internal"},
		{"proxy bad CIDR", "TRUSTED_PROXIES", "10.0.0.0/33"},
		{"start deferred too long", "OUTBOX_START_DEFER", "2m"},
		{"start deferral not a duration", "OUTBOX_START_DEFER", "10"},
		{"bad WORKFLOW_LIGHT", "WORKFLOW_LIGHT", "maybe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(with(production(), tt.key, tt.value))
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}

func TestPartnerClients(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    map[string]string
		wantErr string
	}{
		{name: "unset", value: "", want: map[string]string{}},
		{name: "two clients", value: "bank1:s3cr3t,bank2:other", want: map[string]string{"bank1": "s3cr3t", "bank2": "other"}},
		{name: "spaces and empty items", value: " bank1:s3cr3t , ,bank2:other, ", want: map[string]string{"bank1": "s3cr3t", "bank2": "other"}},
		{name: "secret with colons", value: "bank1:a:b:c", want: map[string]string{"bank1": "a:b:c"}},
		{name: "no colon", value: "bank1:ok," + secretPartner[:20], wantErr: "entry 2 must be client_id:client_secret"},
		{name: "empty secret", value: "bank1:", wantErr: "entry 1 must be client_id:client_secret"},
		{name: "empty id", value: ":" + secretPartner, wantErr: "entry 1 must be client_id:client_secret"},
		{name: "duplicate id", value: "bank1:" + secretPartner + ",bank1:x", wantErr: `client_id "bank1" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(with(production(), "PARTNER_CLIENTS", tt.value))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "PARTNER_CLIENTS") {
					t.Fatalf("err = %v, want one naming PARTNER_CLIENTS and containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secretPartner[:20]) {
					t.Fatalf("error leaks a partner secret: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(c.PartnerClients, tt.want) {
				t.Fatalf("PartnerClients = %v, want %v", c.PartnerClients, tt.want)
			}
		})
	}
}

// Logging a Config, however it is passed to slog, shows its settings and none of its secrets.
func TestLogValueHidesSecrets(t *testing.T) {
	c, err := load(with(production(), "EKO_ALLOWED_HEADERS", "X-Agent-Session", "EKO_GATEWAY_ACCESS_KEY", secretGatewayKey))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("starting", "config", c)
	log.Info("starting", "config", &c)
	log.Info("starting", slog.Any("config", c))
	log.With("config", c).Info("starting")
	log.Info("starting", slog.Group("nested", "config", c))
	// fmt too: a Config printed by mistake (an error message, a debug line) must not leak.
	fmt.Fprintf(&buf, "%v %+v %#v %s %v", c, c, c, c, &c)
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log output contains secret %q:\n%s", s, out)
		}
	}
	for _, want := range []string{`"eko_env":"uat"`, `"app_env":"production"`, `"partners":1`, "stagegateway.eko.in"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %s:\n%s", want, out)
		}
	}
}

// Secrets often come from files or `echo`: surrounding whitespace is not part of them, and a
// secret that is only whitespace is missing.
func TestSecretWhitespace(t *testing.T) {
	c, err := load(with(production(), "EKO_ACCESS_KEY", "  "+secretAccessKey+"\n", "ADMIN_TOKEN", secretAdminToken+"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := c.OperatorByToken(secretAdminToken); c.EkoAccessKey != secretAccessKey || !ok || name != "admin" {
		t.Errorf("secrets kept their whitespace: %q, admin token matches %q %v", c.EkoAccessKey, name, ok)
	}
	for _, name := range []string{"EKO_ACCESS_KEY", "EKO_DEVELOPER_KEY", "EKO_INITIATOR_ID", "ADMIN_TOKEN"} {
		_, err := load(with(production(), name, " \n\t "))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s of whitespace only: err = %v, want it named as missing", name, err)
		}
	}
}

// The gateway's replies are signed with the API's access key unless EKO_GATEWAY_ACCESS_KEY says
// otherwise; the API keeps its own either way.
func TestGatewayAccessKey(t *testing.T) {
	for _, tt := range []struct {
		name        string
		env         map[string]string
		wantGateway string
	}{
		{"default: the access key", production(), secretAccessKey},
		{"blank: the access key", with(production(), "EKO_GATEWAY_ACCESS_KEY", "  "), secretAccessKey},
		{"set apart", with(production(), "EKO_GATEWAY_ACCESS_KEY", " "+secretGatewayKey+"\n"), secretGatewayKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.EkoGatewayAccessKey != tt.wantGateway || c.EkoAccessKey != secretAccessKey {
				t.Fatalf("gateway key %q, access key %q", c.EkoGatewayAccessKey, c.EkoAccessKey)
			}
		})
	}
}

// TestGatewayDefaults: REQUIRE_GATEWAY_SESSION is on by default in production and off in
// development; the simulator's origin is granted in development only.
func TestGatewayDefaults(t *testing.T) {
	prod, err := load(production())
	if err != nil {
		t.Fatal(err)
	}
	dev, err := load(map[string]string{"APP_ENV": "development", "DATABASE_URL": "postgres://localhost/aeps", "HTTP_ADDR": ":9090"})
	if err != nil {
		t.Fatal(err)
	}
	if !prod.Gateway.RequireSession || dev.Gateway.RequireSession {
		t.Errorf("RequireSession: production %v, development %v; want true, false", prod.Gateway.RequireSession, dev.Gateway.RequireSession)
	}
	if prod.Gateway.SessionWindow != 30*time.Minute {
		t.Errorf("SessionWindow = %s", prod.Gateway.SessionWindow)
	}
	if strings.Join(prod.EkoAllowedOrigins, ",") != "https://stagegateway.eko.in" {
		t.Errorf("production origins %q", prod.EkoAllowedOrigins)
	}
	if strings.Join(dev.EkoAllowedOrigins, ",") != "https://stagegateway.eko.in,http://localhost:3004" {
		t.Errorf("development origins %q, want the UAT gateway and the simulator", dev.EkoAllowedOrigins)
	}
	if dev.Gateway.CallbackURL != "http://127.0.0.1:9090/eko/aeps/callback" || dev.Gateway.Token == "" || dev.Gateway.LaunchKey == "" {
		t.Errorf("development gateway defaults: %q, token set %v, launch key set %v", dev.Gateway.CallbackURL, dev.Gateway.Token != "", dev.Gateway.LaunchKey != "")
	}
	if prod.Gateway.Environment != "uat" || prod.Gateway.DemoAgentPage {
		t.Errorf("production gateway: environment %q, demo page %v", prod.Gateway.Environment, prod.Gateway.DemoAgentPage)
	}
	off, err := load(with(production(), "REQUIRE_GATEWAY_SESSION", "false", "GATEWAY_SESSION_WINDOW", "5m"))
	if err != nil || off.Gateway.RequireSession || off.Gateway.SessionWindow != 5*time.Minute {
		t.Errorf("REQUIRE_GATEWAY_SESSION=false: %v %v", off.Gateway, err)
	}
}

// TestGatewayConfigErrors: unsafe gateway settings are start-up errors that name the variable.
func TestGatewayConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no GATEWAY_TOKEN in production", without(production(), "GATEWAY_TOKEN"), "GATEWAY_TOKEN is required"},
		{"GATEWAY_TOKEN equal to ADMIN_TOKEN", with(production(), "GATEWAY_TOKEN", secretAdminToken), "GATEWAY_TOKEN must differ from ADMIN_TOKEN"},
		{"short launch key", with(production(), "GATEWAY_LAUNCH_KEY", "short"), "GATEWAY_LAUNCH_KEY must be at least 32"},
		{"no callback URL in production", without(production(), "GATEWAY_CALLBACK_URL"), "GATEWAY_CALLBACK_URL"},
		{"http callback URL in production", with(production(), "GATEWAY_CALLBACK_URL", "http://aeps.example.com/eko/aeps/callback"), "GATEWAY_CALLBACK_URL"},
		{"the simulator's environment in production", with(production(), "GATEWAY_ENVIRONMENT", "local"), "GATEWAY_ENVIRONMENT"},
		{"the demo page in production", with(production(), "DEMO_AGENT_PAGE", "true"), "DEMO_AGENT_PAGE"},
		{"the simulator's origin in production", with(production(), "EKO_ALLOWED_ORIGINS", "https://gateway.eko.in,http://localhost:3004"), "local origin"},
		{"a custom header the callback does not allow", with(production(), "GATEWAY_CALLBACK_HEADERS", "X-Shop:1"), "EKO_ALLOWED_HEADERS"},
		{"a custom parameter named action", with(production(), "GATEWAY_CALLBACK_PARAMS", "action:x"), "GATEWAY_CALLBACK_PARAMS"},
		{"TTL over its maximum", with(production(), "GATEWAY_LAUNCH_TOKEN_TTL", "2h"), "GATEWAY_LAUNCH_TOKEN_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks a secret value: %q", err)
				}
			}
		})
	}
}

// TestOperators: each token names one operator, ADMIN_TOKEN being "admin"; only digests are kept,
// and OPERATOR_TOKENS alone is enough outside development.
func TestOperators(t *testing.T) {
	const asha, ravi = "asha-token-0123456789", "ravi:token:with:colons"
	c, err := load(with(production(), "OPERATOR_TOKENS", " asha:"+asha+" , ravi@ops.example:"+ravi+" "))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token, want string
		ok          bool
	}{
		{secretAdminToken, "admin", true},
		{asha, "asha", true},
		{ravi, "ravi@ops.example", true},
		{asha + "x", "", false},
		{asha[:len(asha)-1], "", false},
		{"", "", false},
		{"asha", "", false},
	}
	for _, tt := range tests {
		if name, ok := c.OperatorByToken(tt.token); name != tt.want || ok != tt.ok {
			t.Errorf("OperatorByToken(%q) = %q %v, want %q %v", tt.token, name, ok, tt.want, tt.ok)
		}
	}
	if got := strings.Join(c.OperatorNames(), ","); got != "admin,asha,ravi@ops.example" {
		t.Errorf("operators %s", got)
	}
	dump := fmt.Sprintf("%#v %+v", c.Operators, c)
	for _, tok := range []string{asha, ravi, secretAdminToken} {
		if strings.Contains(dump, tok) {
			t.Errorf("a token is kept in the configuration: %s", dump)
		}
	}
	// Without ADMIN_TOKEN: the named operators alone.
	c, err = load(with(without(production(), "ADMIN_TOKEN"), "OPERATOR_TOKENS", "asha:"+asha))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.OperatorByToken("dev-admin-token"); ok {
		t.Error("production accepts the development token")
	}
	if name, ok := c.OperatorByToken(asha); !ok || name != "asha" {
		t.Errorf("asha's token: %q %v", name, ok)
	}
}

// TestRateLimits: on by default in production, off in development, and every rate spelling.
func TestRateLimits(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		eko, partner   RateLimit
		trustedProxies []string
	}{
		{"production defaults", production(), RateLimit{5, 50}, RateLimit{20, 200}, nil},
		{"development defaults", map[string]string{"APP_ENV": "development", "DATABASE_URL": "postgres://x"},
			RateLimit{0, 50}, RateLimit{0, 200}, nil},
		{"per minute and per hour", with(production(), "CALLBACK_RATE_LIMIT", "120/m", "CALLBACK_RATE_BURST", "7",
			"PARTNER_CALLBACK_RATE_LIMIT", "3600/h"), RateLimit{2, 7}, RateLimit{1, 200}, nil},
		{"bare number is per second, off turns it off", with(production(), "CALLBACK_RATE_LIMIT", "2.5",
			"PARTNER_CALLBACK_RATE_LIMIT", "OFF"), RateLimit{2.5, 50}, RateLimit{0, 200}, nil},
		{"on in development when asked", map[string]string{"APP_ENV": "development", "DATABASE_URL": "postgres://x",
			"CALLBACK_RATE_LIMIT": "10/s"}, RateLimit{10, 50}, RateLimit{0, 200}, nil},
		{"trusted proxies", with(production(), "TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1,::1"),
			RateLimit{5, 50}, RateLimit{20, 200}, []string{"10.0.0.0/8", "192.0.2.1", "::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.EkoRateLimit != tt.eko || c.PartnerRateLimit != tt.partner {
				t.Errorf("limits %+v %+v, want %+v %+v", c.EkoRateLimit, c.PartnerRateLimit, tt.eko, tt.partner)
			}
			if fmt.Sprint(c.TrustedProxies) != fmt.Sprint(tt.trustedProxies) {
				t.Errorf("trusted proxies %q, want %q", c.TrustedProxies, tt.trustedProxies)
			}
			if c.RefusedStoreLimit != (RateLimit{1.0 / 60, 10}) || c.RateLimitClients != 10000 {
				t.Errorf("refused store %+v, clients %d", c.RefusedStoreLimit, c.RateLimitClients)
			}
		})
	}
}

// TestOpsSettings: the worker's probe address (off disables it) and retention's defaults, which
// keep what the audit needs.
func TestOpsSettings(t *testing.T) {
	c, err := load(production())
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerHTTPAddr != ":8081" || !c.RetentionEnabled || c.RetentionOutboxAge != 7*24*time.Hour ||
		c.RetentionRawAge != 180*24*time.Hour || c.RetentionInterval != 24*time.Hour || c.RetentionBatch != 500 {
		t.Errorf("defaults: worker %q, retention %v %v %v %v %d", c.WorkerHTTPAddr, c.RetentionEnabled, c.RetentionOutboxAge,
			c.RetentionRawAge, c.RetentionInterval, c.RetentionBatch)
	}
	c, err = load(with(production(), "WORKER_HTTP_ADDR", "off", "RETENTION_ENABLED", "false", "RETENTION_OUTBOX_AGE", "48h"))
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerHTTPAddr != "" || c.RetentionEnabled || c.RetentionOutboxAge != 48*time.Hour {
		t.Errorf("overrides: worker %q, retention %v %v", c.WorkerHTTPAddr, c.RetentionEnabled, c.RetentionOutboxAge)
	}
	for _, bad := range [][2]string{{"RETENTION_BATCH_SIZE", "0"}, {"RETENTION_RAW_REQUEST_AGE", "-1h"}} {
		if _, err := load(with(production(), bad[0], bad[1])); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: %v, want an error naming it", bad[0], bad[1], err)
		}
	}
}
