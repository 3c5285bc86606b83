-- +goose Up
-- The login throttle counts failures per username and source address (the
-- caller's API Gateway sourceIp) as well as per username: a stranger
-- guessing from elsewhere exhausts only their own source's allowance, and
-- a per-username ceiling still bounds guesses spread over many sources.
-- source is nullable: rows written before this migration have none and
-- count only towards the per-username ceiling until they leave the window
-- (15 minutes). The service writes '' for a request without a source.
ALTER TABLE login_attempts ADD COLUMN source text;
-- The per-source count; the per-username ceiling and the window's delete
-- keep using login_attempts_username_idx (username, attempted_at DESC).
CREATE INDEX login_attempts_username_source_idx ON login_attempts (username, source, attempted_at DESC);

-- Wrong old passwords given to change-password, counted per user over a
-- sliding window like failed logins. Users are never deleted (only
-- deactivated), so the cascade only matters to an operator.
CREATE TABLE change_password_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_password_attempts_user_idx ON change_password_attempts (user_id, attempted_at DESC);

-- The runtime role: record and count attempts, forget refused or
-- successful ones and purge old ones (see 00006 for the rule).
GRANT SELECT, INSERT, DELETE ON change_password_attempts TO wallets_app; -- throttle, purge
GRANT USAGE ON SEQUENCE change_password_attempts_id_seq TO wallets_app;

-- +goose Down
DROP TABLE change_password_attempts;
DROP INDEX login_attempts_username_source_idx;
ALTER TABLE login_attempts DROP COLUMN source;
