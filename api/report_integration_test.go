package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

// statement is the daily report as a client reads it: every amount a string.
type statement struct {
	Date   string          `json:"date"`
	Closed bool            `json:"closed"`
	AsOf   string          `json:"as_of"`
	Agents []statementLine `json:"agents"`
	Totals statementLine   `json:"totals"`
	Late   []struct {
		Reference string `json:"reference"`
		State     string `json:"state"`
		Amount    string `json:"amount"`
		Final     string `json:"final"`
	} `json:"late_finals"`
}

type figure struct {
	Count  int    `json:"count"`
	Amount string `json:"amount"`
}

type statementLine struct {
	Agent       string                       `json:"agent"`
	ByType      map[string]map[string]figure `json:"by_type"`
	Successful  figure                       `json:"successful_withdrawals"`
	Commission  string                       `json:"commission"`
	TDS         string                       `json:"tds"`
	Reversals   figure                       `json:"reversals"`
	NetDue      string                       `json:"net_due"`
	OpenWithdrw figure                       `json:"open_withdrawals"`
}

func dailyStatement(t *testing.T, a *apptest.App, date string) (statement, string) {
	t.Helper()
	status, _, body := adminGet(t, a.URL, "/v1/reports/daily?date="+date)
	if status != http.StatusOK {
		t.Fatalf("report %s: %d %s", date, status, body)
	}
	var s statement
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	return s, body
}

