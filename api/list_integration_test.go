package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/api"
	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/apptest"
)

type listPage struct {
	Transactions []struct {
		Reference  string  `json:"reference"`
		Provider   string  `json:"provider"`
		Type       string  `json:"type"`
		Agent      string  `json:"agent"`
		Amount     *string `json:"amount"`
		Commission *string `json:"commission"`
		TDS        *string `json:"tds"`
		State      string  `json:"state"`
		TID        string  `json:"tid"`
		BankRef    string  `json:"bank_reference"`
		Created    string  `json:"created"`
		Final      *string `json:"final"`
		Flagged    bool    `json:"flagged"`
	} `json:"transactions"`
	NextCursor *string `json:"next_cursor"`
}

func listJSON(t *testing.T, a *apptest.App, query string) listPage {
	t.Helper()
	status, _, body := adminGet(t, a.URL, "/v1/transactions?"+query)
	if status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, status, body)
	}
	var p listPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func refsOf(p listPage) []string {
	var out []string
	for _, tx := range p.Transactions {
		out = append(out, tx.Reference)
	}
	return out
}

// TestListTransactions: every filter, keyset pagination, JSON and CSV, over rows with every state
// and both providers.
func TestListTransactions(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	ist := a.Config.LimitLocation
	day1 := time.Date(2026, 3, 10, 0, 0, 0, 0, ist)
	at := func(d time.Time, h, m int) time.Time {
		return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	states := []string{"pending", "inquiry", "reversal_pending", "unknown", "needs_review", "success", "failed", "reversed", "expired"}
	var all []string
	for i, st := range states {
		s := seeded{Ref: "L" + st, Agent: "A1", Amount: "100.00", State: st, Created: at(day1, 9, i)}
		if st == "success" {
			s.TID, s.BankRef, s.Commission, s.TDS = "T1", "=HYPERLINK(1)", "6.0", "0.3"
		}
		if st == "success" || st == "failed" || st == "reversed" || st == "expired" {
			s.Final = at(day1, 10, i)
		}
		s.Flagged = st == "needs_review"
		seed(t, a, s)
		all = append(all, s.Ref)
	}
	// The partner's success, a balance inquiry of another agent, and the next day's (in IST) one
	// created at 19:00 UTC: 00:30 IST on the 11th.
	seed(t, a, seeded{Provider: "partner:p1", Ref: "Lpartner", Agent: "A2", Amount: "250.50", State: "success",
		Created: at(day1, 11, 0), Final: at(day1, 11, 1), PartnerTxnID: "18446744073709551615", RRN: "RRN9"})
	seed(t, a, seeded{Ref: "Lbalance", Type: "balance_inquiry", Agent: "A2", State: "success", Created: at(day1, 12, 0), Final: at(day1, 12, 0)})
	seed(t, a, seeded{Ref: "Lnextday", Agent: "A1", Amount: "500.00", State: "failed",
		Created: time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC), Final: time.Date(2026, 3, 10, 19, 1, 0, 0, time.UTC)})
	all = append(all, "Lpartner", "Lbalance", "Lnextday")

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", all},
			{"state=success", []string{"Lsuccess", "Lpartner", "Lbalance"}},
			{"state=needs_review", []string{"Lneeds_review"}},
			{"provider=partner:p1", []string{"Lpartner"}},
			{"provider=eko&agent=A2", []string{"Lbalance"}},
			{"type=balance_inquiry", []string{"Lbalance"}},
			{"flagged=true", []string{"Lneeds_review"}},
			{"from=2026-03-11", []string{"Lnextday"}},
			{"from=2026-03-10&to=2026-03-10&agent=A2", []string{"Lpartner", "Lbalance"}},
			{"to=2026-03-10&state=failed", []string{"Lfailed"}},
			{"from=" + url.QueryEscape("2026-03-10T11:00:00+05:30") + "&to=" + url.QueryEscape("2026-03-10T12:00:00+05:30"), []string{"Lpartner"}},
		} {
			if got := refsOf(listJSON(t, a, tc.query)); !slices.Equal(got, tc.want) {
				t.Errorf("?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
	})

	t.Run("values", func(t *testing.T) {
		p := listJSON(t, a, "state=success&provider=eko&type=cash_withdrawal")
		if len(p.Transactions) != 1 {
			t.Fatalf("%+v", p)
		}
		tx := p.Transactions[0]
		if *tx.Amount != "100.00" || *tx.Commission != "6.00" || *tx.TDS != "0.30" || tx.TID != "T1" || tx.BankRef != "=HYPERLINK(1)" ||
			tx.Created != "2026-03-10T09:05:00+05:30" || tx.Final == nil || *tx.Final != "2026-03-10T10:05:00+05:30" || tx.Agent != "A1" {
			t.Errorf("success row %+v", tx)
		}
		pp := listJSON(t, a, "provider=partner:p1").Transactions[0]
		if pp.TID != "18446744073709551615" || pp.BankRef != "RRN9" || *pp.Amount != "250.50" || pp.Commission != nil {
			t.Errorf("partner row %+v", pp)
		}
		if open := listJSON(t, a, "state=pending").Transactions[0]; open.Final != nil {
			t.Errorf("pending row has a final time: %+v", open)
		}
	})

	t.Run("keyset pagination", func(t *testing.T) {
		var got []string
		cursor := ""
		pages := 0
		for {
			q := "limit=5"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			p := listJSON(t, a, q)
			got = append(got, refsOf(p)...)
			pages++
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
			// A row inserted before the cursor's position must not shift the pages after it.
			if pages == 1 {
				seed(t, a, seeded{Ref: "Learly", Agent: "A1", Amount: "100.00", State: "pending", Created: at(day1, 1, 0)})
				t.Cleanup(func() { a.Store.DB().Exec(`DELETE FROM transactions WHERE client_ref_id = 'Learly'`) })
			}
		}
		if !slices.Equal(got, all) || pages != 3 {
			t.Fatalf("pages %d gave %v, want %v", pages, got, all)
		}
	})

	t.Run("csv", func(t *testing.T) {
		for _, how := range [][]string{{"?format=csv&state=success"}, {"?state=success", "Accept", "text/csv"}} {
			status, h, body := adminGet(t, a.URL, "/v1/transactions"+how[0], how[1:]...)
			if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
				t.Fatalf("%v: %d %s %s", how, status, h.Get("Content-Type"), body)
			}
			recs := parseCSV(t, body)
			want := [][]string{
				api.CSVColumns,
				{"Lsuccess", "eko", "cash_withdrawal", "A1", "100.00", "6.00", "0.30", "success", "T1", "'=HYPERLINK(1)",
					"2026-03-10T09:05:00+05:30", "2026-03-10T10:05:00+05:30", "false"},
				{"Lpartner", "partner:p1", "cash_withdrawal", "A2", "250.50", "", "", "success", "18446744073709551615", "RRN9",
					"2026-03-10T11:00:00+05:30", "2026-03-10T11:01:00+05:30", "false"},
				{"Lbalance", "eko", "balance_inquiry", "A2", "", "", "", "success", "", "",
					"2026-03-10T12:00:00+05:30", "2026-03-10T12:00:00+05:30", "false"},
			}
			if !slices.EqualFunc(recs, want, slices.Equal) {
				t.Errorf("%v:\n got %q\nwant %q", how, recs, want)
			}
		}
		// Pages of CSV: the next cursor comes as a trailer.
		_, h, body := adminGet(t, a.URL, "/v1/transactions?format=csv&limit=2")
		if recs := parseCSV(t, body); len(recs) != 3 || recs[1][0] != "Lpending" || h.Get("Aepsflow-Next-Cursor") == "" {
			t.Fatalf("limited CSV %q, trailer %q", recs, h.Get("Aepsflow-Next-Cursor"))
		}
		_, _, body = adminGet(t, a.URL, "/v1/transactions?format=csv&limit=2&cursor="+url.QueryEscape(h.Get("Aepsflow-Next-Cursor")))
		if recs := parseCSV(t, body); len(recs) != 3 || recs[1][0] != "Lreversal_pending" {
			t.Fatalf("second CSV page %q", recs)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, q := range []string{"state=done", "type=loan", "provider=bank", "flagged=maybe", "limit=0", "limit=1001",
			"cursor=abc", "from=yesterday", "from=2026-03-11&to=2026-03-10", "agent=" + url.QueryEscape("a b")} {
			status, _, body := adminGet(t, a.URL, "/v1/transactions?"+q)
			var e map[string]string
			if status != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
				t.Errorf("?%s: %d %s, want 400 with an error", q, status, body)
			}
		}
		if status, _ := admin(t, a, http.MethodGet, "/v1/transactions", "", ""); status != http.StatusUnauthorized {
			t.Errorf("no token: %d", status)
		}
	})
}

