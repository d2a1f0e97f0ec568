package e2e_test

import (
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
)

// TestInquiryAmountIsChecked (issue 10, finding 3): a cash withdrawal allowed for Rs 100 that Eko's
// Transaction Inquiry reports successful (or refunded) for another amount (a gateway made to
// withdraw Rs 10,000) is not a success: it goes to needs_review with both amounts in the reason.
// The same amount as Eko writes it ("100.00") is a success. Either way Eko's tid and bank
// reference number from the inquiry are kept on the transaction.
func TestInquiryAmountIsChecked(t *testing.T) {
	t.Parallel()
	s := start(t, "v3", map[string]string{"VERIFY_FAILURE": "true"})
	tests := []struct {
		name       string
		report     string // eko-response tx_status, and the inquiry's
		ekoAmount  string // what Eko's inquiry reports
		wantState  txstate.State
		wantReason []string
	}{
		{"success for Rs 10,000", "0", "10000.0", "needs_review", []string{`"10000.0"`, `allowed for "100"`}},
		{"refund for Rs 10,000", "4", "10000", "needs_review", []string{"tx_status 4", `"10000"`, `"100"`}},
		{"success without an amount", "0", "", "needs_review", []string{"no amount"}},
		{"success for the amount allowed", "0", "100.00", "success", []string{"confirmed by Transaction Inquiry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := apptest.Ref(t)
			s.debitHook(t, ref) // Rs 100
			s.sim.SetAmount(ref, tc.ekoAmount)
			s.script(t, ref, tc.report)
			s.ekoResponse(t, ref, tc.report)
			v := s.waitState(t, ref, tc.wantState)
			mustContain(t, "state_reason", v.StateReason, tc.wantReason...)
			detail, ok := v.event("inquiry")
			if !ok || detail["tid"] == "" || detail["bank_ref_num"] == nil {
				t.Fatalf("no inquiry with Eko's references in the history: %s", v.raw)
			}
			if v.EkoTID != detail["tid"] || v.EkoTID == "" {
				t.Fatalf("transaction eko_tid %q, want the inquiry's tid %v: %s", v.EkoTID, detail["tid"], v.raw)
			}
			if tc.report == "0" && (v.BankRefNum == "" || v.BankRefNum != detail["bank_ref_num"]) {
				t.Fatalf("transaction bank_ref_num %q, want the inquiry's %v", v.BankRefNum, detail["bank_ref_num"])
			}
		})
	}
}
