package api_test

import (
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
)

// TestPartnerAmountMismatch (issue 10, finding 3, partner side): a partner's later report for the
// same transaction with another txnAmount parks the transaction in needs_review with both
// amounts in the reason, instead of leaving it waiting; the same amount spelt otherwise
// ("2000.00" for "2000") is the same amount and settles it.
func TestPartnerAmountMismatch(t *testing.T) {
	a := startPartnerApp(t, map[string]string{"PARTNER_UNKNOWN_REVIEW_AFTER": "10m"}, apptest.Options{})
	tests := []struct {
		name       string
		amount     string // the second report's txnAmount (JSON)
		wantState  txstate.State
		wantReason []string
	}{
		{"another amount", `"9000"`, "needs_review", []string{`txnAmount "9000"`, `earlier report gave "2000"`}},
		{"a paisa more", `"2000.01"`, "needs_review", []string{`"2000.01"`, `"2000"`}},
		{"the same amount spelt otherwise", `"2000.00"`, "success", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := apptest.Ref(t)
			partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), map[string]string{"status": `"DEBIT TIMEOUT"`}))
			a.WaitTxState(t, "partner:p1", ref, "unknown")
			partnerAccept(t, a, asP1, partnerBody(ref, partnerTxnID(t), map[string]string{"txnAmount": tc.amount,
				"updatedDate": `"2022-11-02 12:20:00"`}))
			a.WaitTxState(t, "partner:p1", ref, tc.wantState)
			v := partnerReadTransaction(t, a, ref, "partner:p1")
			for _, w := range tc.wantReason {
				if !strings.Contains(v.StateReason, w) {
					t.Errorf("state_reason %q lacks %q", v.StateReason, w)
				}
			}
		})
	}
}
