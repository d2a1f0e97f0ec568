package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/launchtoken"
)

// Distinctive secrets of the gateway tests: a leak is found by a plain substring search.
const (
	gwAccessKey    = "gw-test-access-key-5c1e0f7a"
	gwGatewayKey   = "gw-test-gateway-access-key-93b2d4"
	gwDeveloperKey = "gwtestdeveloperkey000000000000001"
	gwInitiatorID  = "9000000042"
	gwToken        = "gw-test-gateway-token-8f2a61"
	gwLaunchKey    = "gw-test-launch-key-0123456789abcdef01"
	gwSuspended    = "20810299"
	gwUnknown      = "20810777"
)

func gatewayEnv(extra ...string) map[string]string {
	env := map[string]string{
		"EKO_ACCESS_KEY": gwAccessKey, "EKO_GATEWAY_ACCESS_KEY": gwGatewayKey,
		"EKO_DEVELOPER_KEY": gwDeveloperKey, "EKO_INITIATOR_ID": gwInitiatorID,
		"GATEWAY_TOKEN": gwToken, "GATEWAY_LAUNCH_KEY": gwLaunchKey,
		"GATEWAY_PARTNER_NAME": "Shop Network", "GATEWAY_LOGO_URL": "https://shops.example/logo.png",
		"EKO_ALLOWED_HEADERS": "X-Platform", "GATEWAY_CALLBACK_HEADERS": "X-Platform:shops",
		"GATEWAY_CALLBACK_PARAMS": "shop_id:12",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// independentSecretKey is Eko's secret_key computed here from scratch (not with package
// eko/sign): base64(HMAC-SHA256(key = the ASCII text of base64(access key), msg = timestamp)).
func independentSecretKey(accessKey, timestamp string) string {
	m := hmac.New(sha256.New, []byte(base64.StdEncoding.EncodeToString([]byte(accessKey))))
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestIndependentSecretKeyVectors: the independent HMAC above reproduces Eko's published
// known-answer vectors, so agreeing with it means agreeing with Eko.
func TestIndependentSecretKeyVectors(t *testing.T) {
	vectors := []struct{ key, ts, want string }{
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1540880719963", "4CKAzpT/B44CnhXM01pRnZELcGKWOhvbZg7TqoGDIrA="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1585999782835", "y4aNr2cuSuaX2fCsfXMVopqvaZtx9MKHCcsF73fHxvc="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1532582133692", "dCUujUywtuu86CyoHkZZzBjLUAVC365e6PLaa4UYwqM="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1516705204593", "MC6dKW278tBef+AuqL/5rW2K3WgOegF0ZHLW/FriZQw="},
		{"TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000", "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="},
		{"test-access-key-123", "1700000000000", "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="},
	}
	for _, v := range vectors {
		if got := independentSecretKey(v.key, v.ts); got != v.want {
			t.Errorf("secret_key(%s, %s) = %s, want %s", v.key, v.ts, got, v.want)
		}
	}
}

// gatewayCall posts body to path with an optional bearer token and returns the status, the raw
// reply and the reply decoded.
func gatewayCall(t testing.TB, a *apptest.App, path, token, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: reply is not a JSON object (%d): %q", path, resp.StatusCode, raw)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST %s: Cache-Control = %q, want no-store", path, cc)
	}
	return resp.StatusCode, string(raw), out
}

