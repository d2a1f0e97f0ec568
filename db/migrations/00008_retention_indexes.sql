-- +goose NO TRANSACTION
-- +goose Up
-- Retention (db.Store.Prune) finds delivered outbox entries and raw requests by age, and the
-- ON DELETE SET NULL of a deleted raw request looks up the rows that point at it: without these
-- indexes each would scan a table that only grows. CONCURRENTLY (hence no transaction): these
-- tables take every callback's insert. An interrupted build leaves an INVALID index that IF NOT
-- EXISTS would keep, so whatever is there is dropped first.
DROP INDEX CONCURRENTLY IF EXISTS outbox_delivered;
CREATE INDEX CONCURRENTLY outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS inbound_requests_received;
CREATE INDEX CONCURRENTLY inbound_requests_received ON inbound_requests (received_at);
DROP INDEX CONCURRENTLY IF EXISTS eko_responses_inbound;
CREATE INDEX CONCURRENTLY eko_responses_inbound ON eko_responses (inbound_request_id);
DROP INDEX CONCURRENTLY IF EXISTS partner_callbacks_inbound;
CREATE INDEX CONCURRENTLY partner_callbacks_inbound ON partner_callbacks (inbound_request_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS partner_callbacks_inbound;
DROP INDEX CONCURRENTLY IF EXISTS eko_responses_inbound;
DROP INDEX CONCURRENTLY IF EXISTS inbound_requests_received;
DROP INDEX CONCURRENTLY IF EXISTS outbox_delivered;
