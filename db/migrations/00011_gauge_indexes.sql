-- +goose NO TRANSACTION
-- +goose Up
-- The gauges read at every scrape (db.Store.ReadGauges) count flagged transactions and events
-- still pending: partial indexes keep those counts proportional to what they count, not to the
-- tables, which only grow. CONCURRENTLY: both tables take writes all the time.
DROP INDEX CONCURRENTLY IF EXISTS transactions_flagged;
CREATE INDEX CONCURRENTLY transactions_flagged ON transactions (id) WHERE flagged;
DROP INDEX CONCURRENTLY IF EXISTS webhook_events_unacknowledged;
CREATE INDEX CONCURRENTLY webhook_events_unacknowledged ON webhook_events (created_at) WHERE acknowledged_at IS NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS webhook_events_unacknowledged;
DROP INDEX CONCURRENTLY IF EXISTS transactions_flagged;