func launchToken(t testing.TB, key, user string, exp time.Time) string {
	t.Helper()
	tok, err := launchtoken.Mint([]byte(key), user, exp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestGatewaySession: the session endpoint hands out a correctly signed gateway config to the
// platform's backend (GATEWAY_TOKEN) and to an agent's launch token for that agent only; it
// refuses everyone else, and unknown or suspended agents with a clear message; it records every
// launch; and no reply or log line carries the access key.
func TestGatewaySession(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: gatewayEnv()})
	a.RegisterAgent(agentCode, nil, nil)
	a.RegisterAgent(gwSuspended, nil, nil)
	if _, err := a.Store.DB().Exec(`UPDATE agents SET status = 'suspended' WHERE user_code = $1`, gwSuspended); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := launchToken(t, gwLaunchKey, agentCode, now.Add(5*time.Minute))
	body := `{"user_code":"` + agentCode + `"}`
	var replies []string

	refusals := []struct {
		name, token, body string
		status            int
		code, message     string
		recorded          string // outcome recorded in gateway_launches, "" for none
	}{
		{"no token", "", body, 401, "unauthenticated", "missing bearer token", ""},
		{"ADMIN_TOKEN is not the gateway's", apptest.AdminToken, body, 401, "unauthenticated", "invalid token", ""},
		{"wrong token", gwToken + "x", body, 401, "unauthenticated", "invalid token", ""},
		{"launch token signed with another key", launchToken(t, "another-launch-key-0123456789abcdef", agentCode, now.Add(time.Minute)), body, 401, "unauthenticated", "invalid launch token", ""},
		{"expired launch token", launchToken(t, gwLaunchKey, agentCode, now.Add(-time.Second)), body, 401, "unauthenticated", "expired", ""},
		{"launch token of another agent", launchToken(t, gwLaunchKey, "20810201", now.Add(time.Minute)), body, 403, "wrong_agent", "is for agent 20810201, not " + agentCode, ""},
		{"no user_code", gwToken, `{}`, 400, "invalid", "user_code is required", ""},
		{"not JSON", gwToken, `user_code=1`, 400, "invalid", "JSON object", ""},
		{"unknown agent", gwToken, `{"user_code":"` + gwUnknown + `"}`, 404, "unknown_agent", "agent " + gwUnknown + " is not registered", "unknown_agent"},
		{"suspended agent", gwToken, `{"user_code":"` + gwSuspended + `"}`, 403, "agent_suspended", "agent " + gwSuspended + " is suspended", "agent_suspended"},
		{"suspended agent's own launch token", launchToken(t, gwLaunchKey, gwSuspended, now.Add(time.Minute)), ``, 403, "agent_suspended", "is suspended", "agent_suspended"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := a.QueryInt(t, `SELECT count(*) FROM gateway_launches`)
			status, raw, out := gatewayCall(t, a, "/v1/gateway/session", tt.token, tt.body)
			replies = append(replies, raw)
			if status != tt.status || out["code"] != tt.code || !strings.Contains(out["error"].(string), tt.message) {
				t.Fatalf("got %d %s, want %d %s %q", status, raw, tt.status, tt.code, tt.message)
			}
			if _, ok := out["config"]; ok {
				t.Fatal("a refusal carries a config")
			}
			after := a.QueryInt(t, `SELECT count(*) FROM gateway_launches`)
			switch {
			case tt.recorded == "" && after != before:
				t.Errorf("a request refused before authentication was recorded as a launch")
			case tt.recorded != "" && (after != before+1 || a.QueryInt(t, `SELECT count(*) FROM gateway_launches
				WHERE id = (SELECT max(id) FROM gateway_launches) AND outcome = $1 AND launched_at > now() - interval '1 minute'`, tt.recorded) != 1):
				t.Errorf("refusal not recorded as %s", tt.recorded)
			}
		})
	}

	issued := []struct{ name, token, body, auth string }{
		{"GATEWAY_TOKEN", gwToken, body, "gateway_token"},
		{"launch token, user_code in the body", valid, body, "launch_token"},
		{"launch token, no body", valid, ``, "launch_token"},
	}
	for _, tt := range issued {
		t.Run(tt.name, func(t *testing.T) {
			sentAt := time.Now()
			status, raw, _ := gatewayCall(t, a, "/v1/gateway/session", tt.token, tt.body)
			replies = append(replies, raw)
			if status != http.StatusOK {
				t.Fatalf("got %d %s", status, raw)
			}
			var r struct {
				Config   map[string]string `json:"config"`
				Callback struct {
					URL        string            `json:"url"`
					Parameters map[string]string `json:"parameters"`
					Headers    map[string]string `json:"headers"`
				} `json:"callback"`
				AndroidBundle map[string]string `json:"android_bundle"`
				LaunchID      int64             `json:"launch_id"`
			}
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				t.Fatal(err)
			}
			c := r.Config
			ts := c["secret_key_timestamp"]
			// Signed with the gateway's access key, checked by an HMAC computed here.
			if want := independentSecretKey(gwGatewayKey, ts); c["secret_key"] != want || !hmac.Equal([]byte(c["secret_key"]), []byte(want)) {
				t.Errorf("secret_key %q does not verify for timestamp %s (want %q)", c["secret_key"], ts, want)
			}
			if c["secret_key"] == independentSecretKey(gwAccessKey, ts) {
				t.Error("secret_key signed with the API's access key, not the gateway's")
			}
			ms, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || time.UnixMilli(ms).Before(sentAt.Add(-time.Second)) || time.UnixMilli(ms).After(time.Now().Add(time.Second)) {
				t.Errorf("secret_key_timestamp %q is not a fresh Unix-milliseconds time", ts)
			}
			want := map[string]string{
				"partner_name": "Shop Network", "initiator_logo_url": "https://shops.example/logo.png",
				"initiator_id": gwInitiatorID, "developer_key": gwDeveloperKey, "user_code": agentCode, "environment": "uat",
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("config.%s = %q, want %q", k, c[k], v)
				}
			}
			if len(c) != 8 {
				t.Errorf("config has %d fields, want the 8 of aeps.config: %v", len(c), c)
			}
			if r.Callback.URL != a.Config.Gateway.CallbackURL || r.Callback.Headers["X-Platform"] != "shops" || r.Callback.Parameters["shop_id"] != "12" {
				t.Errorf("callback = %+v", r.Callback)
			}
			b := r.AndroidBundle
			if b["secret_key"] != c["secret_key"] || b["callback_url"] != r.Callback.URL ||
				b["callback_url_custom_headers"] != `{"X-Platform":"shops"}` || b["callback_url_custom_params"] != `{"shop_id":"12"}` {
				t.Errorf("android_bundle = %v", b)
			}
			if a.QueryInt(t, `SELECT count(*) FROM gateway_launches WHERE id = $1 AND user_code = $2 AND outcome = 'issued'
				AND auth = $3 AND secret_key_timestamp = $4`, r.LaunchID, agentCode, tt.auth, ts) != 1 {
				t.Errorf("launch %d not recorded as issued by %s", r.LaunchID, tt.auth)
			}
		})
	}

	t.Run("no reply or log carries the access key", func(t *testing.T) {
		logs, complete := a.Logs()
		if !complete {
			t.Fatal("the logs were cut: a leak could hide past the bound")
		}
		if !strings.Contains(logs, "gateway session issued") || !strings.Contains(logs, "gateway session refused") {
			t.Fatalf("the launches were not logged:\n%s", logs)
		}
		leaks := map[string]string{
			"access key": gwAccessKey, "gateway access key": gwGatewayKey,
			"HMAC key (base64 of the access key)":         base64.StdEncoding.EncodeToString([]byte(gwAccessKey)),
			"HMAC key (base64 of the gateway access key)": base64.StdEncoding.EncodeToString([]byte(gwGatewayKey)),
			"launch key": gwLaunchKey, "gateway token": gwToken,
		}
		for what, secret := range leaks {
			for i, r := range replies {
				if strings.Contains(r, secret) {
					t.Errorf("reply %d carries the %s: %s", i, what, r)
				}
			}
			if strings.Contains(logs, secret) {
				t.Errorf("the logs carry the %s", what)
			}
		}
		if strings.Contains(logs, valid) {
			t.Error("the logs carry a launch token")
		}
	})
}