// TestExportStreams exports 50,000 transactions as CSV and checks that the handler streams them:
// it flushes every few hundred rows, and the live heap while it runs stays far below the export's
// size (a buffered export would hold all of it).
func TestExportStreams(t *testing.T) {
	// Not parallel: the heap is measured, and other tests would allocate meanwhile.
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	const rows = 50000
	if _, err := a.Store.DB().Exec(`INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type,
		agent_user_code, amount, amount_text, details_hash, business_day, state, created_at, final_at)
		SELECT 'eko', 'X'||g, 'X'||g, 'aeps/eko/X'||g, 'cash_withdrawal', 'A'||(g % 50), 100 + g % 7, '100', 'h', '2026-03-10',
			'success', timestamptz '2026-03-10 04:00Z' + g * interval '1 second', timestamptz '2026-03-10 05:00Z'
		FROM generate_series(1, $1) g`, rows); err != nil {
		t.Fatal(err)
	}
	s := app.NewAPI(a.Config, a.Store, nil, a.Logger, nil)
	var flushes atomic.Int64
	var low, peak uint64 = 1 << 62, 0
	var samples []uint64
	var ms runtime.MemStats
	s.OnExportFlush = func() {
		// Live heap after a collection, sampled every tenth flush (a GC per flush would be slow).
		if flushes.Add(1)%10 != 0 {
			return
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		samples = append(samples, ms.HeapAlloc)
		if len(samples) > 1 { // the first still holds what the set-up left behind
			low, peak = min(low, ms.HeapAlloc), max(peak, ms.HeapAlloc)
		}
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v1/transactions?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Errorf("Content-Length %d: a streamed export has none", resp.ContentLength)
	}
	var lines, size int64
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		size += int64(n)
		lines += int64(strings.Count(string(buf[:n]), "\n"))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if lines != rows+1 || resp.Trailer.Get("Aepsflow-Rows") != "50000" {
		t.Fatalf("%d lines, trailer Aepsflow-Rows %q; want %d lines and 50000", lines, resp.Trailer.Get("Aepsflow-Rows"), rows+1)
	}
	if f := flushes.Load(); f < rows/500 {
		t.Errorf("%d flushes for %d rows: the export is not streamed", f, rows)
	}
	// From 10,000 rows in to the end: a buffered export grows by most of its size over that
	// stretch, a streamed one not at all.
	growth := int64(peak) - int64(low)
	t.Logf("export: %d rows, %d bytes, %d flushes, live heap growth at most %d bytes (samples %v)", rows, size, flushes.Load(), growth, samples)
	if growth > size/4 {
		t.Errorf("live heap grew by %d bytes during a %d-byte export: rows are being held", growth, size)
	}
}

// TestExportCutShortIsVisible: when the database goes away in the middle of an export, the
// client sees a broken transfer, never a shorter file that looks complete.
func TestExportCutShortIsVisible(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true})
	if _, err := a.Store.DB().Exec(`INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type,
		agent_user_code, amount, amount_text, details_hash, business_day, state, created_at)
		SELECT 'eko', 'Y'||g, 'Y'||g, 'aeps/eko/Y'||g, 'cash_withdrawal', 'A1', 100, '100', 'h', '2026-03-10', 'pending',
			timestamptz '2026-03-10 04:00Z' + g * interval '1 second' FROM generate_series(1, 100000) g`); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/v1/transactions?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	// The export's query is still running (the client has not read on): end its backend.
	var n int
	if err := a.Store.DB().Get(&n, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM tx_finance%'`); err != nil || n != 1 {
		t.Fatalf("terminated %d export backends: %v", n, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Fatalf("the export ended normally after its query was killed (trailer rows %q)", resp.Trailer.Get("Aepsflow-Rows"))
	}
	t.Logf("client saw: %v", err)
}
