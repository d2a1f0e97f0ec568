package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/testenv"
)

// openStore returns a store on a fresh, migrated database.
func openStore(t *testing.T) *db.Store {
	t.Helper()
	return openStoreAt(t, testenv.Postgres(t))
}

// openStoreAt opens and migrates the store on a database of the test's own.
func openStoreAt(t *testing.T, url string) *db.Store {
	t.Helper()
	ctx := context.Background()
	s, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := db.Migrate(ctx, s.DB().DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return s
}

// newAgent registers an agent with the default limits and returns its user code.
func newAgent(t *testing.T, s *db.Store) string {
	t.Helper()
	agent := "A" + fmt.Sprint(time.Now().UnixNano()%1e9)
	if _, err := s.UpsertAgent(context.Background(), db.AgentUpdate{UserCode: agent}); err != nil {
		t.Fatal(err)
	}
	return agent
}

// allowedTransaction records an allowed debit-hook for a new reference and returns it.
func allowedTransaction(t *testing.T, s *db.Store, agent string) string {
	t.Helper()
	ref := fmt.Sprint(time.Now().UnixNano() % 1e13)
	if d, err := s.DecideDebitHook(context.Background(), handoff, debitHook(ref, agent, false)); err != nil || !d.Allow {
		t.Fatalf("debit-hook: %+v %v", d, err)
	}
	return ref
}

// handoff is the hand-off to workflows the API uses; these tests deliver nothing.
var handoff db.Intents = intents.New(config.Config{}, nil)

func debitHook(ref, agent string, own bool) db.DebitHook {
	h := db.DebitHook{
		Inbound:  db.Inbound{Source: "eko", Method: "POST", Path: "/eko/aeps/callback", RemoteAddr: "test", Body: []byte("{}"), Action: "debit-hook", Reference: ref, HTTPStatus: 200},
		Provider: "eko", ProviderRef: ref, TxType: "cash_withdrawal", CashWithdrawal: true,
		AgentUserCode: agent, CustomerMobile: "9999999999", BankCode: "PUNB",
		Amount: decimal.NullDecimal{Decimal: decimal.RequireFromString("100"), Valid: true}, AmountText: "100",
		DetailsHash: "same-details", BusinessDay: time.Now(), Timestamp: fmt.Sprint(time.Now().UnixMilli()),
		DefaultLimits: db.Limits{Count: 50, Amount: decimal.RequireFromString("200000")},
	}
	if own {
		var mu sync.Mutex
		n := 0
		h.NewClientRefID = func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("AF%s%d", ref[len(ref)-6:], n), nil
		}
	}
	return h
}

