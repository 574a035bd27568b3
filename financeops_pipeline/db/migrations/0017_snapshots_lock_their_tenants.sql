-- Two batches of one tenant committing at once (slices of a day posted in parallel, or two days of a
-- backfill) upsert the same daily balance rows, each in its own hash order: each could hold a row the other
-- waits for, a deadlock. The snapshot step now first takes a lock per tenant, in tenant order, held to commit:
-- concurrent batches still insert their entries and postings at once and queue only for this last step.
-- The (tenant, day) pairs come from one pass over the batch, which also gives the day list the loop needs (an
-- insert of no rows still fires the trigger: both lists are then empty).
CREATE OR REPLACE FUNCTION ledger.snapshot_daily_balances() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
SET work_mem = '256MB'
AS $$
DECLARE
    v_tenant text;
    v_day date;
    v_tenants text[];
    v_days date[];
BEGIN
    SELECT array_agg(DISTINCT tenant ORDER BY tenant), array_agg(DISTINCT business_date ORDER BY business_date)
    INTO v_tenants, v_days
    FROM (SELECT tenant, business_date FROM new_postings GROUP BY 1, 2) batch;
    FOREACH v_tenant IN ARRAY coalesce(v_tenants, '{}') LOOP
        PERFORM pg_advisory_xact_lock(hashtext('ledger.daily_balances'), hashtext(v_tenant));
    END LOOP;
    FOREACH v_day IN ARRAY coalesce(v_days, '{}') LOOP
        WITH movement AS MATERIALIZED (
            SELECT tenant, account_code, currency,
                   coalesce(sum(amount_minor) FILTER (WHERE amount_minor > 0), 0) AS debits,
                   coalesce(-sum(amount_minor) FILTER (WHERE amount_minor < 0), 0) AS credits
            FROM new_postings WHERE business_date = v_day GROUP BY 1, 2, 3
        ), later_days AS (
            UPDATE ledger.daily_balances b SET balance_minor = b.balance_minor + m.debits - m.credits
            FROM movement m
            WHERE b.tenant = m.tenant AND b.account_code = m.account_code AND b.currency = m.currency
              AND b.business_date > v_day
        )
        INSERT INTO ledger.daily_balances AS b
            (tenant, account_code, currency, business_date, debits_minor, credits_minor, balance_minor)
        SELECT m.tenant, m.account_code, m.currency, v_day, m.debits, m.credits,
               coalesce((SELECT p.balance_minor FROM ledger.daily_balances p
                         WHERE p.tenant = m.tenant AND p.account_code = m.account_code
                           AND p.currency = m.currency AND p.business_date < v_day
                         ORDER BY p.business_date DESC LIMIT 1), 0) + m.debits - m.credits
        FROM movement m
        ON CONFLICT (tenant, account_code, currency, business_date) DO UPDATE
            SET debits_minor = b.debits_minor + excluded.debits_minor,
                credits_minor = b.credits_minor + excluded.credits_minor,
                balance_minor = b.balance_minor + (excluded.debits_minor - excluded.credits_minor);
    END LOOP;
    RETURN NULL;
END $$;
