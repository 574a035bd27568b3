-- Accounts whose balance snapshot at the day differs from the sum of their postings (must return no rows). The
-- transfers are summed once per (debit, credit, currency) and then split into their two legs: one scan of them,
-- where the ledger.postings view would scan them once per leg.
WITH snap AS (
    SELECT DISTINCT ON (account_code, currency) account_code, currency, balance_minor
    FROM ledger.daily_balances WHERE tenant = %(tenant)s AND business_date <= %(day)s
    ORDER BY account_code, currency, business_date DESC
), moved AS (
    SELECT debit_account, credit_account, currency, sum(amount_minor) AS amount_minor
    FROM ledger.transfers WHERE tenant = %(tenant)s AND business_date <= %(day)s GROUP BY 1, 2, 3
), total AS (
    SELECT account_code, currency, sum(amount_minor) AS balance_minor
    FROM (SELECT account_code, currency, amount_minor FROM ledger.postings_legacy
          WHERE tenant = %(tenant)s AND business_date <= %(day)s
          UNION ALL SELECT debit_account, currency, amount_minor FROM moved
          UNION ALL SELECT credit_account, currency, -amount_minor FROM moved) p
    GROUP BY 1, 2
)
SELECT coalesce(s.account_code, t.account_code) AS account_code, coalesce(s.currency, t.currency) AS currency,
       s.balance_minor AS snapshot_minor, t.balance_minor AS postings_minor
FROM snap s FULL JOIN total t USING (account_code, currency)
WHERE s.balance_minor IS DISTINCT FROM t.balance_minor
