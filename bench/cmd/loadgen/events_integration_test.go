package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	_ "github.com/lib/pq"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/testenv"
)

// TestEventsCheck runs the loss check's event part against a real schema: one final transaction
// whose event came once, one whose event came twice, one final without any event, an open one
// (no event due), and an event never acknowledged.
func TestEventsCheck(t *testing.T) {
	dbURL := testenv.Postgres(t)
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if err := db.Migrate(context.Background(), sqlDB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec(`INSERT INTO transactions (id, provider, client_ref_id, provider_ref, workflow_id, tx_type, details_hash,
		business_day, state, final_at) VALUES
		(1, 'eko', 'once', 'once', 'aeps/eko/once', 'cash_withdrawal', 'h', '2026-03-10', 'success', now()),
		(2, 'eko', 'twice', 'twice', 'aeps/eko/twice', 'cash_withdrawal', 'h', '2026-03-10', 'failed', now()),
		(3, 'eko', 'none', 'none', 'aeps/eko/none', 'cash_withdrawal', 'h', '2026-03-10', 'expired', now()),
		(4, 'eko', 'open', 'open', 'aeps/eko/open', 'cash_withdrawal', 'h', '2026-03-10', 'needs_review', NULL);
		INSERT INTO webhook_events (event_id, transaction_id, type, body, acknowledged_at) VALUES
		('evt_once', 1, 'transaction.succeeded', '{}', now()),
		('evt_twice', 2, 'transaction.failed', '{}', now()),
		('evt_open', 4, 'transaction.needs_review', '{}', NULL)`); err != nil {
		t.Fatal(err)
	}
	stats := platformStats{Deliveries: 3, ByEvent: map[string]int{"evt_once": 1, "evt_twice": 2}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(stats) }))
	t.Cleanup(srv.Close)
	b := &bench{db: sqlDB, o: benchOpts{eventsStats: srv.URL}}
	var rep LossReport
	if err := b.eventsCheck(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.EventsChecked || rep.EventsOK != 2 || rep.EventsMissing != 1 || rep.EventsDuplicated != 1 || rep.EventsUnacknowledged != 1 ||
		rep.EventsNotReceived != 0 || rep.OK() {
		t.Fatalf("report %+v", rep)
	}
}