// Two debit-hooks for the same new reference, both past their "is it known?" look-up before either
// inserts: the loser hits the unique constraint, retries, and takes the repeat path. One
// transaction, one outbox start, both requests recorded, both confirmed. At the agent's last
// allowed withdrawal of the day the loser sees the winner's withdrawal counted against the limit
// instead; it must still get the repeat answer, not a limit refusal.
func TestDecideDebitHookConcurrentSameReference(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	one := 1
	for _, tt := range []struct {
		name       string
		own        bool // CLIENT_REF_ID_SOURCE=own: the race is on (provider, provider_ref)
		countLimit *int
	}{
		{"eko reference", false, nil},
		{"own reference", true, nil},
		{"eko reference, last withdrawal of the day", false, &one},
		{"own reference, last withdrawal of the day", true, &one},
	} {
		t.Run(tt.name, func(t *testing.T) {
			agent := "A" + fmt.Sprint(time.Now().UnixNano()%1e9)
			if _, err := s.UpsertAgent(ctx, db.AgentUpdate{UserCode: agent, CountLimit: tt.countLimit}); err != nil {
				t.Fatal(err)
			}
			ref := fmt.Sprint(time.Now().UnixNano() % 1e13)

			// Hold the agent's row lock so that both calls pass the reference look-up and queue
			// behind it; then release it and let them race to insert.
			holder, err := s.DB().BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback()
			if _, err := holder.ExecContext(ctx, `SELECT 1 FROM agents WHERE user_code = $1 FOR UPDATE`, agent); err != nil {
				t.Fatal(err)
			}
			h := debitHook(ref, agent, tt.own)
			// Each signs with its own fresh timestamp; the loser must get the winner's.
			hooks := []db.DebitHook{h, h}
			hooks[1].Timestamp = "1" + h.Timestamp
			var wg sync.WaitGroup
			decisions := make([]db.Decision, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					decisions[i], errs[i] = s.DecideDebitHook(ctx, handoff, hooks[i])
				}()
			}
			testenv.WaitFor(t, 20*time.Second, "both debit-hooks waiting on the agent lock", func() (bool, error) {
				var n int
				err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM agents%'`)
				return n == 2, err
			})
			if err := holder.Commit(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()

			for i, err := range errs {
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			codes := []string{decisions[0].Code, decisions[1].Code}
			sort.Strings(codes)
			if codes[0] != "allowed" || codes[1] != "allowed_repeat" {
				t.Fatalf("codes = %v, want one allowed and one allowed_repeat", codes)
			}
			if !decisions[0].Allow || !decisions[1].Allow {
				t.Fatalf("both must be confirmed: %+v", decisions)
			}
			if decisions[0].TransactionID != decisions[1].TransactionID || decisions[0].ClientRefID != decisions[1].ClientRefID {
				t.Fatalf("the two answers name different transactions: %+v", decisions)
			}
			// One confirmation: both sign the same booking with the same timestamp.
			if decisions[0].Booked != decisions[1].Booked || decisions[0].Booked.Timestamp == "" {
				t.Fatalf("the two answers sign different bookings: %+v", decisions)
			}
			count := func(q string, args ...any) int {
				t.Helper()
				var n int
				if err := s.DB().GetContext(ctx, &n, q, args...); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := count(`SELECT count(*) FROM transactions WHERE provider_ref = $1`, ref); n != 1 {
				t.Errorf("%d transactions, want 1", n)
			}
			if n := count(`SELECT count(*) FROM outbox WHERE workflow_id = $1`, "aeps/eko/"+decisions[0].ClientRefID); n != 1 {
				t.Errorf("%d outbox entries, want 1", n)
			}
			if n := count(`SELECT count(*) FROM inbound_requests WHERE reference = $1 AND transaction_id = $2`, ref, decisions[0].TransactionID); n != 2 {
				t.Errorf("%d recorded requests, want 2", n)
			}
			if n := count(`SELECT count(*) FROM tx_events WHERE transaction_id = $1 AND kind = 'created'`, decisions[0].TransactionID); n != 1 {
				t.Errorf("%d created events, want 1", n)
			}
			if tt.own && decisions[0].ClientRefID == ref {
				t.Errorf("own mode kept Eko's reference %s", ref)
			}
		})
	}
}

// The per-agent lock makes the daily count limit exact under concurrency.
func TestDecideDebitHookCountLimitUnderConcurrency(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	limit := 3
	if _, err := s.UpsertAgent(ctx, db.AgentUpdate{UserCode: "20810200", CountLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan db.Decision, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := s.DecideDebitHook(ctx, handoff, debitHook(fmt.Sprintf("99%011d", i), "20810200", false))
			if err != nil {
				t.Error(err)
				return
			}
			results <- d
		}()
	}
	wg.Wait()
	close(results)
	allowed := 0
	for d := range results {
		switch d.Code {
		case "allowed":
			allowed++
		case "daily_count_limit":
		default:
			t.Errorf("unexpected decision %+v", d)
		}
	}
	if allowed != limit {
		t.Fatalf("%d allowed, want %d", allowed, limit)
	}
	var n int
	if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM transactions WHERE agent_user_code = '20810200'`); err != nil {
		t.Fatal(err)
	}
	if n != limit {
		t.Fatalf("%d transactions, want %d", n, limit)
	}
	var refused int
	if err := s.DB().GetContext(ctx, &refused, `SELECT count(*) FROM inbound_requests WHERE outcome = 'refused' AND outcome_detail LIKE 'daily_count_limit:%'`); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if refused != 12-limit {
		t.Fatalf("%d refusals recorded, want %d", refused, 12-limit)
	}
}

// A repeat is signed with the first allow's timestamp, read back from the row with the booked
// values; a transaction allowed before the timestamp was stored takes its first repeat's.
func TestDecideDebitHookRepeatSignsTheFirstAllow(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	agent := newAgent(t, s)

	t.Run("stored timestamp", func(t *testing.T) {
		ref := fmt.Sprint(time.Now().UnixNano() % 1e13)
		h := debitHook(ref, agent, false)
		h.Timestamp = "1796000000000"
		first, err := s.DecideDebitHook(ctx, handoff, h)
		if err != nil || first.Code != "allowed" {
			t.Fatalf("first: %+v %v", first, err)
		}
		want := db.Booked{TxType: "cash_withdrawal", CustomerMobile: "9999999999", AmountText: "100", AgentUserCode: agent, Timestamp: "1796000000000"}
		if first.Booked != want {
			t.Fatalf("booked %+v, want %+v", first.Booked, want)
		}
		h.Timestamp = "1796000009999"
		again, err := s.DecideDebitHook(ctx, handoff, h)
		if err != nil || again.Code != "allowed_repeat" || again.Booked != want {
			t.Fatalf("repeat: %+v %v, want allowed_repeat signing %+v", again, err, want)
		}
	})

	t.Run("allowed before the column existed", func(t *testing.T) {
		ref := fmt.Sprint(time.Now().UnixNano() % 1e13)
		h := debitHook(ref, agent, false)
		h.Timestamp = ""
		if d, err := s.DecideDebitHook(ctx, handoff, h); err != nil || d.Code != "allowed" {
			t.Fatalf("first: %+v %v", d, err)
		}
		for _, ts := range []string{"1796000000001", "1796000000002"} {
			h.Timestamp = ts
			d, err := s.DecideDebitHook(ctx, handoff, h)
			if err != nil || d.Code != "allowed_repeat" || d.Booked.Timestamp != "1796000000001" {
				t.Fatalf("repeat with %s: %+v %v, want the first repeat's timestamp", ts, d, err)
			}
		}
	})
}
