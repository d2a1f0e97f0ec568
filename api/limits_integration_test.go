package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestConcurrentDebitHooksAgainstLimits: 20 simultaneous withdrawals by one agent are decided one
// at a time against the agent's daily limits; exactly as many as fit are confirmed.
func TestConcurrentDebitHooksAgainstLimits(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	count, amount := 5, "1000"
	a.RegisterAgent("30000001", &count, nil)
	a.RegisterAgent("30000002", nil, &amount)

	tests := []struct {
		name        string
		agent       string
		wantAllowed int
		wantMessage string
		wantDetail  string
	}{
		{"count limit 5", "30000001", 5, "over the agent's daily limit", "daily_count_limit"},
		{"amount limit 1000 in 100s", "30000002", 10, "over the agent's daily limit", "daily_amount_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20
			type result struct {
				status int
				r      reply
			}
			results := make([]result, n)
			refs := make([]string, n)
			for i := range refs {
				refs[i] = apptest.Ref(t)
			}
			bodies := make([]string, n)
			for i := range bodies {
				bodies[i] = cashHook(refs[i], tt.agent, "100").body(t)
			}
			var start, done sync.WaitGroup
			start.Add(1)
			for i := range n {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					status, r, _ := send(t, a, "application/json", bodies[i])
					results[i] = result{status, r}
				}()
			}
			start.Done()
			done.Wait()

			allowed, refused := 0, 0
			for i, res := range results {
				switch {
				case res.status == http.StatusOK && res.r.allowed():
					allowed++
				case res.status == http.StatusOK && res.r.isRefusal() && strings.Contains(res.r.Message, tt.wantMessage):
					refused++
				default:
					t.Errorf("request %d: status %d reply %+v", i, res.status, res.r)
				}
			}
			if allowed != tt.wantAllowed || refused != n-tt.wantAllowed {
				t.Fatalf("%d allowed, %d refused; want %d and %d", allowed, refused, tt.wantAllowed, n-tt.wantAllowed)
			}
			if got := a.QueryInt(t, `SELECT count(*) FROM transactions WHERE agent_user_code = $1`, tt.agent); got != tt.wantAllowed {
				t.Errorf("%d transactions in PostgreSQL, want %d", got, tt.wantAllowed)
			}
			if got := a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE reference = ANY($1) AND outcome = 'refused' AND outcome_detail LIKE $2`,
				pqArray(refs), tt.wantDetail+":%"); got != n-tt.wantAllowed {
				t.Errorf("%d refusals recorded, want %d", got, n-tt.wantAllowed)
			}
		})
	}
}
