-- Trial balance at the end of a day: each account's latest balance snapshot at or before the day
-- (one indexed read per account, never a scan of all postings). Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, b.account_code, a.name AS account_name,
       a.account_type, b.currency,
       greatest(b.balance_minor, 0) AS debit_minor, greatest(-b.balance_minor, 0) AS credit_minor
FROM (
    SELECT DISTINCT ON (account_code, currency) account_code, currency, balance_minor
    FROM ledger.daily_balances
    WHERE tenant = %(tenant)s AND business_date <= %(day)s
    ORDER BY account_code, currency, business_date DESC
) b
JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = b.account_code
ORDER BY b.currency, b.account_code
