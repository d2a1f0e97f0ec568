-- +goose Up
-- The outbox wakes the relays only for entries they can deliver now. A deferred start (every
-- allowed debit-hook queues one) is not due for seconds, and woke every relay for a claim that
-- found nothing: one empty transaction per debit-hook per API replica, at the debit-hook's
-- peak. The relays' sweep picks deferred entries up once they are due.
-- Swapping the trigger locks the table against inserts (debit-hooks) while it waits for the
-- relays' open claims: give up after 5 s rather than stall callbacks; run the migration again.
SET LOCAL lock_timeout = '5s';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One wake-up per statement; the relay reads the table, the payload is only a hint.
    IF EXISTS (SELECT 1 FROM inserted WHERE available_at <= now()) THEN
        PERFORM pg_notify('aepsflow_outbox', '');
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aepsflow_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
