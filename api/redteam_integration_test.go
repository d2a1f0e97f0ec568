package api_test

// Regression tests for holes found by the red-team review of issue 10.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestEarlyEkoResponseDoesNotBlockTheRepeat: a forged eko-response sent before any debit-hook
// must never block the reference, and that includes the genuine debit-hook's repeat (a retry
// of a lost reply): it gets the first confirmation again. Only an eko-response that came after
// the allow (linked to the transaction) ends the repeats.
func TestEarlyEkoResponseDoesNotBlockTheRepeat(t *testing.T) {
	t.Parallel()
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own client_ref_id %v", own), func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if own {
				env["CLIENT_REF_ID_SOURCE"] = "own"
			}
			a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: env})
			a.RegisterAgent(agentCode, nil, nil)
			ref := apptest.Ref(t)
			for _, status := range []string{"0", "1"} { // two different forgeries
				if code, r := post(t, a, ekoResponse(t, ref, status, nil)); code != http.StatusOK || r.Status != "ok" {
					t.Fatalf("early eko-response: %d %+v", code, r)
				}
			}
			h := cashHook(ref, agentCode, "100")
			code, first := post(t, a, h.body(t))
			if code != http.StatusOK || !first.allowed() {
				t.Fatalf("genuine debit-hook: %d %+v", code, first)
			}
			waitFor(t, 5*time.Second, "the clock to move past the first allow", func() (bool, error) {
				return fmt.Sprint(time.Now().UnixMilli()) > first.SecretKeyTimestamp, nil
			})
			code, again := post(t, a, h.body(t))
			if code != http.StatusOK || !sameReply(again, first) {
				t.Fatalf("repeat after a forged early eko-response: %d %+v\nwant the first confirmation %+v", code, again, first)
			}
			checkSignsBooked(t, again, bookedRow(t, a, "provider_ref = $1", ref))

			// The genuine report, after the allow, ends the repeats.
			ours := ref
			if own {
				ours = first.ClientRefID
			}
			if code, r := post(t, a, ekoResponse(t, ours, "0", map[string]any{"reason": "genuine"})); code != http.StatusOK {
				t.Fatalf("eko-response: %d %+v", code, r)
			}
			if code, after := post(t, a, h.body(t)); code != http.StatusOK || !after.isRefusal() {
				t.Fatalf("repeat after the genuine eko-response: %d %+v, want refused", code, after)
			}
		})
	}
}
