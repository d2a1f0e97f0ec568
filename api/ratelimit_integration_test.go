package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// request sends one request with the given headers and returns the status, headers and body.
func request(t testing.TB, method, url string, headers map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header[k] = []string{v} // as written: the partner's header names have underscores
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// metricValue reads one sample from /metrics (0 when absent).
func metricValue(t testing.TB, a *apptest.App, sample string) float64 {
	t.Helper()
	_, _, body := request(t, http.MethodGet, a.URL+"/metrics", nil, "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCallbackRateLimit: past its burst, a client address is refused with 429 in each protocol's
// shape, on the Eko callback (debit-hook and eko-response shapes) and the partner callback alike;
// other addresses are not affected; of one client's refusals only a bounded number are stored,
// the rest counted in the metrics. X-Forwarded-For counts only from a trusted proxy, and an IPv6
// client's whole /64 shares one bucket.
func TestCallbackRateLimit(t *testing.T) {
	t.Parallel()
	// One token an hour: within the test, only the burst is ever allowed.
	a := startPartnerApp(t, map[string]string{
		"CALLBACK_RATE_LIMIT": "1/h", "CALLBACK_RATE_BURST": "3",
		"PARTNER_CALLBACK_RATE_LIMIT": "1/h", "PARTNER_CALLBACK_RATE_BURST": "2",
		"CALLBACK_REFUSED_STORE_LIMIT": "1/h", "CALLBACK_REFUSED_STORE_BURST": "2",
		"TRUSTED_PROXIES": "127.0.0.1", // the test client is the proxy; X-Forwarded-For names the client
	}, apptest.Options{NoWorker: true, NoRelay: true})
	a.RegisterAgent(agentCode, nil, nil)
	eko := func(client, body string) (int, http.Header, []byte) {
		return request(t, http.MethodPost, a.URL+callbackPath, map[string]string{
			"Content-Type": "application/json", "X-Forwarded-For": client}, body)
	}
	stored := func(client string) int {
		return a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE outcome = 'rate_limited' AND http_status = 429
			AND headers->>'X-Forwarded-For' = $1`, client)
	}

	const flooder = "198.51.100.1"
	t.Run("eko: burst, then 429 in each action's shape", func(t *testing.T) {
		for i := range 3 {
			if status, _, body := eko(flooder, cashHook(apptest.Ref(t), agentCode, "100").body(t)); status != http.StatusOK ||
				!strings.Contains(string(body), `"allow":true`) {
				t.Fatalf("request %d within the burst: %d %s", i, status, body)
			}
		}
		status, h, body := eko(flooder, cashHook(apptest.Ref(t), agentCode, "100").body(t))
		var r reply
		_ = json.Unmarshal(body, &r)
		if status != http.StatusTooManyRequests || !r.isRefusal() || !strings.Contains(r.Message, "Too many requests") {
			t.Fatalf("debit-hook over the limit: %d %s, want 429 and allow:false with a message", status, body)
		}
		if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q, want whole seconds", h.Get("Retry-After"))
		}
		status, _, body = eko(flooder, ekoResponse(t, apptest.Ref(t), "0", nil))
		r = reply{}
		_ = json.Unmarshal(body, &r)
		if status != http.StatusTooManyRequests || r.Status != "error" || r.Message == "" || r.Allow != nil {
			t.Fatalf("eko-response over the limit: %d %s, want 429 and the error shape", status, body)
		}
		// A URL beside the callback's shares its limit: a flood gains nothing by a typo.
		if status, _, body := eko(flooder, `{}`); status != http.StatusTooManyRequests {
			t.Fatalf("another request: %d %s", status, body)
		}
		status, _, body = request(t, http.MethodPost, a.URL+callbackPath+"/", map[string]string{"X-Forwarded-For": flooder}, `{}`)
		if status != http.StatusTooManyRequests || !strings.Contains(string(body), `"allow":false`) {
			t.Fatalf("misrouted request over the limit: %d %s", status, body)
		}
	})

	t.Run("eko: storage per client stays bounded", func(t *testing.T) {
		before := metricValue(t, a, `aepsflow_callbacks_refused_total{reason="rate_limit",source="eko",stored="false"}`)
		for range 30 {
			if status, _, _ := eko(flooder, ekoResponse(t, apptest.Ref(t), "0", nil)); status != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429", status)
			}
		}
		if n := stored(flooder); n != 2 {
			t.Errorf("%d refused requests of one client stored, want the bound of 2", n)
		}
		var actions []string
		if err := a.Store.DB().Select(&actions, `SELECT action FROM inbound_requests WHERE outcome = 'rate_limited'
			AND headers->>'X-Forwarded-For' = $1 ORDER BY id`, flooder); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(actions) != "[debit-hook eko-response]" {
			t.Errorf("stored refusals' actions %v", actions)
		}
		after := metricValue(t, a, `aepsflow_callbacks_refused_total{reason="rate_limit",source="eko",stored="false"}`)
		if after-before != 30 {
			t.Errorf("unstored refusals counted %v, want 30", after-before)
		}
		if got := metricValue(t, a, `aepsflow_callbacks_refused_total{reason="rate_limit",source="eko",stored="true"}`); got != 2 {
			t.Errorf("stored refusals counted %v, want 2", got)
		}
		if got := metricValue(t, a, `aepsflow_callbacks_total{action="unknown",outcome="rate_limited",source="eko"}`); got < 30 {
			t.Errorf("callbacks_total counts %v rate-limited, want at least 30", got)
		}
	})

	t.Run("eko: another client is not affected", func(t *testing.T) {
		if status, _, body := eko("198.51.100.2", cashHook(apptest.Ref(t), agentCode, "100").body(t)); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	})

	t.Run("eko: an IPv6 /64 is one client", func(t *testing.T) {
		for i := range 4 {
			status, _, body := eko(fmt.Sprintf("2001:db8:7:9::%x", i+1), cashHook(apptest.Ref(t), agentCode, "100").body(t))
			if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusOK}[i == 3]; status != want {
				t.Fatalf("address %d of the /64: %d %s, want %d", i+1, status, body, want)
			}
		}
	})

	t.Run("partner: burst, then 429 with status 1", func(t *testing.T) {
		const partnerClient = "198.51.100.3"
		for i := range 3 {
			body := string(partnerBody(apptest.Ref(t), partnerTxnID(t), nil))
			status, _, raw := request(t, http.MethodPost, a.URL+"/partner/aeps/callback", map[string]string{
				"Content-Type": "application/json", "client_id": "p1", "client_secret": p1Secret, "X-Forwarded-For": partnerClient}, body)
			var r partnerReply
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("reply %q is not the partner's shape", raw)
			}
			switch {
			case i < 2 && (status != http.StatusOK || r.Status != "0"):
				t.Fatalf("callback %d within the burst: %d %+v", i, status, r)
			case i == 2 && (status != http.StatusTooManyRequests || r.Status != "1" || r.StatusDesc == ""):
				t.Fatalf("callback over the limit: %d %+v, want 429 and status 1", status, r)
			}
		}
		if n := stored(partnerClient); n != 1 {
			t.Errorf("%d refused partner callbacks stored, want 1", n)
		}
		if n := a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE outcome = 'rate_limited' AND source = 'partner'
			AND action = 'post-request' AND headers ? 'client_id' AND NOT headers ? 'client_secret'`); n != 1 {
			t.Errorf("the stored partner refusal: %d rows with the action and client_id but no secret, want 1", n)
		}
	})
}

// TestRateLimitClientAddress: without TRUSTED_PROXIES, X-Forwarded-For is not believed, so a
// client cannot escape its bucket by inventing addresses; and in development the limit is off
// unless asked for.
func TestRateLimitClientAddress(t *testing.T) {
	t.Parallel()
	t.Run("X-Forwarded-For from an untrusted peer", func(t *testing.T) {
		t.Parallel()
		a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
			Env: map[string]string{"CALLBACK_RATE_LIMIT": "1/h", "CALLBACK_RATE_BURST": "2"}})
		for i := range 3 {
			status, _, body := request(t, http.MethodPost, a.URL+callbackPath, map[string]string{
				"Content-Type": "application/json", "X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)}, `{}`)
			if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusBadRequest}[i == 2]; status != want {
				t.Fatalf("request %d: %d %s, want %d", i, status, body, want)
			}
		}
	})
	t.Run("off in development by default", func(t *testing.T) {
		t.Parallel()
		a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
		for i := range 80 {
			if status, _, body := request(t, http.MethodPost, a.URL+callbackPath, map[string]string{"Content-Type": "application/json"}, `{}`); status != http.StatusBadRequest {
				t.Fatalf("request %d: %d %s, want 400 (not limited)", i, status, body)
			}
		}
	})
}
