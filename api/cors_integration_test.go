package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// headerList splits a comma-separated header (every occurrence) into trimmed, lower-cased items.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, item := range strings.Split(v, ",") {
			if item = strings.ToLower(strings.TrimSpace(item)); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func preflight(t *testing.T, a *apptest.App, origin, reqHeaders string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, a.URL+callbackPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", reqHeaders)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCORS: the gateway page's origin gets exactly the grant Eko's guide lists (docs/eko-aeps.md#cors) (plus the configured
// custom header); any other origin gets none, and its POST is refused in the protocol's shape and
// still stored.
func TestCORS(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true,
		Env: map[string]string{"EKO_ALLOWED_HEADERS": "X-Agent-Session"}})
	a.RegisterAgent(agentCode, nil, nil)

	t.Run("preflight from the gateway origin", func(t *testing.T) {
		resp := preflight(t, a, uatOrigin, "content-type,x-agent-session")
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != uatOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want exactly %q", got, uatOrigin)
		}
		if got := headerList(resp.Header, "Access-Control-Allow-Methods"); !slices.Contains(got, "post") || !slices.Contains(got, "options") {
			t.Errorf("Access-Control-Allow-Methods = %q, want POST and OPTIONS", got)
		}
		if got := headerList(resp.Header, "Access-Control-Allow-Headers"); !slices.Contains(got, "content-type") || !slices.Contains(got, "x-agent-session") {
			t.Errorf("Access-Control-Allow-Headers = %q, want Content-Type and X-Agent-Session", got)
		}
		if got := headerList(resp.Header, "Vary"); !slices.Contains(got, "origin") {
			t.Errorf("Vary = %q, want Origin", got)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials must not be allowed")
		}
	})

	t.Run("preflight from an unknown origin", func(t *testing.T) {
		resp := preflight(t, a, "https://evil.example", "content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("unknown origin granted: Access-Control-Allow-Origin = %q", got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "" {
			t.Errorf("unknown origin got Access-Control-Allow-Methods %q", got)
		}
	})

	t.Run("POST from the gateway origin", func(t *testing.T) {
		ref := apptest.Ref(t)
		status, r, h := send(t, a, "application/json", cashHook(ref, agentCode, "100").body(t), "Origin", uatOrigin, "X-Agent-Session", "sess-1")
		if status != http.StatusOK || !r.allowed() {
			t.Fatalf("status %d, reply %+v", status, r)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != uatOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, uatOrigin)
		}
		if got := headerList(h, "Vary"); !slices.Contains(got, "origin") {
			t.Errorf("Vary = %q, want Origin", got)
		}
		// The configured custom header is kept with the stored request.
		rows := inboundByReference(t, a, ref)
		if len(rows) != 1 || !strings.Contains(string(rows[0].Headers), "sess-1") || !strings.Contains(string(rows[0].Headers), uatOrigin) {
			t.Errorf("stored headers = %s", rows[0].Headers)
		}
	})

	t.Run("POST from an unknown origin is refused and stored", func(t *testing.T) {
		ref := apptest.Ref(t)
		status, r, h := send(t, a, "application/json", cashHook(ref, agentCode, "100").body(t), "Origin", "https://evil.example")
		if !r.isRefusal() {
			t.Fatalf("reply %+v is not a refusal", r)
		}
		if status < 400 {
			t.Errorf("status %d, want a 4xx", status)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q on a refused origin", got)
		}
		rows := inboundByMarker(t, a, ref)
		if rows.Outcome != "origin_refused" || !strings.Contains(rows.OutcomeDetail, "https://evil.example") || rows.HTTPStatus != status {
			t.Errorf("stored %+v", rows)
		}
		if _, ok := findTx(t, a, ref); ok {
			t.Error("a transaction was created from a refused origin")
		}
	})

	t.Run("POST without an origin (not a browser) is served", func(t *testing.T) {
		status, r := post(t, a, cashHook(apptest.Ref(t), agentCode, "100").body(t))
		if status != http.StatusOK || !r.allowed() {
			t.Fatalf("status %d, reply %+v", status, r)
		}
	})
}
