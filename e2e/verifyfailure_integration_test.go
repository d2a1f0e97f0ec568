package e2e_test

import (
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
)

// TestReportedFailureIsVerified: a cash withdrawal reported failed (1) or refunded (4) by the
// agent's browser is final only once Eko's Transaction Inquiry agrees (VERIFY_FAILURE, on by
// default): a forged report would otherwise free the agent's daily limit and book a withdrawal
// that paid out as no money moved.
func TestReportedFailureIsVerified(t *testing.T) {
	t.Parallel()
	s := start(t, "v3")
	for _, tt := range []struct {
		name, report, eko string
		wantState         txstate.State
		wantReason        string
	}{
		{"failure confirmed", "1", "1", "failed", "Transaction Inquiry reports tx_status 1"},
		{"refund confirmed", "4", "4", "reversed", "Transaction Inquiry reports tx_status 4"},
		{"forged failure of a success", "1", "0", "needs_review", "eko-response reported tx_status 1, but Transaction Inquiry reports 0"},
		{"forged refund of a success", "4", "0", "needs_review", "eko-response reported tx_status 4, but Transaction Inquiry reports 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref := apptest.Ref(t)
			s.script(t, ref, tt.eko)
			s.debitHook(t, ref)
			s.ekoResponse(t, ref, tt.report)
			v := s.waitState(t, ref, tt.wantState)
			mustContain(t, "state_reason", v.StateReason, tt.wantReason)
			if !v.hasEvent("state_changed", "inquiry") || !v.hasEvent("inquiry", "") || s.sim.Calls(ref) < 1 {
				t.Fatalf("the report was not verified with Eko: %s", v.raw)
			}
			s.waitSearch(t, ref, tt.wantState)
		})
	}
}
