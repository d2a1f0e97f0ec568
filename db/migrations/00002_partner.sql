-- +goose Up
-- The partner's status callbacks ("post-request"), one row per distinct delivery. A re-delivery of
-- the same content is a duplicate and adds no row: UNIQUE (partner_id, txn_id, content_hash) makes
-- that certain rather than likely. The same txnId with other content is kept with conflict = true.
CREATE TABLE partner_callbacks (
    id                      bigserial PRIMARY KEY,
    inbound_request_id      bigint NOT NULL REFERENCES inbound_requests (id),
    partner_id              text NOT NULL CHECK (partner_id <> ''),
    -- The partner's txnId exceeds 2^53: numeric(20,0) keeps every uint64 exactly.
    txn_id                  numeric(20, 0) NOT NULL CHECK (txn_id > 0),
    content_hash            text NOT NULL,
    transaction_id          bigint NOT NULL REFERENCES transactions (id),
    client_ref_id           text NOT NULL,
    status                  text NOT NULL,
    status_desc             text NOT NULL,
    -- What the status means: success | failed | unknown (partner.MapStatus).
    outcome                 text NOT NULL CHECK (outcome IN ('success', 'failed', 'unknown')),
    -- What recording it did: recorded (delivered to the workflow), conflict (same txnId, other
    -- content), details_mismatch (other type, amount or agent than the transaction), after_final.
    disposition             text NOT NULL CHECK (disposition IN ('recorded', 'conflict', 'details_mismatch', 'after_final')),
    txn_type                text NOT NULL,
    txn_type_known          boolean NOT NULL,
    product_code            text NOT NULL,
    amount                  numeric,
    amount_text             text NOT NULL,
    created_date            timestamptz NOT NULL,
    updated_date            timestamptz NOT NULL,
    txn_date_time           timestamptz NOT NULL,
    -- Masked Aadhaar only: the check refuses anything with more than four digits.
    customer_identification text NOT NULL CHECK (length(regexp_replace(customer_identification, '[^0-9]', '', 'g')) <= 4),
    rrn                     text NOT NULL,
    username                text NOT NULL,
    param_b                 text NOT NULL,
    param_c                 text NOT NULL,
    flags                   text[] NOT NULL DEFAULT '{}',
    conflict                boolean NOT NULL DEFAULT false,
    contradicts_final       boolean NOT NULL DEFAULT false,
    received_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner_id, txn_id, content_hash)
);
CREATE INDEX partner_callbacks_txn ON partner_callbacks (partner_id, txn_id);
CREATE INDEX partner_callbacks_transaction ON partner_callbacks (transaction_id);

-- +goose Down
DROP TABLE partner_callbacks;
