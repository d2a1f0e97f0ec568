-- +goose Up
-- Every request for a gateway session (POST /v1/gateway/session) that passed authentication:
-- issued ones, and refusals of unknown or suspended agents. With REQUIRE_GATEWAY_SESSION a
-- debit-hook is allowed only for an agent with an issued launch in the last
-- GATEWAY_SESSION_WINDOW, so a forged debit-hook needs a real, authenticated launch.
CREATE TABLE gateway_launches (
    id                   bigserial PRIMARY KEY,
    launched_at          timestamptz NOT NULL DEFAULT now(),
    user_code            text NOT NULL,
    outcome              text NOT NULL CHECK (outcome IN ('issued', 'unknown_agent', 'agent_suspended')),
    auth                 text NOT NULL CHECK (auth IN ('gateway_token', 'launch_token')),
    secret_key_timestamp text NOT NULL DEFAULT '',
    remote_addr          text NOT NULL DEFAULT '',
    user_agent           text NOT NULL DEFAULT ''
);
CREATE INDEX gateway_launches_recent ON gateway_launches (user_code, launched_at DESC) WHERE outcome = 'issued';

-- +goose Down
DROP TABLE gateway_launches;
