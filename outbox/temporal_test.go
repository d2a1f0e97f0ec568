package outbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/searchattr"
	"github.com/aepsflow/aepsflow/txstate"
	"github.com/aepsflow/aepsflow/workflows"
)

// TestOptionsOperatorView: every start (the debit-hook's, or the relay's SignalWithStart) carries
// the summary and details the Web UI shows first.
func TestOptionsOperatorView(t *testing.T) {
	in := workflows.Input{Provider: txstate.ProviderEko, ClientRefID: "77001", ProviderRef: "77001", TxType: "cash_withdrawal",
		AgentUserCode: "20810200", Amount: "500", CreatedAt: time.Now(), Customer: "XXXXXX9999", APIURL: "http://127.0.0.1:8080"}
	o := Options("aeps/eko/77001", "q", in)
	if o.StaticSummary != "Cash withdrawal Rs 500 · agent 20810200 · eko" {
		t.Errorf("StaticSummary = %q", o.StaticSummary)
	}
	if !strings.Contains(o.StaticDetails, "XXXXXX9999") || !strings.Contains(o.StaticDetails, "http://127.0.0.1:8080/v1/transactions/77001") {
		t.Errorf("StaticDetails = %q", o.StaticDetails)
	}
	sa := o.TypedSearchAttributes
	if v, ok := sa.GetFloat64(searchattr.Key.TxAmount); !ok || v != 500 {
		t.Errorf("TxAmount = %v, %v", v, ok)
	}
	if v, ok := sa.GetBool(searchattr.Key.TxFlagged); !ok || v {
		t.Errorf("TxFlagged = %v, %v; want false at start", v, ok)
	}
	if v, _ := sa.GetKeyword(searchattr.Key.TxState); v != string(txstate.Pending) {
		t.Errorf("TxState = %q", v)
	}
	in.TxType, in.Amount = "balance_inquiry", ""
	if _, ok := Options("w", "q", in).TypedSearchAttributes.GetFloat64(searchattr.Key.TxAmount); ok {
		t.Error("TxAmount set for a transaction without an amount")
	}
}

// TestPayloadDecodesOldEntries: outbox entries written before durations were strings still decode.
func TestPayloadDecodesOldEntries(t *testing.T) {
	old := `{"input":{"provider":"eko","client_ref_id":"1","policy":{"response_timeout":300000000000,"inquiry_deadline":432000000000000}}}`
	var p payload
	if err := json.Unmarshal([]byte(old), &p); err != nil {
		t.Fatal(err)
	}
	if p.Input.Policy.ResponseTimeout != 5*time.Minute || p.Input.Policy.InquiryDeadline != 120*time.Hour {
		t.Errorf("policy %+v", p.Input.Policy)
	}
	e, err := StartEntry("w", p.Input)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.Payload), `"response_timeout":"5m"`) {
		t.Errorf("new entry %s", e.Payload)
	}
}
