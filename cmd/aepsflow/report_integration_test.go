package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestReportCommand runs `aepsflow report daily` against a real database: JSON by default, CSV on
// request, the same figures as the API (whose test checks them by hand), and refusals that say why.
func TestReportCommand(t *testing.T) {
	dbURL, sqlDB := migratedDB(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("LIMIT_TIMEZONE", "Asia/Kolkata")
	if _, err := sqlDB.Exec(`INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type,
		agent_user_code, amount, details_hash, business_day, state, created_at, final_at) VALUES
		('eko','c1','c1','aeps/eko/c1','cash_withdrawal','A1',1000.50,'h','2026-03-10','success','2026-03-10 05:00Z','2026-03-10 05:01Z'),
		('eko','c2','c2','aeps/eko/c2','cash_withdrawal','A1',200,'h','2026-03-10','pending','2026-03-10 06:00Z',NULL)`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reportCommand(context.Background(), []string{"daily", "--date", "2026-03-10"}, &out); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Closed bool `json:"closed"`
		Totals struct {
			NetDue string `json:"net_due"`
			Open   struct {
				Count  int    `json:"count"`
				Amount string `json:"amount"`
			} `json:"open_withdrawals"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || !d.Closed || d.Totals.NetDue != "1000.50" ||
		d.Totals.Open.Count != 1 || d.Totals.Open.Amount != "200.00" {
		t.Fatalf("report %+v (%v):\n%s", d, err, out.String())
	}
	out.Reset()
	if err := reportCommand(context.Background(), []string{"daily", "--date", "2026-03-10", "--format", "csv"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "section,agent,type,state,count,amount") || !strings.Contains(out.String(), "net_due,TOTAL,,,,1000.50") {
		t.Fatalf("csv:\n%s", out.String())
	}
	for _, args := range [][]string{{}, {"weekly"}, {"daily"}, {"daily", "--date", "10/03/2026"}, {"daily", "--date", "2026-03-10", "--format", "xml"}} {
		if err := reportCommand(context.Background(), args, &out); err == nil {
			t.Errorf("report %v: no error", args)
		}
	}
}
