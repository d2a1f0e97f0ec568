-- +goose Up
-- Every admin action (agent change, resolution, re-send), with the operator whose token made it.
-- The operator is the name configured beside the token (OPERATOR_TOKENS), never text the request
-- chose; "cli" for the agent command, which works on the database directly.
CREATE TABLE audit_events (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    operator       text NOT NULL CHECK (operator <> ''),
    action         text NOT NULL,
    target         text NOT NULL,
    transaction_id bigint REFERENCES transactions (id),
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_operator ON audit_events (operator, id);
CREATE INDEX audit_events_target ON audit_events (target, id);

-- Retention deletes raw requests of closed transactions; the parsed records that point at them
-- (eko_responses, partner_callbacks) are kept, so their link becomes optional. NOT VALID, then
-- VALIDATE: the existing rows are checked without blocking writes.
ALTER TABLE eko_responses ALTER COLUMN inbound_request_id DROP NOT NULL,
    DROP CONSTRAINT eko_responses_inbound_request_id_fkey,
    ADD CONSTRAINT eko_responses_inbound_request_id_fkey FOREIGN KEY (inbound_request_id)
        REFERENCES inbound_requests (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE eko_responses VALIDATE CONSTRAINT eko_responses_inbound_request_id_fkey;
ALTER TABLE partner_callbacks ALTER COLUMN inbound_request_id DROP NOT NULL,
    DROP CONSTRAINT partner_callbacks_inbound_request_id_fkey,
    ADD CONSTRAINT partner_callbacks_inbound_request_id_fkey FOREIGN KEY (inbound_request_id)
        REFERENCES inbound_requests (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE partner_callbacks VALIDATE CONSTRAINT partner_callbacks_inbound_request_id_fkey;

-- +goose Down
ALTER TABLE partner_callbacks DROP CONSTRAINT partner_callbacks_inbound_request_id_fkey,
    ADD CONSTRAINT partner_callbacks_inbound_request_id_fkey FOREIGN KEY (inbound_request_id) REFERENCES inbound_requests (id);
ALTER TABLE eko_responses DROP CONSTRAINT eko_responses_inbound_request_id_fkey,
    ADD CONSTRAINT eko_responses_inbound_request_id_fkey FOREIGN KEY (inbound_request_id) REFERENCES inbound_requests (id);
DROP TABLE audit_events;
