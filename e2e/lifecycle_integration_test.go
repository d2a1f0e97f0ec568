package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/eko/sim"
)

// TestLifecycle runs every lifecycle path against one system (v3 Transaction Inquiry), in
// parallel: each path has its own client_ref_id and inquiry script.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	s := start(t, "v3")

	t.Run("SuccessVerifiedByInquiry", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "0")
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		v := s.waitState(t, ref, "success")
		mustContain(t, "state_reason", v.StateReason, "Transaction Inquiry")
		if n := s.sim.Calls(ref); n < 1 {
			t.Fatalf("inquiry calls = %d, want at least 1: success must be verified", n)
		}
		if !v.hasEvent("inquiry", "") || !v.hasEvent("state_changed", "inquiry") {
			t.Fatalf("history lacks the verifying inquiry: %s", v.raw)
		}
		if c := s.sim.State(ref).Log[0]; c.Version != "v3" || c.UserCode != agent || c.InitiatorID != initiatorID {
			t.Fatalf("inquiry request = %+v", c)
		}
		s.waitSearch(t, ref, "success")
	})

	t.Run("NoCallbackInquiryAfterResponseTimeout", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "0")
		s.debitHook(t, ref) // the agent closed the page: no eko-response ever comes
		v := s.waitState(t, ref, "success")
		if !v.hasEvent("state_changed", "inquiry") {
			t.Fatalf("no move to inquiry: %s", v.raw)
		}
		if len(v.EkoResponses) != 0 || s.sim.Calls(ref) < 1 {
			t.Fatalf("eko-responses %d, inquiry calls %d", len(v.EkoResponses), s.sim.Calls(ref))
		}
		for _, e := range v.Events {
			if e.Kind == "state_changed" && e.To == "inquiry" {
				mustContain(t, "reason for inquiry", fmt.Sprint(e.Detail["reason"]), "no eko-response within 2s")
			}
		}
		s.waitSearch(t, ref, "success")
	})

	t.Run("PendingThenInquiryPendingThenFailed", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "2x3,1")
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "2")
		v := s.waitState(t, ref, "failed")
		mustContain(t, "state_reason", v.StateReason, "tx_status 1")
		if n := s.sim.Calls(ref); n < 4 {
			t.Fatalf("inquiry calls = %d, want at least 4 (3 pending, then the failure)", n)
		}
		s.waitSearch(t, ref, "failed")
	})

	t.Run("ReportedSuccessInquiryFailedNeedsReview", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "1")
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		v := s.waitState(t, ref, "needs_review")
		// Both versions of the truth are in the reason, for the operator who must decide.
		mustContain(t, "state_reason", v.StateReason, "tx_status 0", "reports 1")
		if v.Workflow.State.State != "needs_review" || v.Workflow.State.ClaimedTxStatus != "0" || v.Workflow.State.InquiryTxStatus != "1" {
			t.Fatalf("workflow view = %+v (error %q)", v.Workflow.State, v.Workflow.Error)
		}
		s.waitSearch(t, ref, "needs_review")
	})

	t.Run("SuspiciousTxStatusNeedsReview", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "7")
		v := s.waitState(t, ref, "needs_review")
		mustContain(t, "state_reason", v.StateReason, `"7"`)
		s.waitSearch(t, ref, "needs_review")
	})

	t.Run("RefundPendingThenRefundedReversed", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "3x1,4")
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "3")
		v := s.waitState(t, ref, "reversed")
		if !v.hasEvent("state_changed", "reversal_pending") {
			t.Fatalf("never reversal_pending: %s", v.raw)
		}
		if n := s.sim.Calls(ref); n < 2 {
			t.Fatalf("inquiry calls = %d, want at least 2 (3, then 4)", n)
		}
		s.waitSearch(t, ref, "reversed")
	})

	t.Run("UnknownToEkoPastGraceExpired", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t) // never scripted: Eko answers "not found" every time
		s.debitHook(t, ref)
		v := s.waitState(t, ref, "expired")
		mustContain(t, "state_reason", v.StateReason, "Eko does not know this transaction")
		if n := s.sim.Calls(ref); n < 2 {
			t.Fatalf("inquiry calls = %d, want several within the grace period", n)
		}
		s.waitSearch(t, ref, "expired")
	})

	t.Run("NeedsReviewResolvedByOperator", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "7")
		s.waitState(t, ref, "needs_review")
		s.waitSearch(t, ref, "needs_review")

		code, body := s.admin(t, http.MethodPost, "/v1/transactions/"+ref+"/resolve",
			map[string]string{"state": "success", "reason": "Eko support confirmed the debit"})
		if code != http.StatusAccepted {
			t.Fatalf("resolve: HTTP %d: %s", code, body)
		}
		v := s.waitState(t, ref, "success")
		// Who resolved is the operator the token names (ADMIN_TOKEN's is "admin").
		mustContain(t, "state_reason", v.StateReason, "admin", "Eko support confirmed the debit")
		d, ok := v.event("resolved")
		if !ok || d["by"] != "admin" || d["reason"] != "Eko support confirmed the debit" {
			t.Fatalf("resolved event = %v (found %v): %s", d, ok, v.raw)
		}
		s.waitSearch(t, ref, "success")
	})

	t.Run("LateContradictingEkoResponseFlagged", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "0")
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		s.waitState(t, ref, "success")

		late := s.ekoResponse(t, ref, "1")
		// The reply is neutral (a stranger learns nothing); the read API below says what it was.
		if late.Outcome != "recorded" {
			t.Fatalf("late eko-response outcome = %q, want recorded (%s)", late.Outcome, late.Reply)
		}
		v, err := s.read(t, ref)
		if err != nil {
			t.Fatal(err)
		}
		if v.State != "success" || !v.Flagged {
			t.Fatalf("state %s flagged %v, want success and flagged: %s", v.State, v.Flagged, v.raw)
		}
		mustContain(t, "flag_reason", v.FlagReason, "failed", "success")
		if !v.hasEvent("late_eko_response", "") {
			t.Fatalf("no late_eko_response event: %s", v.raw)
		}
	})

	t.Run("InquiryServerErrorsRetriedThenSuccess", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "http500x1,garbagex1,0") // a 500 and a proxy's page are retried
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		s.waitState(t, ref, "success")
		if n := s.sim.Calls(ref); n < 3 {
			t.Fatalf("inquiry calls = %d, want at least 3", n)
		}
	})

	t.Run("InquiryForbiddenNeedsReview", func(t *testing.T) {
		t.Parallel()
		ref := apptest.Ref(t)
		s.script(t, ref, "http403") // Eko refusing our signature does not heal by retrying
		s.debitHook(t, ref)
		s.ekoResponse(t, ref, "0")
		v := s.waitState(t, ref, "needs_review")
		mustContain(t, "state_reason", v.StateReason, "Transaction Inquiry failed")
		s.waitSearch(t, ref, "needs_review")
	})
}

