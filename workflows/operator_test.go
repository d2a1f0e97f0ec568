package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

func opInput(mod func(*Input)) Input {
	in := Input{Provider: txstate.ProviderEko, ClientRefID: "77001", ProviderRef: "77001", TxType: "cash_withdrawal",
		AgentUserCode: "20810200", Amount: "500", CreatedAt: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC),
		Customer: "XXXXXX9999", APIURL: "http://127.0.0.1:8080"}
	if mod != nil {
		mod(&in)
	}
	return in
}

func TestSummary(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Input
		want string
	}{
		{"cash withdrawal", opInput(nil), "Cash withdrawal Rs 500 · agent 20810200 · eko"},
		{"balance inquiry has no amount", opInput(func(in *Input) { in.TxType, in.Amount = "balance_inquiry", "0" }),
			"Balance inquiry · agent 20810200 · eko"},
		{"mini statement without amount", opInput(func(in *Input) { in.TxType, in.Amount = "mini_statement", "" }),
			"Mini statement · agent 20810200 · eko"},
		{"partner, decimals kept exact", opInput(func(in *Input) { in.Provider, in.Amount, in.AgentUserCode = "partner:p1", "2000.50", "Sagarika" }),
			"Cash withdrawal Rs 2000.50 · agent Sagarika · partner:p1"},
		{"request text stays on one line", opInput(func(in *Input) { in.AgentUserCode = "a\nb\tc" }),
			"Cash withdrawal Rs 500 · agent a b c · eko"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.in.Summary(); got != c.want {
				t.Errorf("Summary() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDetails(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      Input
		want    []string
		notWant []string
	}{
		{"eko", opInput(nil), []string{
			"- **Reference:** `77001`\n", "- **Provider:** `eko`\n", "- **Type:** Cash withdrawal (`cash_withdrawal`)\n",
			"- **Amount:** Rs `500`\n", "- **Agent:** `20810200`\n", "- **Customer:** `XXXXXX9999`\n",
			"- **Created:** 2026-12-06 03:00:00 UTC\n",
			"- **Read API:** [GET /v1/transactions/77001](http://127.0.0.1:8080/v1/transactions/77001)",
		}, []string{"Provider's reference"}},
		{"our own reference", opInput(func(in *Input) { in.ClientRefID = "AFABC" }), []string{
			"- **Reference:** `AFABC`\n", "- **Provider's reference:** `77001`\n"}, nil},
		{"partner link names the provider", opInput(func(in *Input) { in.Provider = "partner:p1" }), []string{
			"(http://127.0.0.1:8080/v1/transactions/77001?provider=partner%3Ap1)"}, nil},
		{"no public URL: the path", opInput(func(in *Input) { in.APIURL = "" }), []string{
			"- **Read API:** `GET /v1/transactions/77001`"}, []string{"]("}},
		{"request text cannot break the markup", opInput(func(in *Input) { in.AgentUserCode = "x`](javascript:1)\n# h" }), []string{
			"- **Agent:** `x'](javascript:1) # h`\n"}, []string{"\n# h"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.Details()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("Details() lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("Details() holds %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestResolveCommands(t *testing.T) {
	got := opInput(func(in *Input) { in.Provider = "partner:p1" }).ResolveCommands()
	want := `AEPSFLOW_TOKEN=<your operator token> aepsflow resolve --api http://127.0.0.1:8080 \
  --client-ref-id 77001 --provider partner:p1 \
  --state success|failed --reason '<what you checked>'
curl -X POST http://127.0.0.1:8080/v1/transactions/77001/resolve?provider=partner%3Ap1 \
  -H "Authorization: Bearer $AEPSFLOW_TOKEN" -H 'Content-Type: application/json' \
  -d '{"state":"failed","reason":"<what you checked>"}'`
	if got != want {
		t.Errorf("ResolveCommands() =\n%s\nwant\n%s", got, want)
	}
	if got := opInput(func(in *Input) { in.ClientRefID = "a'b c" }).ResolveCommands(); !strings.Contains(got, `--client-ref-id 'a'\''b c'`) {
		t.Errorf("reference not shell-quoted: %s", got)
	}
	if got := opInput(func(in *Input) { in.APIURL = "" }).ResolveCommands(); strings.Contains(got, "--api") || !strings.Contains(got, "curl -X POST $API_URL/v1/transactions/77001/resolve") {
		t.Errorf("without a public URL: %s", got)
	}
}

// TestReasonClass covers every kind of reason the workflow writes.
func TestReasonClass(t *testing.T) {
	for reason, want := range map[string]string{
		"no eko-response within 5m0s":                                                                                         ReasonResponseTimeout,
		"no partner callback received within 5m0s":                                                                            ReasonResponseTimeout,
		"eko-response reported success; verifying with Transaction Inquiry":                                                   ReasonVerifying,
		"eko-response reported tx_status 1; verifying with Transaction Inquiry":                                               ReasonVerifying,
		"eko-response tx_status 2: inquiring":                                                                                 ReasonReportedPending,
		"eko-response tx_status missing: inquiring":                                                                           ReasonReportedPending,
		"eko-response tx_status 0":                                                                                            ReasonReportedFinal,
		"eko-response tx_status 4 (refunded)":                                                                                 ReasonReportedFinal,
		"eko-response tx_status 3 (refund pending)":                                                                           ReasonRefundPending,
		"Transaction Inquiry reports tx_status 3 (refund pending)":                                                            ReasonRefundPending,
		"confirmed by Transaction Inquiry (tx_status 0)":                                                                      ReasonInquiryFinal,
		"Transaction Inquiry reports tx_status 1":                                                                             ReasonInquiryFinal,
		"Transaction Inquiry reports tx_status 4 (refunded)":                                                                  ReasonInquiryFinal,
		"Transaction Inquiry reports unexpected final tx_status 7":                                                            ReasonSuspiciousStatus,
		`suspicious tx_status "9": contact Eko`:                                                                               ReasonSuspiciousStatus,
		`Transaction Inquiry reports suspicious tx_status "9": contact Eko`:                                                   ReasonSuspiciousStatus,
		"Transaction Inquiry failed: ekoapi: inquire R1: signature (HTTP 403)":                                                ReasonInquiryFailed,
		"no final status from Eko within 120h0m0s: Transaction Inquiry kept failing: connection refused":                      ReasonInquiryFailed,
		"no final status from Eko within 120h0m0s":                                                                            ReasonInquiryDeadline,
		"Eko does not know this transaction after 30m0s: no money moved":                                                      ReasonNotFound,
		"Eko does not know this transaction after 30m0s, but an earlier inquiry found it":                                     ReasonNotFound,
		"eko-response reported tx_status 0, but Transaction Inquiry reports 1 (final)":                                        ReasonReportsDisagree,
		"Transaction Inquiry reported tx_status 1, but an eko-response reports tx_status 0":                                   ReasonReportsDisagree,
		`Transaction Inquiry reports tx_status 0 for amount "600", but the transaction was allowed for "500": amounts differ`: ReasonAmountMismatch,
		"partner status SUCCESS":                                                                                              ReasonPartnerReported,
		`partner status "X" is neither success nor failure`:                                                                   ReasonPartnerUnknown,
		"partner status still unknown after 24h0m0s":                                                                          ReasonPartnerUnknown,
		"resolved by ops: bank statement, but who knows":                                                                      ReasonResolved,
		"unexpected state zzz":                                                                                                ReasonOther,
	} {
		if got := ReasonClass(reason); got != want {
			t.Errorf("ReasonClass(%q) = %s, want %s", reason, got, want)
		}
	}
}

// TestAmountIndex: a float64 gives back exactly the rupees set, for every amount with at most two
// decimals (the shortest decimal that reads back as the same float64 is the amount itself).
func TestAmountIndex(t *testing.T) {
	for _, a := range []string{"0.01", "0.1", "100", "100.00", "500.5", "2000.50", "9999.99", "99999.99", "1234567.89", "12345678901.23"} {
		got, ok := Input{Amount: a}.AmountIndex()
		if !ok {
			t.Fatalf("AmountIndex(%q) not ok", a)
		}
		if !decimal.NewFromFloat(got).Equal(decimal.RequireFromString(a)) {
			t.Errorf("AmountIndex(%q) = %v, which reads back as %s", a, got, decimal.NewFromFloat(got))
		}
	}
	for _, a := range []string{"", "abc", "1,000"} {
		if _, ok := (Input{Amount: a}).AmountIndex(); ok {
			t.Errorf("AmountIndex(%q) ok", a)
		}
	}
}
