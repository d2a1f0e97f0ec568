package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// aadhaarNo is a full Aadhaar number (Verhoeff check digit valid), written bare.
const aadhaarNo = "735192468010"

// TestEarlyEkoResponseNeverCountsOrBlocks (issue 10, finding 4, eko-response side): an
// eko-response for a reference with no debit-hook yet is kept and flagged. It does not block the
// genuine debit-hook that comes later, it is not linked to the transaction that debit-hook
// creates, nothing is signalled with it, and the genuine report with the very same content is
// recorded and delivered as the transaction's outcome (not as a repeat of the forged one).
func TestEarlyEkoResponseNeverCountsOrBlocks(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Inquirer: pendingInquirer{}, Env: map[string]string{"VERIFY_SUCCESS": "true"}})
	a.RegisterAgent(agentCode, nil, nil)
	ref := apptest.Ref(t)
	wfID := workflows.WorkflowID(txstate.ProviderEko, ref)
	a.TerminateAtEnd(t, wfID)
	report := ekoResponse(t, ref, "0", nil)

	if status, r := post(t, a, report); status != http.StatusOK || r.Status != "ok" {
		t.Fatalf("early eko-response: %d %+v", status, r)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE client_ref_id = $1 AND unknown_reference
		AND transaction_id IS NULL`, ref); n != 1 {
		t.Fatalf("%d early eko-responses kept as unknown_reference, want 1", n)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM inbound_requests WHERE reference = $1 AND outcome = 'unknown_reference'`, ref); n != 1 {
		t.Fatalf("early eko-response flagged %d times, want 1", n)
	}

	// The genuine debit-hook is decided on its own merits.
	if status, r := post(t, a, cashHook(ref, agentCode, "100").body(t)); status != http.StatusOK || !r.allowed() {
		t.Fatalf("debit-hook after an early eko-response: %d %+v, want allowed", status, r)
	}
	tx := mustTx(t, a, ref)
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id = $1`, tx.ID); n != 0 {
		t.Fatalf("%d eko-responses linked to the new transaction, want none: the early one predates it", n)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM outbox WHERE workflow_id = $1 AND kind = 'signal'`, wfID); n != 0 {
		t.Fatalf("%d signals queued, want none before a genuine report", n)
	}

	// The genuine report, byte for byte the forged one, is the transaction's first report.
	if status, r := post(t, a, report); status != http.StatusOK || r.Status != "ok" {
		t.Fatalf("genuine eko-response: %d %+v", status, r)
	}
	if n := a.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE transaction_id = $1 AND signalled`, tx.ID); n != 1 {
		t.Fatalf("%d signalled eko-responses of the transaction, want the genuine one", n)
	}
	a.WaitTxState(t, txstate.ProviderEko, ref, txstate.Inquiry) // tx_status 0: verifying
	if n := signalsReceived(t, a, wfID); n != 1 {
		t.Fatalf("workflow received %d signals, want 1", n)
	}
}

// TestEkoResponseFreeTextMasked (issue 10, finding 6, eko-response side): an Aadhaar number in
// an eko-response's free text (message, reason, any other text field) is stored masked in
// eko_responses and the transaction's history, and reaches neither the outbox nor Temporal;
// the references (tid, bank_ref_num) stay exact even when they are 12 digits.
func TestEkoResponseFreeTextMasked(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Inquirer: pendingInquirer{}})
	a.RegisterAgent(agentCode, nil, nil)
	ref, wfID := a.CashWithdrawal(t, agentCode, "100")
	const rrn = "735192468010" // an RRN that happens to pass Aadhaar's check: a reference, kept
	body := ekoResponse(t, ref, "2", map[string]any{
		"reason": "Aadhaar " + aadhaarNo + " not seeded", "sender_name": "UID" + aadhaarNo,
		"merchantname": "shop " + aadhaarNo, "bank_ref_num": rrn, "tid": "2881234567",
	})
	body = strings.Replace(body, `"message":"Transaction successful"`, `"message":"Customer `+aadhaarNo+` refused"`, 1)
	if status, r := post(t, a, body); status != http.StatusOK || r.Status != "ok" {
		t.Fatalf("eko-response: %d %+v", status, r)
	}
	a.WaitTxState(t, txstate.ProviderEko, ref, txstate.Inquiry)
	tx := mustTx(t, a, ref)

	var row struct {
		Message    string `db:"message"`
		TID        string `db:"tid"`
		BankRefNum string `db:"bank_ref_num"`
		Response   string `db:"response"`
	}
	if err := a.Store.DB().Get(&row, `SELECT message, tid, bank_ref_num, response::text AS response FROM eko_responses
		WHERE transaction_id = $1`, tx.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row.Message, aadhaarNo) || !strings.Contains(row.Message, "XXXXXXXX8010") {
		t.Errorf("message stored as %q, want the number masked", row.Message)
	}
	// The document: free text masked; bank_ref_num, the one place the digits may stand, exact.
	if strings.Count(row.Response, aadhaarNo) != 1 || !strings.Contains(row.Response, `"bank_ref_num": "`+rrn+`"`) {
		t.Errorf("response document %s: want the number only as bank_ref_num", row.Response)
	}
	if row.TID != "2881234567" || row.BankRefNum != rrn {
		t.Errorf("references tid %q bank_ref_num %q, want them exact", row.TID, row.BankRefNum)
	}
	for what, q := range map[string]string{
		"history":     `SELECT count(*) FROM tx_events WHERE transaction_id = $1 AND detail::text LIKE '%' || $2 || '%'`,
		"outbox":      `SELECT count(*) FROM outbox o JOIN transactions t ON t.workflow_id = o.workflow_id WHERE t.id = $1 AND o.payload::text LIKE '%' || $2 || '%'`,
		"flag reason": `SELECT count(*) FROM transactions WHERE id = $1 AND (flag_reason || state_reason) LIKE '%' || $2 || '%'`,
	} {
		if n := a.QueryInt(t, q, tx.ID, aadhaarNo); n != 0 {
			t.Errorf("%s holds the Aadhaar number %d times", what, n)
		}
	}
	if n := historyMentions(t, a, wfID, aadhaarNo); n != 0 {
		t.Errorf("the workflow's Temporal history holds the number %d times", n)
	}
}
