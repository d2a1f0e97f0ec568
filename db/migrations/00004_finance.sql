-- +goose NO TRANSACTION
-- +goose Up
-- Keyset pagination of the list and export walks (created_at, id). CONCURRENTLY: the table is
-- written by every callback. A build that was interrupted leaves an INVALID index behind.
DROP INDEX CONCURRENTLY IF EXISTS transactions_created;
CREATE INDEX CONCURRENTLY transactions_created ON transactions (created_at, id);
-- The daily statement's reversals and late finals look transactions up by when they became final.
DROP INDEX CONCURRENTLY IF EXISTS transactions_final;
CREATE INDEX CONCURRENTLY transactions_final ON transactions (final_at) WHERE final_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS transactions_day;
CREATE INDEX CONCURRENTLY transactions_day ON transactions (business_day, agent_user_code);

-- One row per transaction with the figures finance reads: Eko's commission, TDS, tid and bank
-- reference from the eko-response that reported the outcome (success preferred; a report after
-- the final state never counts), else from the latest inquiry that named them, and the partner's
-- txnId and RRN. The list, the export, the statement and the platform's events all read this one
-- definition.
CREATE OR REPLACE VIEW tx_finance AS
SELECT t.id, t.provider, t.client_ref_id, t.provider_ref, t.workflow_id, t.tx_type, t.agent_user_code,
       t.amount, t.state, t.state_reason, t.flagged, t.flag_reason, t.business_day, t.created_at,
       t.updated_at, t.final_at,
       er.commission, er.tds,
       coalesce(nullif(er.tid, ''), nullif(inq.tid, ''), pc.txn_id, '') AS tid,
       coalesce(nullif(er.bank_ref_num, ''), nullif(inq.bank_ref_num, ''), nullif(pc.rrn, ''), '') AS bank_ref_num
FROM transactions t
LEFT JOIN LATERAL (
    SELECT e.commission, e.tds, e.tid, e.bank_ref_num FROM eko_responses e
    WHERE e.transaction_id = t.id AND NOT e.after_final
    ORDER BY (e.tx_status = '0') DESC, e.id DESC LIMIT 1
) er ON true
LEFT JOIN LATERAL (
    SELECT v.detail ->> 'tid' AS tid, v.detail ->> 'bank_ref_num' AS bank_ref_num FROM tx_events v
    WHERE v.transaction_id = t.id AND v.kind = 'inquiry' AND coalesce(v.detail ->> 'tid', '') <> ''
    ORDER BY v.id DESC LIMIT 1
) inq ON true
LEFT JOIN LATERAL (
    SELECT p.txn_id::text AS txn_id, p.rrn FROM partner_callbacks p
    WHERE p.transaction_id = t.id AND p.disposition = 'recorded'
    ORDER BY p.id DESC LIMIT 1
) pc ON true;

-- Events to the platform (WEBHOOK_URL). event_id is stable per transaction and state; the body is
-- fixed at the first attempt, so every retry sends the same bytes (only the signature's time
-- changes). acknowledged_at set means the platform answered 2xx: it is never sent again.
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id        text PRIMARY KEY,
    transaction_id  bigint REFERENCES transactions (id),
    type            text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    acknowledged_at timestamptz,
    -- Past WEBHOOK_DEADLINE without acknowledgement: set aside, the transaction flagged; the
    -- re-send (API, CLI) clears it.
    gave_up_at      timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_events_transaction ON webhook_events (transaction_id, created_at);

-- One row per reconciliation run.
CREATE TABLE IF NOT EXISTS reconciliations (
    id            bigserial PRIMARY KEY,
    business_day  date NOT NULL,
    workflow_id   text NOT NULL,
    run_id        text NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    open_checked  integer NOT NULL,
    restarted     integer NOT NULL,
    success_total integer NOT NULL,
    sampled       integer NOT NULL,
    mismatches    integer NOT NULL,
    detail        jsonb NOT NULL,
    UNIQUE (run_id)
);

-- +goose Down
DROP TABLE IF EXISTS reconciliations;
DROP TABLE IF EXISTS webhook_events;
DROP VIEW IF EXISTS tx_finance;
DROP INDEX CONCURRENTLY IF EXISTS transactions_day;
DROP INDEX CONCURRENTLY IF EXISTS transactions_final;
DROP INDEX CONCURRENTLY IF EXISTS transactions_created;
