package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Gauges is the state operators watch, read in one statement.
type Gauges struct {
	OutboxPending   int
	OutboxOldest    time.Duration
	NeedsReview     int
	OpenOldest      time.Duration
	Flagged         int
	WebhookBacklog  int
	WebhookOldest   time.Duration
	WebhookSetAside int
	// ReconciliationMismatches of the latest run; not Valid when none ran.
	ReconciliationMismatches sql.NullInt64
}

// ReadGauges reads Gauges. Each part uses an index (open transactions, flagged, undelivered
// outbox entries, pending events), so a scrape stays cheap as the tables grow.
func (s *Store) ReadGauges(ctx context.Context) (Gauges, error) {
	var r struct {
		OutboxPending   int           `db:"outbox_pending"`
		OutboxOldest    float64       `db:"outbox_oldest"`
		NeedsReview     int           `db:"needs_review"`
		OpenOldest      float64       `db:"open_oldest"`
		Flagged         int           `db:"flagged"`
		WebhookBacklog  int           `db:"webhook_backlog"`
		WebhookOldest   float64       `db:"webhook_oldest"`
		WebhookSetAside int           `db:"webhook_set_aside"`
		Mismatches      sql.NullInt64 `db:"mismatches"`
	}
	err := s.db.GetContext(ctx, &r, `SELECT
		(SELECT count(*) FROM outbox WHERE delivered_at IS NULL) AS outbox_pending,
		(SELECT coalesce(extract(epoch FROM now() - min(CASE WHEN attempts = 0 THEN greatest(created_at, available_at) ELSE created_at END)), 0)::float8
			FROM outbox WHERE delivered_at IS NULL) AS outbox_oldest,
		(SELECT count(*) FROM transactions WHERE final_at IS NULL AND state = 'needs_review') AS needs_review,
		(SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM transactions WHERE final_at IS NULL) AS open_oldest,
		(SELECT count(*) FROM transactions WHERE flagged) AS flagged,
		(SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NULL AND gave_up_at IS NULL) AS webhook_backlog,
		(SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM webhook_events
		  WHERE acknowledged_at IS NULL AND gave_up_at IS NULL) AS webhook_oldest,
		(SELECT count(*) FROM webhook_events WHERE acknowledged_at IS NULL AND gave_up_at IS NOT NULL) AS webhook_set_aside,
		(SELECT mismatches FROM reconciliations ORDER BY finished_at DESC, id DESC LIMIT 1) AS mismatches`)
	if err != nil {
		return Gauges{}, fmt.Errorf("read gauges: %w", err)
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return Gauges{OutboxPending: r.OutboxPending, OutboxOldest: sec(r.OutboxOldest), NeedsReview: r.NeedsReview,
		OpenOldest: sec(r.OpenOldest), Flagged: r.Flagged, WebhookBacklog: r.WebhookBacklog, WebhookOldest: sec(r.WebhookOldest),
		WebhookSetAside: r.WebhookSetAside, ReconciliationMismatches: r.Mismatches}, nil
}
