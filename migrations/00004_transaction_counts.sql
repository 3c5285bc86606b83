-- +goose Up
-- Exact counts of the transaction lists, kept as the rows are written, so a
-- page-number list answers its "count" without counting rows: one wallet's
-- transactions ('w' || wallet uuid), the charges at one business
-- ('b' || business id), one customer's charges at one business
-- ('c' || customer id || '@' || business id). Each count is split over
-- shards, each statement adding to one shard picked at random, so that
-- writers to one hot list rarely wait on the same counter row; a count is
-- the sum of its shards. (Transactions are never deleted by the service; a
-- delete is counted too.)
CREATE TABLE transaction_counts (
    scope text     NOT NULL,
    shard smallint NOT NULL CHECK (shard >= 0 AND shard < 8),
    n     bigint   NOT NULL,
    PRIMARY KEY (scope, shard)
);

-- +goose StatementBegin
CREATE FUNCTION count_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shard smallint := floor(random() * 8)::smallint;
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

CREATE TRIGGER transactions_counted_insert AFTER INSERT ON transactions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_transactions();
CREATE TRIGGER transactions_counted_delete AFTER DELETE ON transactions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_transactions();

-- The rows written before this migration.
INSERT INTO transaction_counts (scope, shard, n)
SELECT scope, 0, count(*) FROM (
    SELECT 'w' || wallet_id AS scope FROM transactions
    UNION ALL
    SELECT 'b' || business_id FROM transactions WHERE business_id IS NOT NULL
    UNION ALL
    SELECT 'c' || customer_id || '@' || business_id FROM transactions WHERE business_id IS NOT NULL
) rows
GROUP BY scope;

-- +goose Down
DROP TRIGGER transactions_counted_delete ON transactions;
DROP TRIGGER transactions_counted_insert ON transactions;
DROP FUNCTION count_transactions();
DROP TABLE transaction_counts;