// TestMintLaunchToken: the admin API mints launch tokens with ADMIN_TOKEN or GATEWAY_TOKEN, for
// registered active agents, with a bounded lifetime; a launch token cannot mint another.
func TestMintLaunchToken(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: gatewayEnv("GATEWAY_LAUNCH_TOKEN_MAX_TTL", "30m")})
	a.RegisterAgent(agentCode, nil, nil)
	a.RegisterAgent(gwSuspended, nil, nil)
	if _, err := a.Store.DB().Exec(`UPDATE agents SET status = 'suspended' WHERE user_code = $1`, gwSuspended); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"admin token", apptest.AdminToken, `{"user_code":"` + agentCode + `"}`, 201, ""},
		{"gateway token, own ttl", gwToken, `{"user_code":"` + agentCode + `","ttl":"2m"}`, 201, ""},
		{"no token", "", `{"user_code":"` + agentCode + `"}`, 401, "unauthenticated"},
		{"a launch token cannot mint", launchToken(t, gwLaunchKey, agentCode, time.Now().Add(time.Minute)), `{"user_code":"` + agentCode + `"}`, 401, "unauthenticated"},
		{"ttl over the maximum", gwToken, `{"user_code":"` + agentCode + `","ttl":"31m"}`, 400, "invalid"},
		{"unknown agent", gwToken, `{"user_code":"` + gwUnknown + `"}`, 404, "unknown_agent"},
		{"suspended agent", gwToken, `{"user_code":"` + gwSuspended + `"}`, 403, "agent_suspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			status, raw, out := gatewayCall(t, a, "/v1/gateway/launch-tokens", tt.token, tt.body)
			if status != tt.status || (tt.code != "" && out["code"] != tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, raw, tt.status, tt.code)
			}
			if status != 201 {
				return
			}
			tok := out["token"].(string)
			user, exp, err := launchtoken.Verify([]byte(gwLaunchKey), tok, time.Now())
			if err != nil || user != agentCode {
				t.Fatalf("minted token %q: %s, %v", tok, user, err)
			}
			ttl := 10 * time.Minute
			if strings.Contains(tt.body, "2m") {
				ttl = 2 * time.Minute
			}
			if d := exp.Sub(start); d < ttl-2*time.Second || d > ttl+time.Second {
				t.Errorf("token lives %s, want %s", d, ttl)
			}
			// And it opens a session for its agent.
			if status, raw, _ := gatewayCall(t, a, "/v1/gateway/session", tok, ``); status != 200 {
				t.Errorf("session with the minted token: %d %s", status, raw)
			}
		})
	}
}

