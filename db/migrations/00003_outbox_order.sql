-- +goose NO TRANSACTION
-- +goose Up
-- A relay claims an entry only when no earlier entry of the same workflow is still undelivered
-- (db.ClaimOutbox): that keeps each workflow's starts and signals in order across several relays
-- and across retries. This index answers that check without scanning the backlog. CONCURRENTLY
-- (hence no transaction): the outbox keeps every entry, and a plain build would hold up every
-- callback's insert for as long as it scans them.
-- A build that was interrupted leaves an INVALID index behind, which IF NOT EXISTS would keep:
-- drop whatever is there first.
DROP INDEX CONCURRENTLY IF EXISTS outbox_pending_workflow;
CREATE INDEX CONCURRENTLY outbox_pending_workflow ON outbox (workflow_id, id) WHERE delivered_at IS NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS outbox_pending_workflow;
