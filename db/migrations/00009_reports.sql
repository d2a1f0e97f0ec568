-- +goose Up
-- Eko's own references for a transaction, from its Transaction Inquiry: reconciliation needs them
-- exactly, so they are never masked.
ALTER TABLE transactions
    ADD COLUMN eko_tid           text NOT NULL DEFAULT '',
    ADD COLUMN bank_ref_num      text NOT NULL DEFAULT '',
    -- eko-responses recorded for the transaction (repeats excluded), and the tx_status classes
    -- already delivered to its workflow: an unauthenticated caller must not be able to signal a
    -- workflow without bound (db.RecordEkoResponse).
    ADD COLUMN eko_reports       integer NOT NULL DEFAULT 0,
    ADD COLUMN signalled_classes text[] NOT NULL DEFAULT '{}';

ALTER TABLE eko_responses
    ADD COLUMN signalled boolean NOT NULL DEFAULT false,
    ADD COLUMN over_cap  boolean NOT NULL DEFAULT false;

-- A repeat is a repeat of a report of the same transaction: an eko-response sent before the
-- debit-hook (no transaction yet) must not make the genuine one, with the same content, a
-- "duplicate" of it.
ALTER TABLE eko_responses DROP CONSTRAINT eko_responses_client_ref_id_content_hash_key;
CREATE UNIQUE INDEX eko_responses_repeat ON eko_responses (client_ref_id, content_hash, coalesce(transaction_id, 0));

-- +goose Down
DROP INDEX eko_responses_repeat;
ALTER TABLE eko_responses ADD CONSTRAINT eko_responses_client_ref_id_content_hash_key UNIQUE (client_ref_id, content_hash);
ALTER TABLE eko_responses DROP COLUMN over_cap, DROP COLUMN signalled;
ALTER TABLE transactions DROP COLUMN signalled_classes, DROP COLUMN eko_reports, DROP COLUMN bank_ref_num, DROP COLUMN eko_tid;
