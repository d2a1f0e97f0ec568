package e2e_test

import (
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
)

// TestOnlyDocumentedNotFoundExpires (issue 10, "not found"): only Eko's documented reply (status 1,
// response_status_id 463) means Eko does not know the reference, so that after the grace the
// transaction expired (no money moved). Any other error reply, such as -1, is retried until the
// deadline and then needs a person: it cannot prove that no money moved.
func TestOnlyDocumentedNotFoundExpires(t *testing.T) {
	t.Parallel()
	s := start(t, "v3", map[string]string{"INQUIRY_NOT_FOUND_GRACE": "1s", "INQUIRY_DEADLINE": "8s"})
	tests := []struct {
		name       string
		steps      string
		wantState  txstate.State
		wantReason []string
	}{
		{"463 is not found", "notfound", txstate.Expired, []string{"does not know"}},
		{"-1 is retried until the deadline", "err-1", txstate.NeedsReview, []string{"Transaction Inquiry", "response_status_id -1"}},
		{"-1, then found", "err-1x3,0", txstate.Success, []string{"confirmed by Transaction Inquiry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := apptest.Ref(t)
			s.script(t, ref, tc.steps)
			s.debitHook(t, ref) // no eko-response: inquiries begin after EKO_RESPONSE_TIMEOUT
			v := s.waitState(t, ref, tc.wantState)
			mustContain(t, "state_reason", v.StateReason, tc.wantReason...)
		})
	}
}