// TestRequireGatewaySession: with REQUIRE_GATEWAY_SESSION on, a debit-hook is allowed only for an
// agent with an issued launch within GATEWAY_SESSION_WINDOW; refused launches and other agents'
// launches do not count. Off (the development default), no launch is needed.
func TestRequireGatewaySession(t *testing.T) {
	t.Parallel()
	const other = "20810201"
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
		Env: gatewayEnv("REQUIRE_GATEWAY_SESSION", "true", "GATEWAY_SESSION_WINDOW", "30m")})
	a.RegisterAgent(agentCode, nil, nil)
	a.RegisterAgent(other, nil, nil)

	debitHook := func(t *testing.T) (string, reply) {
		t.Helper()
		ref := apptest.Ref(t)
		status, r := post(t, a, cashHook(ref, agentCode, "100").body(t))
		if status != http.StatusOK {
			t.Fatalf("debit-hook: HTTP %d %+v", status, r)
		}
		return ref, r
	}
	refused := func(t *testing.T) {
		t.Helper()
		ref, r := debitHook(t)
		if r.allowed() || !strings.Contains(r.Message, "open the AePS gateway again") {
			t.Fatalf("debit-hook without a recent launch: %+v, want refused", r)
		}
		if _, ok := findTx(t, a, ref); ok {
			t.Error("a refused debit-hook created a transaction")
		}
		if in := inboundByReference(t, a, ref); len(in) != 1 || !strings.HasPrefix(in[0].OutcomeDetail, "no_gateway_session") {
			t.Errorf("refusal stored as %+v", in)
		}
	}
	session := func(t *testing.T, user string) int {
		t.Helper()
		status, raw, _ := gatewayCall(t, a, "/v1/gateway/session", gwToken, `{"user_code":"`+user+`"}`)
		if status != http.StatusOK && status != http.StatusForbidden {
			t.Fatalf("session: %d %s", status, raw)
		}
		return status
	}

	t.Run("no launch at all", refused)
	t.Run("another agent's launch does not count", func(t *testing.T) {
		session(t, other)
		refused(t)
	})
	t.Run("a refused launch does not count", func(t *testing.T) {
		if _, err := a.Store.DB().Exec(`UPDATE agents SET status = 'suspended' WHERE user_code = $1`, agentCode); err != nil {
			t.Fatal(err)
		}
		if session(t, agentCode) != http.StatusForbidden {
			t.Fatal("a suspended agent got a session")
		}
		if _, err := a.Store.DB().Exec(`UPDATE agents SET status = 'active' WHERE user_code = $1`, agentCode); err != nil {
			t.Fatal(err)
		}
		refused(t)
	})
	t.Run("allowed after a launch", func(t *testing.T) {
		session(t, agentCode)
		ref, r := debitHook(t)
		if !r.allowed() || r.SecretKey != independentSecretKey(gwGatewayKey, r.SecretKeyTimestamp) {
			t.Fatalf("debit-hook after a launch: %+v, want allowed and signed", r)
		}
		if tx := mustTx(t, a, ref); tx.State != "pending" {
			t.Errorf("state %s", tx.State)
		}
	})
	t.Run("refused once the launch is older than the window", func(t *testing.T) {
		if _, err := a.Store.DB().Exec(`UPDATE gateway_launches SET launched_at = now() - interval '31 minutes'`); err != nil {
			t.Fatal(err)
		}
		refused(t)
	})

	t.Run("off: no launch needed", func(t *testing.T) {
		b := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: gatewayEnv("REQUIRE_GATEWAY_SESSION", "false")})
		b.RegisterAgent(agentCode, nil, nil)
		status, r := post(t, b, cashHook(apptest.Ref(t), agentCode, "100").body(t))
		if status != http.StatusOK || !r.allowed() {
			t.Fatalf("debit-hook with the requirement off: %d %+v", status, r)
		}
	})
}

