-- +goose Up
-- collect_charge collects charge p_charge at business p_business in one
-- statement, so that the rows it changes stay locked for one round trip, not
-- several: the charge first, then the customer's wallet, then — last, for
-- the shortest hold of the hottest row — the business's wallet. (Customer
-- wallets are always locked before business wallets, so collections and
-- movements never wait on each other in a cycle.)
--
-- outcome is one of:
--   collected           the money moved, the charge is accepted (2);
--   rejected            the customer's balance is too low: the charge is
--                       marked rejected (3), nothing else changes;
--   not_found           no such charge at this business;
--   already_processed   the charge was collected before;
--   no_business_wallet  the business has no wallet;
-- and the charge's columns as they are afterwards. A business balance that
-- would pass p_max raises SQLSTATE WA001 and changes nothing.
-- +goose StatementBegin
CREATE FUNCTION collect_charge(p_business bigint, p_charge uuid, p_max numeric,
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

-- +goose Down
DROP FUNCTION collect_charge(bigint, uuid, numeric);
