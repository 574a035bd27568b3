-- Accounts whose balance snapshot at the day differs from the sum of their postings (must return no rows).
WITH snap AS (
    SELECT DISTINCT ON (account_code, currency) account_code, currency, balance_minor
    FROM ledger.daily_balances WHERE tenant = %(tenant)s AND business_date <= %(day)s
    ORDER BY account_code, currency, business_date DESC
), total AS (
    SELECT account_code, currency, sum(amount_minor) AS balance_minor
    FROM ledger.postings WHERE tenant = %(tenant)s AND business_date <= %(day)s GROUP BY 1, 2
)
SELECT coalesce(s.account_code, t.account_code) AS account_code, coalesce(s.currency, t.currency) AS currency,
       s.balance_minor AS snapshot_minor, t.balance_minor AS postings_minor
FROM snap s FULL JOIN total t USING (account_code, currency)
WHERE s.balance_minor IS DISTINCT FROM t.balance_minor
