-- +goose Up
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      varchar(150) NOT NULL,
    email         varchar(254) NOT NULL,
    first_name    varchar(150) NOT NULL DEFAULT '',
    last_name     varchar(150) NOT NULL DEFAULT '',
    type          smallint     NOT NULL DEFAULT 1 CHECK (type IN (1, 2)),
    password_hash text         NOT NULL,
    is_active     boolean      NOT NULL DEFAULT true,
    -- token_version is copied into every JWT; bumping it revokes them all.
    token_version integer      NOT NULL DEFAULT 1 CHECK (token_version > 0),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_username_not_blank CHECK (username <> ''),
    CONSTRAINT users_email_not_blank CHECK (email <> '')
);
-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
-- The business directory: active businesses by id.
CREATE INDEX users_active_business_idx ON users (id) WHERE type = 2 AND is_active;

CREATE TABLE wallets (
    uuid        uuid          PRIMARY KEY,
    user_id     bigint        NOT NULL REFERENCES users (id),
    -- is_business marks the one wallet a business collects charges into.
    is_business boolean       NOT NULL DEFAULT false,
    balance     numeric(11,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now()
);
-- One wallet per business.
CREATE UNIQUE INDEX wallets_one_per_business ON wallets (user_id) WHERE is_business;
-- A customer's wallets, newest first.
CREATE INDEX wallets_user_created_idx ON wallets (user_id, created_at DESC, uuid DESC) WHERE NOT is_business;

CREATE TABLE transactions (
    uuid        uuid          PRIMARY KEY,
    wallet_id   uuid          NOT NULL REFERENCES wallets (uuid),
    -- customer_id is the owner of wallet_id, kept here so a customer's charges
    -- at one business are served by one index.
    customer_id bigint        NOT NULL REFERENCES users (id),
    business_id bigint        REFERENCES users (id),
    amount      numeric(11,2) NOT NULL CHECK (amount <> 0),
    description varchar(250)  NOT NULL DEFAULT '',
    status      smallint      NOT NULL CHECK (status IN (1, 2, 3)),
    type        smallint      NOT NULL CHECK (type IN (1, 2)),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    -- A deposit is positive and involves no business; a withdrawal is a
    -- negative type-2 row without a business; a charge is a positive type-2
    -- row at a business.
    CONSTRAINT transactions_kind CHECK (
        (type = 1 AND amount > 0 AND business_id IS NULL AND status = 2)
     OR (type = 2 AND amount < 0 AND business_id IS NULL AND status = 2)
     OR (type = 2 AND amount > 0 AND business_id IS NOT NULL)
    )
);
-- Lists, each in the order it is served (newest first, ties by uuid).
CREATE INDEX transactions_wallet_idx ON transactions (wallet_id, created_at DESC, uuid DESC);
CREATE INDEX transactions_business_idx ON transactions (business_id, created_at DESC, uuid DESC)
    WHERE business_id IS NOT NULL;
CREATE INDEX transactions_customer_business_idx ON transactions (customer_id, business_id, created_at DESC, uuid DESC)
    WHERE business_id IS NOT NULL;

-- Idempotency keys: one row per (user, key). A row is claimed (status
-- 'pending', lock_token set) before the work starts, and completed in the same
-- database transaction as the work, so a retry can never apply it twice.
CREATE TABLE idempotency_keys (
    user_id         bigint       NOT NULL, -- 0 for anonymous callers
    key             varchar(255) NOT NULL,
    request_hash    bytea        NOT NULL,
    status          text         NOT NULL CHECK (status IN ('pending', 'done')),
    lock_token      uuid,
    locked_at       timestamptz,
    response_status integer,
    response_body   bytea,
    -- headers of the stored response worth replaying (Set-Cookie, Retry-After)
    response_headers jsonb,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    expires_at      timestamptz  NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_done_has_response CHECK (status <> 'done' OR response_status IS NOT NULL)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Failed logins, counted per username over a sliding window.
CREATE TABLE login_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username     varchar(150) NOT NULL,
    attempted_at timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_username_idx ON login_attempts (username, attempted_at DESC);

-- +goose Down
DROP TABLE login_attempts;
DROP TABLE idempotency_keys;
DROP TABLE transactions;
DROP TABLE wallets;
DROP TABLE users;
