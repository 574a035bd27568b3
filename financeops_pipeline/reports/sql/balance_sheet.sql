-- Balance sheet at the end of a day from the balance snapshots: each account's latest ledger.daily_balances
-- row at or before the day (ledger.balances_at, migration 0010; never a scan of postings). Assets are shown debit-positive, liabilities and
-- equity credit-positive; revenue and expense balances to date appear as one equity line,
-- 'current_earnings', so that assets = liabilities + equity per currency. Parameters: %(tenant)s, %(day)s.
WITH lines AS (
    SELECT a.account_type, b.account_code, a.name AS account_name, b.currency, b.balance_minor
    FROM ledger.balances_at(%(tenant)s, %(day)s) b
    JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = b.account_code
)
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date,
       CASE account_type WHEN 'asset' THEN 'assets' WHEN 'liability' THEN 'liabilities' ELSE 'equity' END AS section,
       account_code, account_name, currency,
       CASE WHEN account_type = 'asset' THEN balance_minor ELSE -balance_minor END AS amount_minor
FROM lines
WHERE account_type IN ('asset', 'liability', 'equity')
UNION ALL
SELECT %(tenant)s, %(day)s::date, 'equity', 'current_earnings', 'Current earnings (revenue less expenses to date)',
       currency, -sum(balance_minor)
FROM lines
WHERE account_type IN ('revenue', 'expense')
GROUP BY currency
