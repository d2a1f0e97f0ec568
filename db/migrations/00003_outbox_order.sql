-- +goose Up
-- A relay claims an entry only when no earlier entry of the same workflow is still undelivered
-- (db.ClaimOutbox): that keeps each workflow's starts and signals in order across several relays
-- and across retries. This index answers that check without scanning the backlog.
CREATE INDEX outbox_pending_workflow ON outbox (workflow_id, id) WHERE delivered_at IS NULL;

-- +goose Down
DROP INDEX outbox_pending_workflow;
