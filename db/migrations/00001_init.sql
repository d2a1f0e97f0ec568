-- +goose Up
-- Agents are the bank correspondents whose user_code arrives in every debit-hook.
CREATE TABLE agents (
    user_code             text PRIMARY KEY CHECK (user_code ~ '^[0-9A-Za-z_-]{1,32}$'),
    name                  text NOT NULL DEFAULT '',
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- NULL means "use the configured default".
    daily_cash_count_limit  integer CHECK (daily_cash_count_limit >= 0),
    daily_cash_amount_limit numeric(16, 2) CHECK (daily_cash_amount_limit >= 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE transactions (
    id                bigserial PRIMARY KEY,
    provider          text NOT NULL CHECK (provider ~ '^(eko|partner:.+)$'),
    -- Our key for the transaction: Eko's client_ref_id, or ours with CLIENT_REF_ID_SOURCE=own.
    client_ref_id     text NOT NULL CHECK (char_length(client_ref_id) BETWEEN 1 AND 20),
    -- The reference the provider sent first (Eko's client_ref_id); equals client_ref_id unless we
    -- generated our own.
    provider_ref      text NOT NULL CHECK (char_length(provider_ref) BETWEEN 1 AND 40),
    workflow_id       text NOT NULL UNIQUE,
    tx_type           text NOT NULL,
    agent_user_code   text,
    customer_mobile   text,
    bank_code         text,
    amount            numeric(16, 2),
    amount_text       text,
    details_hash      text NOT NULL,
    business_day      date NOT NULL,
    state             text NOT NULL CHECK (state IN ('pending', 'inquiry', 'reversal_pending', 'unknown',
                          'needs_review', 'success', 'failed', 'reversed', 'expired')),
    state_reason      text NOT NULL DEFAULT '',
    flagged           boolean NOT NULL DEFAULT false,
    flag_reason       text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    final_at          timestamptz,
    UNIQUE (provider, client_ref_id),
    UNIQUE (provider, provider_ref)
);
CREATE INDEX transactions_agent_day ON transactions (agent_user_code, business_day) WHERE tx_type = 'cash_withdrawal';
CREATE INDEX transactions_open ON transactions (state) WHERE final_at IS NULL;

-- Every request that reached a callback endpoint, stored before it is acted on. Full Aadhaar
-- numbers are masked before the body is written; secrets are never among the headers kept.
CREATE TABLE inbound_requests (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    remote_addr     text NOT NULL,
    headers         jsonb NOT NULL DEFAULT '{}',
    body            bytea NOT NULL,
    body_size       bigint NOT NULL,
    body_truncated  boolean NOT NULL DEFAULT false,
    body_redacted   boolean NOT NULL DEFAULT false,
    action          text NOT NULL DEFAULT '',
    reference       text NOT NULL DEFAULT '',
    transaction_id  bigint REFERENCES transactions (id),
    outcome         text NOT NULL,
    outcome_detail  text NOT NULL DEFAULT '',
    http_status     integer NOT NULL
);
CREATE INDEX inbound_requests_reference ON inbound_requests (reference) WHERE reference <> '';
CREATE INDEX inbound_requests_transaction ON inbound_requests (transaction_id);

-- eko-response callbacks. Every field of detail.response is kept in "response"; the ones we use
-- are also typed columns. (client_ref_id, content_hash) makes a repeated response a no-op.
CREATE TABLE eko_responses (
    id                 bigserial PRIMARY KEY,
    inbound_request_id bigint NOT NULL REFERENCES inbound_requests (id),
    transaction_id     bigint REFERENCES transactions (id),
    client_ref_id      text NOT NULL,
    content_hash       text NOT NULL,
    tx_status          text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT '',
    message            text NOT NULL DEFAULT '',
    tid                text NOT NULL DEFAULT '',
    bank_ref_num       text NOT NULL DEFAULT '',
    amount             numeric,
    commission         numeric,
    tds                numeric,
    fee                numeric,
    balance            numeric,
    customer_balance   numeric,
    aadhaar_masked     text NOT NULL DEFAULT '',
    user_code          text NOT NULL DEFAULT '',
    response           jsonb NOT NULL,
    unknown_reference  boolean NOT NULL DEFAULT false,
    after_final        boolean NOT NULL DEFAULT false,
    contradicts_final  boolean NOT NULL DEFAULT false,
    received_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (client_ref_id, content_hash)
);
CREATE INDEX eko_responses_transaction ON eko_responses (transaction_id);

-- The transaction's event history, as operators read it. dedupe_key makes retried writes
-- (activities, relays) idempotent.
CREATE TABLE tx_events (
    id             bigserial PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES transactions (id),
    at             timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL,
    from_state     text NOT NULL DEFAULT '',
    to_state       text NOT NULL DEFAULT '',
    detail         jsonb NOT NULL DEFAULT '{}',
    dedupe_key     text NOT NULL,
    UNIQUE (transaction_id, dedupe_key)
);

-- Transactional outbox: what must reach Temporal, committed with the change that caused it.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('start', 'signal')),
    workflow_id   text NOT NULL,
    signal_name   text NOT NULL DEFAULT '',
    payload       jsonb NOT NULL,
    dedupe_key    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    available_at  timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text NOT NULL DEFAULT '',
    delivered_at  timestamptz,
    delivery_note text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (available_at, id) WHERE delivered_at IS NULL;

-- +goose StatementBegin
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One wake-up per statement; the relay reads the table, the payload is only a hint.
    PERFORM pg_notify('aepsflow_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- +goose Down
DROP TABLE outbox;
DROP FUNCTION outbox_notify();
DROP TABLE tx_events;
DROP TABLE eko_responses;
DROP TABLE inbound_requests;
DROP TABLE transactions;
DROP TABLE agents;
