-- +goose Up
-- Sub-balances, so that credits to one wallet do not serialise on its row.
--
-- A wallet's balance is its row's balance (the "main" part) plus the
-- balances of its shards. A credit goes to one shard, its backend's (the
-- process id modulo 16: movements running at once run on different
-- backends), and locks only that shard's row; a debit takes from the main
-- part and locks only the wallet's row. Only when that is not enough does a movement lock
-- the wallet's row and then all its shards, in shard order, and settle
-- exactly:
--   - a debit the main part cannot cover sweeps the shards into it first;
--     the balance never goes negative (each part is >= 0);
--   - a credit the chosen shard has no room for checks the whole balance
--     against the limit, credits the shard, and shares what is left below
--     the limit out again as room.
-- room is headroom reserved below the limit: a shard's credit may use its
-- own room without looking at the others, because at all times
--     main + sum(shard balance) + sum(shard room) <= the limit,
-- so the limit holds exactly too. Near the limit the rooms shrink and
-- credits take the locked path: they serialise only there.
--
-- Lock order, so that nothing deadlocks: a charge, then the customer's
-- wallet, then the business's; within a wallet, its row, then its shards
-- by number. A credit's fast path locks one shard and nothing of the wallet
-- after it.
CREATE TABLE balance_shards (
    wallet_id uuid          NOT NULL REFERENCES wallets (uuid),
    shard     smallint      NOT NULL CHECK (shard >= 0 AND shard < 16),
    balance   numeric(11,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    room      numeric(11,2) NOT NULL DEFAULT 0 CHECK (room >= 0),
    PRIMARY KEY (wallet_id, shard)
);

-- wallet_balance is wallet p_wallet's whole balance, as the statement
-- calling it sees the rows. (The functions below spell its query out: a
-- PL/pgSQL statement keeps its plan for the session, a SQL function called
-- from one is planned again in every transaction.)
-- +goose StatementBegin
CREATE FUNCTION wallet_balance(p_wallet uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT w.balance + COALESCE((SELECT sum(s.balance) FROM balance_shards s WHERE s.wallet_id = w.uuid), 0)
      FROM wallets w WHERE w.uuid = p_wallet
$$;
-- +goose StatementEnd

-- wallet_lock locks wallet p_wallet whole, for the locked path of a credit
-- or a debit: its row, then every shard in order (only a holder of the row
-- creates shards, so with it locked the set of shards is fixed); and
-- returns its balance, read after the locks.
-- +goose StatementBegin
CREATE FUNCTION wallet_lock(p_wallet uuid) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    PERFORM 1 FROM wallets WHERE uuid = p_wallet FOR NO KEY UPDATE;
    PERFORM 1 FROM balance_shards WHERE wallet_id = p_wallet ORDER BY shard FOR UPDATE;
    SELECT w.balance + COALESCE((SELECT sum(s.balance) FROM balance_shards s WHERE s.wallet_id = w.uuid), 0)
      INTO total FROM wallets w WHERE w.uuid = p_wallet;
    RETURN total;
END
$$;
-- +goose StatementEnd

-- wallet_credit adds p_amount (> 0) to wallet p_wallet, which exists, and
-- returns true; or changes nothing and returns false when the balance would
-- pass p_max.
-- +goose StatementBegin
CREATE FUNCTION wallet_credit(p_wallet uuid, p_amount numeric, p_max numeric) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    -- The backend's shard: movements running at once run on different
    -- backends, so they meet on one shard less often than at random.
    k     smallint := pg_backend_pid() % 16;
    total numeric;
BEGIN
    UPDATE balance_shards SET balance = balance + p_amount, room = room - p_amount
     WHERE wallet_id = p_wallet AND shard = k AND room >= p_amount;
    IF FOUND THEN
        RETURN true;
    END IF;
    -- The locked path: the whole wallet; only here are shards created.
    total := wallet_lock(p_wallet);
    IF total > p_max - p_amount THEN
        RETURN false;
    END IF;
    INSERT INTO balance_shards AS s (wallet_id, shard, balance) VALUES (p_wallet, k, p_amount)
        ON CONFLICT (wallet_id, shard) DO UPDATE SET balance = s.balance + p_amount;
    -- Share what is left below the limit: at most a sixteenth a shard.
    UPDATE balance_shards SET room = trunc((p_max - total - p_amount) / 16, 2)
     WHERE wallet_id = p_wallet;
    RETURN true;
END
$$;
-- +goose StatementEnd

-- wallet_debit takes p_amount (> 0) from wallet p_wallet, which exists, and
-- returns true; or changes nothing and returns false when the balance is
-- lower than p_amount.
-- +goose StatementBegin
CREATE FUNCTION wallet_debit(p_wallet uuid, p_amount numeric) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    UPDATE wallets SET balance = balance - p_amount, updated_at = now()
     WHERE uuid = p_wallet AND balance >= p_amount;
    IF FOUND THEN
        RETURN true;
    END IF;
    -- The locked path: the whole wallet; sweep the shards into the main
    -- part, then take.
    total := wallet_lock(p_wallet);
    IF total < p_amount THEN
        RETURN false;
    END IF;
    UPDATE balance_shards SET balance = 0 WHERE wallet_id = p_wallet AND balance > 0;
    UPDATE wallets SET balance = total - p_amount, updated_at = now() WHERE uuid = p_wallet;
    RETURN true;
END
$$;
-- +goose StatementEnd

-- move_money moves p_amount (> 0 a credit, < 0 a debit) on customer p_owner's
-- wallet p_wallet and records it as transaction p_tx, in one statement.
-- outcome is one of:
--   moved          the money moved; w_* is the wallet with its new balance;
--   not_found      no such customer wallet of p_owner's;
--   overflow       the balance would pass p_max;
--   insufficient   the balance would go negative;
-- and on a refusal nothing changes.
-- +goose StatementBegin
CREATE FUNCTION move_money(p_wallet uuid, p_owner bigint, p_amount numeric, p_tx uuid,
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

-- collect_charge as in 00003, with the two wallets' balances moved by
-- wallet_debit and wallet_credit.
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

-- The counters of 00004 get the same treatment: 16 shards instead of 8 (a
-- hot wallet's deposits each add to its count), the backend's rather than
-- one at random.
-- contract: the check bounded only the shard numbers the trigger picks; every release reads a count as the sum of its scope's rows, whatever their shards
ALTER TABLE transaction_counts DROP CONSTRAINT transaction_counts_shard_check;
ALTER TABLE transaction_counts ADD CONSTRAINT transaction_counts_shard_check CHECK (shard >= 0 AND shard < 16);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shard smallint := pg_backend_pid() % 16;
    sign  bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    -- One shard per statement and the scopes in order: two statements
    -- that share counter rows lock them in the same order.
    INSERT INTO transaction_counts (scope, shard, n)
    SELECT scope, shard, sign * count(*) FROM (
        SELECT 'w' || wallet_id AS scope FROM changed
        UNION ALL
        SELECT 'b' || business_id FROM changed WHERE business_id IS NOT NULL
        UNION ALL
        SELECT 'c' || customer_id || '@' || business_id FROM changed WHERE business_id IS NOT NULL
    ) rows
    GROUP BY scope
    ORDER BY scope
    ON CONFLICT ON CONSTRAINT transaction_counts_pkey DO UPDATE SET n = transaction_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- The counters back to 8 shards, each count kept.
INSERT INTO transaction_counts AS c (scope, shard, n)
SELECT scope, shard % 8, sum(n) FROM transaction_counts WHERE shard >= 8 GROUP BY scope, shard % 8
ON CONFLICT ON CONSTRAINT transaction_counts_pkey DO UPDATE SET n = c.n + EXCLUDED.n;
DELETE FROM transaction_counts WHERE shard >= 8;
ALTER TABLE transaction_counts DROP CONSTRAINT transaction_counts_shard_check;
ALTER TABLE transaction_counts ADD CONSTRAINT transaction_counts_shard_check CHECK (shard >= 0 AND shard < 8);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shard smallint := floor(random() * 8)::smallint;
    sign  bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO transaction_counts (scope, shard, n)
    SELECT scope, shard, sign * count(*) FROM (
        SELECT 'w' || wallet_id AS scope FROM changed
        UNION ALL
        SELECT 'b' || business_id FROM changed WHERE business_id IS NOT NULL
        UNION ALL
        SELECT 'c' || customer_id || '@' || business_id FROM changed WHERE business_id IS NOT NULL
    ) rows
    GROUP BY scope
    ORDER BY scope
    ON CONFLICT ON CONSTRAINT transaction_counts_pkey DO UPDATE SET n = transaction_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- The shards' balances go back into their wallets' rows first.
UPDATE wallets w SET balance = w.balance + s.sum
  FROM (SELECT wallet_id, sum(balance) AS sum FROM balance_shards GROUP BY wallet_id) s
 WHERE w.uuid = s.wallet_id;
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
    UPDATE wallets SET balance = balance - t.amount, updated_at = now()
     WHERE uuid = t.wallet_id AND balance >= t.amount;
    IF NOT FOUND THEN
        UPDATE transactions SET status = 3, updated_at = now() WHERE uuid = t.uuid;
        t_status := 3;
        outcome := 'rejected';
        RETURN;
    END IF;
    UPDATE wallets SET balance = balance + t.amount, updated_at = now()
     WHERE uuid = business_wallet AND balance <= p_max - t.amount;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'business wallet % would exceed %', business_wallet, p_max USING ERRCODE = 'WA001';
    END IF;
    UPDATE transactions SET status = 2, updated_at = now() WHERE uuid = t.uuid;
    t_status := 2;
    outcome := 'collected';
END
$$;
-- +goose StatementEnd
DROP FUNCTION move_money(uuid, bigint, numeric, uuid, varchar, smallint, smallint, numeric);
DROP FUNCTION wallet_debit(uuid, numeric);
DROP FUNCTION wallet_credit(uuid, numeric, numeric);
DROP FUNCTION wallet_lock(uuid);
DROP FUNCTION wallet_balance(uuid);
DROP TABLE balance_shards;
