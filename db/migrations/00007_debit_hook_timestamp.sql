-- +goose Up
-- The secret_key_timestamp that signed a debit-hook's first allow. A repeat of the debit-hook is
-- signed with it again, so that it gets the very same confirmation (secret_key, timestamp,
-- request_hash), never a second one. Kept as the exact digits signed. NULL for partner
-- transactions and for Eko transactions allowed before this column existed (their first repeat
-- sets it). A nullable column without a default: adding it rewrites nothing.
ALTER TABLE transactions ADD COLUMN secret_key_timestamp text;

-- +goose Down
ALTER TABLE transactions DROP COLUMN secret_key_timestamp;
