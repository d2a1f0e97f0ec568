package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestAssemble: the arithmetic of a statement, exact to the paisa and below, for a day not yet
// closed; amounts are JSON strings.
func TestAssemble(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	cutoff := time.Date(2026, 3, 10, 15, 0, 0, 0, loc)
	f := db.DayFigures{
		Groups: []db.DayGroup{
			// 0.1 + 0.2 is exactly 0.3 here, as it is not in a float64.
			{Agent: "A1", TxType: "cash_withdrawal", State: "success", Count: 2, Amount: dec("200.10"), Commission: dec("0.1"), TDS: dec("0.005")},
			{Agent: "A1", TxType: "balance_inquiry", State: "success", Count: 1, Amount: dec("0"), Commission: dec("0.2"), TDS: dec("0.01")},
			{Agent: "A1", TxType: "cash_withdrawal", State: Open, Count: 3, Amount: dec("300")},
			{Agent: "A2", TxType: "cash_withdrawal", State: "failed", Count: 1, Amount: dec("50")},
		},
		Reversals: []db.AgentSum{{Agent: "A2", Count: 1, Amount: dec("100.00")}},
	}
	d := assemble(f, "2026-03-10", loc, cutoff, false)
	if d.Closed || d.AsOf != "2026-03-10T15:00:00+05:30" || len(d.Agents) != 2 {
		t.Fatalf("statement %+v", d)
	}
	a1, a2 := d.Agents[0], d.Agents[1]
	if a1.Commission.String() != "0.30" || a1.TDS.String() != "0.015" || a1.NetDue.String() != "200.385" ||
		a1.OpenWithdrawals.Count != 3 || a1.SuccessfulWithdrawals.Amount.String() != "200.10" {
		t.Errorf("A1 %+v", a1)
	}
	if a2.NetDue.String() != "-100.00" || a2.Reversals.Count != 1 {
		t.Errorf("A2: a reversal with nothing else due leaves %s", a2.NetDue)
	}
	if d.Totals.NetDue.String() != "100.385" {
		t.Errorf("total net due %s", d.Totals.NetDue)
	}
	b, _ := json.Marshal(d.Totals)
	if !strings.Contains(string(b), `"net_due":"100.385"`) {
		t.Errorf("amounts not JSON strings: %s", b)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil || !strings.Contains(buf.String(), "net_due,A2,,,,-100.00") {
		t.Errorf("csv %v:\n%s", err, buf.String())
	}
}
