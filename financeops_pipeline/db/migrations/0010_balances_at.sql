-- Every account's balance at the end of a day, from the balance snapshots: the tenant's (account, currency)
-- pairs are walked on the snapshots' primary key (a loose index scan, one probe per pair), then one indexed
-- read per pair for its latest row at or before the day. The cost grows with the number of accounts, never
-- with history or postings. One definition for every report that needs balances (trial balance, balance
-- sheet). A plain SQL set-returning function (STABLE, invoker's rights): the planner inlines it, so row-level
-- security and the index plan are exactly those of the calling query.
CREATE FUNCTION ledger.balances_at(p_tenant text, p_day date)
RETURNS TABLE (account_code text, currency char(3), balance_minor bigint)
LANGUAGE sql STABLE AS $$
WITH RECURSIVE pairs AS (
    (SELECT b.account_code, b.currency FROM ledger.daily_balances b
     WHERE b.tenant = p_tenant ORDER BY b.account_code, b.currency LIMIT 1)
    UNION ALL
    SELECT n.account_code, n.currency
    FROM pairs p
    CROSS JOIN LATERAL (
        SELECT b.account_code, b.currency FROM ledger.daily_balances b
        WHERE b.tenant = p_tenant AND (b.account_code, b.currency) > (p.account_code, p.currency)
        ORDER BY b.account_code, b.currency LIMIT 1
    ) n
)
SELECT p.account_code, p.currency, l.balance_minor
FROM pairs p
CROSS JOIN LATERAL (
    SELECT b.balance_minor FROM ledger.daily_balances b
    WHERE b.tenant = p_tenant AND b.account_code = p.account_code AND b.currency = p.currency
      AND b.business_date <= p_day
    ORDER BY b.business_date DESC LIMIT 1
) l
$$;
GRANT EXECUTE ON FUNCTION ledger.balances_at(text, date) TO financeops_tenant;
