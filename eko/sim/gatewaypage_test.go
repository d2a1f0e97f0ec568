package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
)

// TestGatewayPageLaunch: the simulated gateway checks a launch as Eko's would (secret_key over
// secret_key_timestamp with the access key, a fresh timestamp, the developer key, the required
// fields) and refuses a bad one with a page that says why.
func TestGatewayPageLaunch(t *testing.T) {
	const key, dev = "page-test-access-key", "page-test-developer-key"
	now := time.Unix(1_800_000_000, 0)
	page := &GatewayPage{AccessKey: key, DeveloperKey: dev, Now: func() time.Time { return now }, Logger: quiet}
	srv := httptest.NewServer(page)
	defer srv.Close()
	form := func(kv ...string) url.Values {
		ts := strconv.FormatInt(now.Add(-10*time.Second).UnixMilli(), 10)
		v := url.Values{"partner_name": {"Shop"}, "initiator_id": {"9000000001"}, "developer_key": {dev},
			"secret_key": {sign.NewSigner(key).SecretKey(ts)}, "secret_key_timestamp": {ts}, "user_code": {"20810200"},
			"environment": {"local"}, "callback_url": {"http://127.0.0.1:8080/eko/aeps/callback"},
			"callback_url_custom_params": {`{"shop":"12"}`}, "callback_url_custom_headers": {`{"X-Platform":"demo"}`}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	old := strconv.FormatInt(now.Add(-10*time.Minute).UnixMilli(), 10)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"a good launch", form(), 200, `data-step="ready"`},
		{"wrong secret_key", form("secret_key", sign.NewSigner("another-key").SecretKey(form().Get("secret_key_timestamp"))), 403, "secret_key does not match"},
		{"stale timestamp", form("secret_key_timestamp", old, "secret_key", sign.NewSigner(key).SecretKey(old)), 403, "away from now"},
		{"wrong developer_key", form("developer_key", "x"), 403, "developer_key is not the one"},
		{"no callback_url", form("callback_url", ""), 403, "callback_url is missing"},
		{"custom headers not JSON", form("callback_url_custom_headers", "X-Platform: demo"), 403, "callback_url_custom_headers: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.PostForm(srv.URL+"/v2/aeps", tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Fatalf("HTTP %d, want %d with %q:\n%s", resp.StatusCode, tt.status, tt.want, b)
			}
			if tt.status == 200 && (strings.Contains(string(b), form().Get("secret_key")) || !strings.Contains(string(b), "X-Platform")) {
				t.Errorf("the page echoes the secret_key or lacks the custom header")
			}
		})
	}
}
