-- Trial balance at the end of a day: each account's latest balance snapshot at or before the day
-- (ledger.balances_at, migration 0010: one indexed read per account, never a scan of postings or history).
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, b.account_code, a.name AS account_name,
       a.account_type, b.currency,
       greatest(b.balance_minor, 0) AS debit_minor, greatest(-b.balance_minor, 0) AS credit_minor
FROM ledger.balances_at(%(tenant)s, %(day)s) b
JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = b.account_code
ORDER BY b.currency, b.account_code
