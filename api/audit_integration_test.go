package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestAuditLog: every agent change made through the API is an audit event naming the operator
// whose token made it, with the agent before and after; refusals leave none; GET /v1/audit reads
// them newest first, filtered and paged, for operators only.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	code := "AUD" + apptest.Ref(t)[:8]
	put := func(token, body string) int {
		status, reply := admin(t, a, http.MethodPut, "/v1/agents/"+code, token, body)
		if status != http.StatusOK && status != http.StatusBadRequest && status != http.StatusUnauthorized {
			t.Fatalf("PUT agent: %d %v", status, reply)
		}
		return status
	}
	if s := put(apptest.AshaToken, `{"name":"Shop 7","daily_cash_count_limit":5}`); s != http.StatusOK {
		t.Fatalf("asha registers: %d", s)
	}
	if s := put(apptest.RaviToken, `{"status":"suspended"}`); s != http.StatusOK {
		t.Fatalf("ravi suspends: %d", s)
	}
	// Refused changes are not actions: no event.
	if s := put(apptest.RaviToken, `{"status":"closed"}`); s != http.StatusBadRequest {
		t.Fatalf("bad status: %d", s)
	}
	if s := put("not-a-token-0123456789", `{"status":"active"}`); s != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", s)
	}

	events := func(token, query string) (int, []map[string]any) {
		t.Helper()
		status, body := admin(t, a, http.MethodGet, "/v1/audit?"+query, token, "")
		var out []map[string]any
		list, _ := body["events"].([]any)
		for _, e := range list {
			out = append(out, e.(map[string]any))
		}
		return status, out
	}
	status, got := events(apptest.AdminToken, "target="+code)
	if status != http.StatusOK || len(got) != 2 {
		t.Fatalf("GET /v1/audit?target=%s: %d %v, want 2 events", code, status, got)
	}
	newest, oldest := got[0], got[1]
	detail := func(e map[string]any, side, field string) string {
		d, _ := e["detail"].(map[string]any)
		s, _ := d[side].(map[string]any)
		if s == nil {
			return "<none>"
		}
		return fmt.Sprint(s[field])
	}
	checks := []struct{ what, got, want string }{
		{"newest operator", fmt.Sprint(newest["operator"]), "ravi"},
		{"newest action", fmt.Sprint(newest["action"]), "agent_change"},
		{"newest before.status", detail(newest, "before", "status"), "active"},
		{"newest after.status", detail(newest, "after", "status"), "suspended"},
		{"newest after.limit", detail(newest, "after", "daily_cash_count_limit"), "5"},
		{"oldest operator", fmt.Sprint(oldest["operator"]), "asha"},
		{"oldest before (new agent)", detail(oldest, "before", "status"), "<none>"},
		{"oldest after.name", detail(oldest, "after", "name"), "Shop 7"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	id := func(e map[string]any) int64 { n, _ := e["id"].(json.Number).Int64(); return n }
	if newest["at"] == nil || id(newest) <= id(oldest) {
		t.Errorf("events not newest first with times: %v", got)
	}

	t.Run("filters and paging", func(t *testing.T) {
		if _, e := events(apptest.RaviToken, "operator=asha&target="+code); len(e) != 1 || e[0]["operator"] != "asha" {
			t.Errorf("operator=asha: %v", e)
		}
		_, page1 := events(apptest.AdminToken, "limit=1&target="+code)
		if len(page1) != 1 || page1[0]["operator"] != "ravi" {
			t.Fatalf("limit=1: %v", page1)
		}
		_, page2 := events(apptest.AdminToken, fmt.Sprintf("limit=1&target=%s&before_id=%d", code, id(page1[0])))
		if len(page2) != 1 || page2[0]["operator"] != "asha" {
			t.Errorf("second page: %v", page2)
		}
		if status, _ := events(apptest.AdminToken, "limit=-1"); status != http.StatusBadRequest {
			t.Errorf("limit=-1: %d, want 400", status)
		}
	})
	t.Run("operators only", func(t *testing.T) {
		for _, token := range []string{"", "not-a-token-0123456789", apptest.AshaToken + "x"} {
			if status, _ := events(token, ""); status != http.StatusUnauthorized {
				t.Errorf("token %q: %d, want 401", token, status)
			}
		}
	})
}
