-- +goose Up
-- Two database roles: the one that runs the migrations owns the schema
-- (`wallets` in AWS), and the functions connect as `wallets_app`, which may
-- read and write the rows the API needs and nothing else: no DROP, ALTER,
-- TRUNCATE, TRIGGER or CREATE, no DELETE where the service never deletes,
-- and no direct write to the transaction counters (only their trigger,
-- which runs as the owner, writes them).
--
-- The rule for later migrations: a migration that adds a table, a sequence
-- or a function the service uses grants wallets_app exactly what it needs
-- there, in the same migration (no ALTER DEFAULT PRIVILEGES: a new table is
-- closed until a migration opens it), and adds its row to the table of
-- expected grants in internal/postgres/roles_test.go.
--
-- The role is cluster-wide: created when missing (another database on the
-- server, or a concurrent migration, may have made it). In Aurora it
-- authenticates with IAM (rds_iam, which the owner holds WITH ADMIN OPTION:
-- see infra/database.go); locally it logs in as the server's pg_hba allows.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wallets_app') THEN
        BEGIN
            CREATE ROLE wallets_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by a concurrent migration
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO wallets_app;
    END IF;
END
$$;
-- +goose StatementEnd

-- The schema: look things up, create nothing (PostgreSQL 15 no longer lets
-- PUBLIC create in public; say so for older servers too).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO wallets_app;

-- Tables: what internal/postgres does to each.
GRANT SELECT, INSERT, UPDATE ON users TO wallets_app;                    -- sign-up, profile, password, deactivation (never deleted)
GRANT SELECT, INSERT, UPDATE ON wallets TO wallets_app;                  -- open, balances
GRANT SELECT, INSERT, UPDATE ON balance_shards TO wallets_app;           -- sub-balances
GRANT SELECT, INSERT, UPDATE ON transactions TO wallets_app;             -- movements, charges' status (never deleted)
GRANT SELECT ON transaction_counts TO wallets_app;                       -- list counts (written by the trigger)
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO wallets_app; -- claims, answers, purge
GRANT SELECT, INSERT, DELETE ON login_attempts TO wallets_app;           -- throttle, purge
-- import_runs: the Django importer's, run by an operator as the owner.

-- Identity columns the service inserts into.
GRANT USAGE ON SEQUENCE users_id_seq, login_attempts_id_seq TO wallets_app;

-- Functions: only the service's, only for it. (EXECUTE is PUBLIC's by
-- default; the functions run as their caller, so the ones move_money and
-- collect_charge call need the grant too.)
REVOKE EXECUTE ON FUNCTION move_money, collect_charge, wallet_balance, wallet_lock, wallet_credit,
    wallet_debit, count_transactions FROM PUBLIC;
GRANT EXECUTE ON FUNCTION move_money, collect_charge, wallet_balance, wallet_lock, wallet_credit,
    wallet_debit TO wallets_app;

-- The counters' trigger writes transaction_counts as the owner, so the
-- runtime role needs (and has) no write on the counters; a fixed
-- search_path keeps it from resolving names the caller planted.
ALTER FUNCTION count_transactions() SECURITY DEFINER SET search_path = public, pg_temp;

-- +goose Down
ALTER FUNCTION count_transactions() SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION move_money, collect_charge, wallet_balance, wallet_lock, wallet_credit,
    wallet_debit, count_transactions TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM wallets_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM wallets_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM wallets_app;
REVOKE USAGE ON SCHEMA public FROM wallets_app;
-- The role itself stays: it is the cluster's, and other databases on the
-- server may use it.
