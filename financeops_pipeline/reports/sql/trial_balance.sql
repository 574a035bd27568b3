-- Trial balance at the end of a day: each account's latest balance snapshot at or before the day, never a scan
-- of postings nor of every snapshot: the (account, currency) pairs of the tenant are walked on the snapshots'
-- primary key (a loose index scan, one probe per pair), then one indexed read per pair for its latest row.
-- The cost grows with the number of accounts, not with history or postings. Parameters: %(tenant)s, %(day)s.
WITH RECURSIVE pairs AS (
    (SELECT account_code, currency FROM ledger.daily_balances
     WHERE tenant = %(tenant)s ORDER BY account_code, currency LIMIT 1)
    UNION ALL
    SELECT n.account_code, n.currency
    FROM pairs p
    CROSS JOIN LATERAL (
        SELECT b.account_code, b.currency FROM ledger.daily_balances b
        WHERE b.tenant = %(tenant)s AND (b.account_code, b.currency) > (p.account_code, p.currency)
        ORDER BY b.account_code, b.currency LIMIT 1
    ) n
), latest AS (
    SELECT p.account_code, p.currency, l.balance_minor
    FROM pairs p
    CROSS JOIN LATERAL (
        SELECT b.balance_minor FROM ledger.daily_balances b
        WHERE b.tenant = %(tenant)s AND b.account_code = p.account_code AND b.currency = p.currency
          AND b.business_date <= %(day)s
        ORDER BY b.business_date DESC LIMIT 1
    ) l
)
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, b.account_code, a.name AS account_name,
       a.account_type, b.currency,
       greatest(b.balance_minor, 0) AS debit_minor, greatest(-b.balance_minor, 0) AS credit_minor
FROM latest b
JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = b.account_code
ORDER BY b.currency, b.account_code