// TestDemoAgentPage: the development agent page is off unless enabled; on, it serves the
// installed aeps-gateway-lib (or says how to install it) and shows an agent only its own
// transactions. The simulator's origin is granted CORS by development's defaults.
func TestDemoAgentPage(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, a *apptest.App, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("off unless enabled", func(t *testing.T) {
		a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
		for _, p := range []string{"/demo/agent", "/demo/agent/aeps-gateway-lib.js", "/demo/agent/transactions/1"} {
			if status, _ := get(t, a, p, ""); status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, status)
			}
		}
		// Development grants the simulator's gateway page (http://localhost:3004) by default.
		resp := preflight(t, a, "http://localhost:3004", "content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:3004" {
			t.Errorf("preflight from the simulator's origin: Access-Control-Allow-Origin %q", got)
		}
	})

	t.Run("on", func(t *testing.T) {
		lib := t.TempDir() + "/aeps-gateway-lib.js"
		if err := os.WriteFile(lib, []byte("/** @ekoindia/aeps-gateway-lib v1.5.0 */ var EkoAEPSGateway;"), 0o644); err != nil {
			t.Fatal(err)
		}
		a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
			Env: gatewayEnv("DEMO_AGENT_PAGE", "true", "DEMO_AGENT_PAGE_LIB", lib)})
		a.RegisterAgent(agentCode, nil, nil)
		a.RegisterAgent("20810201", nil, nil)
		if status, body := get(t, a, "/demo/agent", ""); status != 200 || !strings.Contains(body, `<script src="/demo/agent/aeps-gateway-lib.js">`) {
			t.Errorf("agent page: %d", status)
		}
		if status, body := get(t, a, "/demo/agent/aeps-gateway-lib.js", ""); status != 200 || !strings.HasPrefix(body, "/** @ekoindia/aeps-gateway-lib v1.5.0 */") {
			t.Errorf("library: %d %q", status, body)
		}
		ref := apptest.Ref(t)
		if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != 200 || !r.allowed() {
			t.Fatalf("debit-hook: %d %+v", status, r)
		}
		own := launchToken(t, gwLaunchKey, agentCode, time.Now().Add(time.Minute))
		other := launchToken(t, gwLaunchKey, "20810201", time.Now().Add(time.Minute))
		if status, body := get(t, a, "/demo/agent/transactions/"+ref, own); status != 200 || !strings.Contains(body, `"state":"pending"`) {
			t.Errorf("own transaction: %d %s", status, body)
		}
		if status, _ := get(t, a, "/demo/agent/transactions/"+ref, other); status != http.StatusNotFound {
			t.Errorf("another agent's transaction: %d, want 404", status)
		}
		if status, _ := get(t, a, "/demo/agent/transactions/"+ref, gwToken); status != http.StatusUnauthorized {
			t.Errorf("without a launch token: %d, want 401", status)
		}
	})

	t.Run("on, library not installed", func(t *testing.T) {
		a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
			Env: gatewayEnv("DEMO_AGENT_PAGE", "true", "DEMO_AGENT_PAGE_LIB", t.TempDir()+"/missing.js")})
		if status, body := get(t, a, "/demo/agent/aeps-gateway-lib.js", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, "npm ci --prefix web") {
			t.Errorf("missing library: %d %q", status, body)
		}
	})
}