// With CLIENT_REF_ID_SOURCE=own the debit-hook reply carries the service's own reference, Eko
// uses it from then on (eko-response, inquiry), and the transaction is found under both.
func TestLifecycleOwnClientRefID(t *testing.T) {
	t.Parallel()
	s := start(t, "v3", map[string]string{"CLIENT_REF_ID_SOURCE": "own"})
	ekoRef := apptest.Ref(t)
	res, err := s.gw.DebitHook(context.Background(), sim.DebitHookRequest{
		ClientRefID: ekoRef, Type: "2", CustomerID: customer, UserCode: agent, Amount: "100", BankCode: "PUNB",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified() || !res.OwnRef || res.ClientRefID == ekoRef {
		t.Fatalf("debit-hook: verified %v own %v ref %q: %s", res.Verified(), res.OwnRef, res.ClientRefID, res.Mismatch)
	}
	own := res.ClientRefID
	s.script(t, own, "0")
	s.sim.SetAmount(own, "100")
	s.ekoResponse(t, own, "0")
	v := s.waitState(t, own, "success")
	if v.ClientRefID != own || s.sim.Calls(own) < 1 || s.sim.Calls(ekoRef) != 0 {
		t.Fatalf("client_ref_id %q, inquiries under own %d / Eko's %d", v.ClientRefID, s.sim.Calls(own), s.sim.Calls(ekoRef))
	}
	if byEko, err := s.read(t, ekoRef); err != nil || byEko.ClientRefID != own {
		t.Fatalf("lookup by Eko's reference: %+v, %v", byEko.ClientRefID, err)
	}
	s.waitSearch(t, own, "success")
}

// TestLifecycleInquiryV1 runs the service with the older v1 Transaction Inquiry API.
func TestLifecycleInquiryV1(t *testing.T) {
	t.Parallel()
	s := start(t, "v1")
	ref := apptest.Ref(t)
	s.script(t, ref, "2x1,0")
	s.debitHook(t, ref)
	s.ekoResponse(t, ref, "2")
	v := s.waitState(t, ref, "success")
	mustContain(t, "state_reason", v.StateReason, "Transaction Inquiry")
	log := s.sim.State(ref).Log
	if len(log) < 2 {
		t.Fatalf("inquiry calls = %d, want at least 2", len(log))
	}
	for _, c := range log {
		if c.Version != "v1" || c.HTTPStatus != http.StatusOK || c.InitiatorID != initiatorID {
			t.Fatalf("inquiry request = %+v, want an authenticated v1 call", c)
		}
	}
	s.waitSearch(t, ref, "success")
}
