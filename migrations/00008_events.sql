-- +goose Up
-- Events (#18): money movements raise events, written in the same
-- transaction as the movement, by the statement that moves the money (the
-- events table is the outbox); a relay publishes them and queues one
-- delivery per matching webhook endpoint of their recipients.
--
-- No triggers: the Django importer and the bench seeder insert transactions
-- directly and raise no events. Refusals write no event.
--
-- An event row holds a snapshot of its transaction as it stood right after
-- the event (a charge.created row keeps status 1 once the charge is
-- collected). customer_id and business_id are its recipients (business_id
-- only for a charge's events, and then it is the charge's business too).
-- No foreign keys: the rows it names are never deleted (users, wallets and
-- transactions are kept), and each key would make every movement take one
-- more KEY SHARE lock on its customer's and wallet's rows, which a hot
-- wallet's movements all share.
CREATE TABLE events (
    id                     uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    type                   text          NOT NULL CHECK (type IN
        ('wallet.deposited', 'wallet.withdrawn', 'charge.created', 'charge.collected', 'charge.rejected')),
    customer_id            bigint        NOT NULL,
    business_id            bigint,
    transaction_id         uuid          NOT NULL,
    amount                 numeric(11,2) NOT NULL,
    description            varchar(250)  NOT NULL,
    status                 smallint      NOT NULL,
    transaction_type       smallint      NOT NULL,
    wallet_id              uuid          NOT NULL,
    transaction_created_at timestamptz   NOT NULL,
    created_at             timestamptz   NOT NULL DEFAULT now()
);
-- A user's events, newest first: a user hears of an event as its customer
-- or as its business, and the list reads both indexes merged in order
-- (a UNION ALL of the two, no OR, no sort).
CREATE INDEX events_customer_idx ON events (customer_id, created_at DESC, id DESC);
CREATE INDEX events_business_idx ON events (business_id, created_at DESC, id DESC) WHERE business_id IS NOT NULL;
-- The outbox proper: one row per event not yet relayed, written with the
-- event and deleted by the relay as it publishes. It is apart from events so
-- that an event row is written once and never updated: marking it published
-- would write a new version of the row and of every one of its index entries
-- (the update could not be HOT), doubling what each movement costs the
-- database. seq is insertion order, the relay's order (close to commit
-- order: a transaction that commits late may be relayed after later ones).
-- No foreign key: the row is written by the same statement as its event.
CREATE TABLE event_outbox (
    seq       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  uuid        NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
-- The purge finds old events by time. Rows arrive in created_at order, so
-- a BRIN index serves it at almost no cost to the inserts.
CREATE INDEX events_created_brin ON events USING brin (created_at);

-- A user's webhook endpoints (at most 10, enforced by the service under a
-- lock of the owner's row). events NULL: every type.
CREATE TABLE webhook_endpoints (
    id         uuid        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    url        text        NOT NULL,
    events     text[]      CHECK (events <@ ARRAY['wallet.deposited', 'wallet.withdrawn', 'charge.created',
                                                  'charge.collected', 'charge.rejected']),
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_user_idx ON webhook_endpoints (user_id, created_at DESC, id DESC);

-- One event on its way to one endpoint. Deleting an endpoint deletes its
-- deliveries, pending and dead; purging an event deletes its (delivered or
-- dead) deliveries.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id     uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_status     integer,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    -- One delivery of an event per endpoint; also the index the cascade
    -- from an endpoint uses.
    CONSTRAINT webhook_deliveries_endpoint_event_key UNIQUE (endpoint_id, event_id)
);
-- Overdue pending deliveries (lost queue messages).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- An endpoint's dead letters, newest (by when they died) first.
CREATE INDEX webhook_deliveries_dead_idx ON webhook_deliveries (endpoint_id, updated_at DESC, id DESC) WHERE status = 'dead';
-- The purge's "no pending delivery" and the cascade from an event.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- move_money as in 00005 (same signature, outcomes and locks), and a
-- moved outcome also writes its event, in the same statement.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION move_money(p_wallet uuid, p_owner bigint, p_amount numeric, p_tx uuid,
    p_description varchar, p_type smallint, p_status smallint, p_max numeric,
    OUT outcome text, OUT w_uuid uuid, OUT w_user_id bigint, OUT w_is_business boolean,
    OUT w_balance numeric, OUT w_created_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT uuid, user_id, is_business, created_at INTO w_uuid, w_user_id, w_is_business, w_created_at
      FROM wallets WHERE uuid = p_wallet AND user_id = p_owner AND NOT is_business;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF p_amount > 0 AND NOT wallet_credit(p_wallet, p_amount, p_max) THEN
        outcome := 'overflow';
        RETURN;
    END IF;
    IF p_amount < 0 AND NOT wallet_debit(p_wallet, -p_amount) THEN
        outcome := 'insufficient';
        RETURN;
    END IF;
    WITH t AS (
        INSERT INTO transactions (uuid, wallet_id, customer_id, amount, description, status, type)
        VALUES (p_tx, p_wallet, p_owner, p_amount, p_description, p_status, p_type)
        RETURNING uuid, wallet_id, customer_id, amount, description, status, type, created_at),
    e AS (
        INSERT INTO events (type, customer_id, transaction_id, amount, description, status, transaction_type,
                            wallet_id, transaction_created_at)
        SELECT CASE WHEN t.amount > 0 THEN 'wallet.deposited' ELSE 'wallet.withdrawn' END, t.customer_id,
               t.uuid, t.amount, t.description, t.status, t.type, t.wallet_id, t.created_at
          FROM t
        RETURNING id)
    INSERT INTO event_outbox (event_id) SELECT id FROM e;
    SELECT w.balance + COALESCE((SELECT sum(s.balance) FROM balance_shards s WHERE s.wallet_id = w.uuid), 0)
      INTO w_balance FROM wallets w WHERE w.uuid = p_wallet;
    outcome := 'moved';
END
$$;
-- +goose StatementEnd

-- collect_charge as in 00005 (same signature, outcomes and locks), and a
-- collected or rejected outcome also writes its event: charge.collected
-- or charge.rejected, to the customer and the business.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION collect_charge(p_business bigint, p_charge uuid, p_max numeric,
    OUT outcome text, OUT t_uuid uuid, OUT t_amount numeric, OUT t_description varchar,
    OUT t_status smallint, OUT t_type smallint, OUT t_business_id bigint, OUT t_wallet_id uuid,
    OUT t_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    t transactions%ROWTYPE;
    business_wallet uuid;
BEGIN
    SELECT * INTO t FROM transactions
     WHERE uuid = p_charge AND business_id = p_business
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    t_uuid := t.uuid; t_amount := t.amount; t_description := t.description; t_status := t.status;
    t_type := t.type; t_business_id := t.business_id; t_wallet_id := t.wallet_id; t_created_at := t.created_at;
    IF t.status = 2 THEN
        outcome := 'already_processed';
        RETURN;
    END IF;
    SELECT w.uuid INTO business_wallet FROM wallets w WHERE w.user_id = p_business AND w.is_business;
    IF NOT FOUND THEN
        outcome := 'no_business_wallet';
        RETURN;
    END IF;
    IF NOT wallet_debit(t.wallet_id, t.amount) THEN
        UPDATE transactions SET status = 3, updated_at = now() WHERE uuid = t.uuid;
        t_status := 3;
        outcome := 'rejected';
        WITH e AS (
            INSERT INTO events (type, customer_id, business_id, transaction_id, amount, description, status,
                                transaction_type, wallet_id, transaction_created_at)
            VALUES ('charge.rejected', t.customer_id, t.business_id, t.uuid, t.amount, t.description, 3,
                    t.type, t.wallet_id, t.created_at)
            RETURNING id)
        INSERT INTO event_outbox (event_id) SELECT id FROM e;
        RETURN;
    END IF;
    IF NOT wallet_credit(business_wallet, t.amount, p_max) THEN
        RAISE EXCEPTION 'business wallet % would exceed %', business_wallet, p_max USING ERRCODE = 'WA001';
    END IF;
    UPDATE transactions SET status = 2, updated_at = now() WHERE uuid = t.uuid;
    t_status := 2;
    outcome := 'collected';
    WITH e AS (
        INSERT INTO events (type, customer_id, business_id, transaction_id, amount, description, status,
                            transaction_type, wallet_id, transaction_created_at)
        VALUES ('charge.collected', t.customer_id, t.business_id, t.uuid, t.amount, t.description, 2,
                t.type, t.wallet_id, t.created_at)
        RETURNING id)
    INSERT INTO event_outbox (event_id) SELECT id FROM e;
END
$$;
-- +goose StatementEnd

-- The runtime role (see 00006 for the rule): events are written by the
-- movements (as the caller: move_money and collect_charge run as it) with
-- their outbox row, which the relay deletes as it publishes, and events
-- are deleted only by the purge, never updated; endpoints are created,
-- listed and deleted; deliveries created by the relay and updated
-- by the worker (they are deleted only by the cascades, which run as the
-- tables' owner).
GRANT SELECT, INSERT, DELETE ON events TO wallets_app;      -- movements, list, purge (never updated)
GRANT SELECT, INSERT, DELETE ON event_outbox TO wallets_app;        -- movements, relay
-- The relay takes outbox rows FOR UPDATE SKIP LOCKED, which needs UPDATE on a
-- column: seq, an identity column that can only be set to a new number.
GRANT UPDATE (seq) ON event_outbox TO wallets_app;
GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO wallets_app;   -- create, list, delete
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO wallets_app;  -- relay, attempts, overdue
GRANT USAGE ON SEQUENCE event_outbox_seq_seq TO wallets_app;

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION move_money(p_wallet uuid, p_owner bigint, p_amount numeric, p_tx uuid,
    p_description varchar, p_type smallint, p_status smallint, p_max numeric,
    OUT outcome text, OUT w_uuid uuid, OUT w_user_id bigint, OUT w_is_business boolean,
    OUT w_balance numeric, OUT w_created_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT uuid, user_id, is_business, created_at INTO w_uuid, w_user_id, w_is_business, w_created_at
      FROM wallets WHERE uuid = p_wallet AND user_id = p_owner AND NOT is_business;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF p_amount > 0 AND NOT wallet_credit(p_wallet, p_amount, p_max) THEN
        outcome := 'overflow';
        RETURN;
    END IF;
    IF p_amount < 0 AND NOT wallet_debit(p_wallet, -p_amount) THEN
        outcome := 'insufficient';
        RETURN;
    END IF;
    INSERT INTO transactions (uuid, wallet_id, customer_id, amount, description, status, type)
    VALUES (p_tx, p_wallet, p_owner, p_amount, p_description, p_status, p_type);
    SELECT w.balance + COALESCE((SELECT sum(s.balance) FROM balance_shards s WHERE s.wallet_id = w.uuid), 0)
      INTO w_balance FROM wallets w WHERE w.uuid = p_wallet;
    outcome := 'moved';
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION collect_charge(p_business bigint, p_charge uuid, p_max numeric,
    OUT outcome text, OUT t_uuid uuid, OUT t_amount numeric, OUT t_description varchar,
    OUT t_status smallint, OUT t_type smallint, OUT t_business_id bigint, OUT t_wallet_id uuid,
    OUT t_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    t transactions%ROWTYPE;
    business_wallet uuid;
BEGIN
    SELECT * INTO t FROM transactions
     WHERE uuid = p_charge AND business_id = p_business
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    t_uuid := t.uuid; t_amount := t.amount; t_description := t.description; t_status := t.status;
    t_type := t.type; t_business_id := t.business_id; t_wallet_id := t.wallet_id; t_created_at := t.created_at;
    IF t.status = 2 THEN
        outcome := 'already_processed';
        RETURN;
    END IF;
    SELECT w.uuid INTO business_wallet FROM wallets w WHERE w.user_id = p_business AND w.is_business;
    IF NOT FOUND THEN
        outcome := 'no_business_wallet';
        RETURN;
    END IF;
    IF NOT wallet_debit(t.wallet_id, t.amount) THEN
        UPDATE transactions SET status = 3, updated_at = now() WHERE uuid = t.uuid;
        t_status := 3;
        outcome := 'rejected';
        RETURN;
    END IF;
    IF NOT wallet_credit(business_wallet, t.amount, p_max) THEN
        RAISE EXCEPTION 'business wallet % would exceed %', business_wallet, p_max USING ERRCODE = 'WA001';
    END IF;
    UPDATE transactions SET status = 2, updated_at = now() WHERE uuid = t.uuid;
    t_status := 2;
    outcome := 'collected';
END
$$;
-- +goose StatementEnd
DROP TABLE webhook_deliveries;
DROP TABLE event_outbox;
DROP TABLE webhook_endpoints;
DROP TABLE events;