// TestDailyStatement checks the statement of a closed day against figures computed by hand, and
// that asking again after a transaction of that day became final changes nothing but the late
// finals.
func TestDailyStatement(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	ist := a.Config.LimitLocation
	d := time.Date(2026, 3, 10, 0, 0, 0, 0, ist)
	h := func(hours float64) time.Time { return d.Add(time.Duration(hours * float64(time.Hour))) }
	for _, s := range []seeded{
		// Agent A1.
		{Ref: "w1", Agent: "A1", Amount: "1000.00", State: "success", Created: h(9), Final: h(10), TID: "T1", Commission: "4.35", TDS: "0.218"},
		{Ref: "w2", Agent: "A1", Amount: "2500.50", State: "success", Created: h(9.5), Final: h(11), TID: "T2", Commission: "6.00", TDS: "0.30"},
		{Ref: "w3", Agent: "A1", Amount: "300.00", State: "failed", Created: h(10), Final: h(10.1)},
		{Ref: "w4", Agent: "A1", Amount: "700.00", State: "pending", Created: h(12)},
		{Ref: "w5", Agent: "A1", Amount: "450.00", State: "needs_review", Created: h(13)},
		{Ref: "b1", Agent: "A1", Type: "balance_inquiry", State: "success", Created: h(14), Final: h(14.01), TID: "T3", Commission: "0.50", TDS: "0.025"},
		// Became final after the day closed: open at the close, listed as late finals.
		{Ref: "w6", Agent: "A1", Amount: "800.00", State: "success", Created: h(20), Final: h(26), TID: "T6", Commission: "3.00", TDS: "0.15"},
		{Ref: "r1", Agent: "A1", Amount: "200.00", State: "reversed", Created: h(21), Final: h(27)},
		// The day before: reversed during this day (subtracted), and a success (not this day's).
		{Ref: "r0", Agent: "A1", Amount: "600.00", State: "reversed", Created: h(-5), Final: h(9)},
		{Ref: "w0", Agent: "A1", Amount: "999.00", State: "success", Created: h(-4), Final: h(-3), TID: "T0", Commission: "9", TDS: "1"},
		// Agent A2: a partner's success and an expired withdrawal.
		{Provider: "partner:p1", Ref: "p1", Agent: "A2", Amount: "150.00", State: "success", Created: h(15), Final: h(15.5), PartnerTxnID: "77", RRN: "R77"},
		{Ref: "w7", Agent: "A2", Amount: "100.00", State: "expired", Created: h(16), Final: h(16.5)},
	} {
		seed(t, a, s)
	}

	// By hand. A1: withdrawals 1000.00 + 2500.50 = 3500.50; commission 4.35 + 6.00 + 0.50 = 10.85;
	// TDS 0.218 + 0.30 + 0.025 = 0.543; reversal r0 600.00; net 3500.50 + 10.85 - 0.543 - 600.00
	// = 2910.807; open w4, w5, w6, r1 = 700 + 450 + 800 + 200 = 2150.00.
	// A2: 150.00, nothing else due. Totals: 3650.50 + 10.85 - 0.543 - 600.00 = 3060.807.
	wantA1 := statementLine{Agent: "A1",
		ByType: map[string]map[string]figure{
			"cash_withdrawal": {"success": {2, "3500.50"}, "failed": {1, "300.00"}, "open": {4, "2150.00"}},
			"balance_inquiry": {"success": {1, "0.00"}},
		},
		Successful: figure{2, "3500.50"}, Commission: "10.85", TDS: "0.543", Reversals: figure{1, "600.00"},
		NetDue: "2910.807", OpenWithdrw: figure{4, "2150.00"}}
	wantA2 := statementLine{Agent: "A2",
		ByType:     map[string]map[string]figure{"cash_withdrawal": {"success": {1, "150.00"}, "expired": {1, "100.00"}}},
		Successful: figure{1, "150.00"}, Commission: "0.00", TDS: "0.00", Reversals: figure{0, "0.00"},
		NetDue: "150.00", OpenWithdrw: figure{0, "0.00"}}
	wantTotal := statementLine{Agent: "TOTAL",
		ByType: map[string]map[string]figure{
			"cash_withdrawal": {"success": {3, "3650.50"}, "failed": {1, "300.00"}, "expired": {1, "100.00"}, "open": {4, "2150.00"}},
			"balance_inquiry": {"success": {1, "0.00"}},
		},
		Successful: figure{3, "3650.50"}, Commission: "10.85", TDS: "0.543", Reversals: figure{1, "600.00"},
		NetDue: "3060.807", OpenWithdrw: figure{4, "2150.00"}}

	check := func(t *testing.T, s statement) {
		t.Helper()
		if !s.Closed || s.Date != "2026-03-10" || s.AsOf != "2026-03-11T00:00:00+05:30" || len(s.Agents) != 2 {
			t.Fatalf("statement header %+v", s)
		}
		for i, want := range []statementLine{wantA1, wantA2, wantTotal} {
			got := s.Totals
			if i < 2 {
				got = s.Agents[i]
			}
			if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
				t.Errorf("line %s:\n got %s\nwant %s", want.Agent, g, w)
			}
		}
	}
	first, _ := dailyStatement(t, a, "2026-03-10")
	check(t, first)
	var late []string
	for _, l := range first.Late {
		late = append(late, l.Reference+":"+l.State+":"+l.Amount)
	}
	if want := []string{"w6:success:800.00", "r1:reversed:200.00"}; !slices.Equal(late, want) {
		t.Errorf("late finals %v, want %v", late, want)
	}

	// w4 becomes final now: the closed day's figures stay, and it joins the late finals.
	if _, err := a.Store.DB().Exec(`UPDATE transactions SET state = 'success', final_at = now() WHERE client_ref_id = 'w4'`); err != nil {
		t.Fatal(err)
	}
	again, _ := dailyStatement(t, a, "2026-03-10")
	check(t, again)
	if len(again.Late) != 3 || again.Late[2].Reference != "w4" {
		t.Errorf("late finals after w4 became final: %+v", again.Late)
	}

	t.Run("csv", func(t *testing.T) {
		status, hdr, body := adminGet(t, a.URL, "/v1/reports/daily?date=2026-03-10&format=csv")
		if status != http.StatusOK || hdr.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("%d %s", status, hdr.Get("Content-Type"))
		}
		recs := parseCSV(t, body)
		find := func(section, agent string) []string {
			for _, r := range recs {
				if r[0] == section && r[1] == agent {
					return r
				}
			}
			t.Fatalf("no %s row for %s in %q", section, agent, recs)
			return nil
		}
		if r := find("net_due", "A1"); r[5] != "2910.807" {
			t.Errorf("A1 net_due row %q", r)
		}
		if r := find("net_due", "TOTAL"); r[5] != "3060.807" {
			t.Errorf("TOTAL net_due row %q", r)
		}
		if r := find("open_withdrawals", "A1"); r[4] != "4" || r[5] != "2150.00" {
			t.Errorf("A1 open row %q", r)
		}
		if r := find("late_final", "A1"); r[6] != "w6" || r[3] != "success" {
			t.Errorf("late final row %q", r)
		}
	})

	t.Run("bad date", func(t *testing.T) {
		for _, q := range []string{"", "date=2026-3-10", "date=2026-02-30", "date=today"} {
			if status, _, body := adminGet(t, a.URL, "/v1/reports/daily?"+q); status != http.StatusBadRequest {
				t.Errorf("?%s: %d %s", q, status, body)
			}
		}
	})
}
