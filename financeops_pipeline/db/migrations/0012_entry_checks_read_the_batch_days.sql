-- The balance trigger's entry checks joined the batch to every journal entry ever posted: with nested loops
-- turned off (0009), posting a day of 2k entries into a ledger of 1M entries seq-scanned all 1M twice
-- (~320 ms), and the cost grew with history. One check now reads only the entries of the batch's tenants and
-- days, through journal_entries (tenant, business_date); a posting whose entry has another tenant or date is
-- still refused, because it is not found there. Behaviour is unchanged: same checks, same messages.
CREATE OR REPLACE FUNCTION ledger.check_and_snapshot_postings() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
SET work_mem = '256MB'
AS $$
DECLARE
    v_bad record;
    v_day date;
    v_tenants text[];
    v_first date;
    v_last date;
BEGIN
    SELECT entry_id, currency, sum(amount_minor) AS total INTO v_bad
    FROM new_postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: postings sum to %',
            v_bad.entry_id, v_bad.currency, v_bad.total USING ERRCODE = 'check_violation';
    END IF;

    -- Every posting belongs to an entry of the same tenant and date, created in this transaction: an entry is
    -- posted whole, adding lines later is refused (xmin instead of re-counting keeps this O(new rows)).
    SELECT array_agg(DISTINCT tenant), min(business_date), max(business_date) INTO v_tenants, v_first, v_last
    FROM new_postings;
    SELECT n.entry_id, e.entry_id IS NULL AS missing INTO v_bad
    FROM (SELECT DISTINCT entry_id, tenant, business_date FROM new_postings) n
    LEFT JOIN (SELECT entry_id, tenant, business_date, xmin FROM ledger.journal_entries
               WHERE tenant = ANY (v_tenants) AND business_date BETWEEN v_first AND v_last) e
           ON e.entry_id = n.entry_id AND e.tenant = n.tenant AND e.business_date = n.business_date
    WHERE e.entry_id IS NULL OR e.xmin <> pg_current_xact_id()::xid
    ORDER BY 2 DESC   -- a missing entry is reported before a late line
    LIMIT 1;
    IF FOUND AND v_bad.missing THEN
        RAISE EXCEPTION 'postings of entry % have no journal entry with the same tenant and date', v_bad.entry_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'entry % was posted by an earlier transaction: entries are immutable, post a new entry',
            v_bad.entry_id USING ERRCODE = 'restrict_violation';
    END IF;

    -- Maintain daily balance snapshots, one day at a time in date order (a backfill of an earlier day
    -- carries its movement into every later snapshot).
    FOR v_day IN SELECT DISTINCT business_date FROM new_postings ORDER BY 1 LOOP
        WITH movement AS (
            SELECT tenant, account_code, currency, sum(amount_minor) AS net
            FROM new_postings WHERE business_date = v_day GROUP BY 1, 2, 3
        )
        UPDATE ledger.daily_balances b SET balance_minor = b.balance_minor + m.net
        FROM movement m
        WHERE b.tenant = m.tenant AND b.account_code = m.account_code AND b.currency = m.currency
          AND b.business_date > v_day;

        INSERT INTO ledger.daily_balances AS b
            (tenant, account_code, currency, business_date, debits_minor, credits_minor, balance_minor)
        SELECT m.tenant, m.account_code, m.currency, v_day, m.debits, m.credits,
               coalesce((SELECT p.balance_minor FROM ledger.daily_balances p
                         WHERE p.tenant = m.tenant AND p.account_code = m.account_code
                           AND p.currency = m.currency AND p.business_date < v_day
                         ORDER BY p.business_date DESC LIMIT 1), 0) + m.debits - m.credits
        FROM (SELECT tenant, account_code, currency,
                     coalesce(sum(amount_minor) FILTER (WHERE amount_minor > 0), 0) AS debits,
                     coalesce(-sum(amount_minor) FILTER (WHERE amount_minor < 0), 0) AS credits
              FROM new_postings WHERE business_date = v_day GROUP BY 1, 2, 3) m
        ON CONFLICT (tenant, account_code, currency, business_date) DO UPDATE
            SET debits_minor = b.debits_minor + excluded.debits_minor,
                credits_minor = b.credits_minor + excluded.credits_minor,
                balance_minor = b.balance_minor + (excluded.debits_minor - excluded.credits_minor);
    END LOOP;
    RETURN NULL;
END $$;
