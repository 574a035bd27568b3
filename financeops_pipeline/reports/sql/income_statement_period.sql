-- Income statement for any period [%(start)s, %(day)s], from the daily movement columns of the balance snapshots
-- (one row per account, currency and day with movement; never postings), in the same shape as the stored
-- income statement: revenue credit-positive, expenses debit-positive, one 'net_income' line per currency.
-- Read-only, computed on request (`financeops report income-statement --from D0 --date D`).
-- Parameters: %(tenant)s, %(start)s, %(day)s.
WITH movement AS (
    SELECT account_code, currency, sum(debits_minor - credits_minor) AS net
    FROM ledger.daily_balances
    WHERE tenant = %(tenant)s AND business_date BETWEEN %(start)s::date AND %(day)s::date
    GROUP BY account_code, currency
), lines AS (
    SELECT a.account_type AS section, m.account_code, a.name AS account_name, m.currency,
           (CASE WHEN a.account_type = 'revenue' THEN -m.net ELSE m.net END)::bigint AS period_minor
    FROM movement m
    JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = m.account_code
    WHERE a.account_type IN ('revenue', 'expense')
)
SELECT * FROM (
    SELECT %(start)s::date AS period_start, %(day)s::date AS period_end, section, account_code, account_name,
           currency, period_minor
    FROM lines
    UNION ALL
    SELECT %(start)s::date, %(day)s::date, 'net_income', 'net_income', 'Net income (revenue less expenses)',
           currency, sum(CASE WHEN section = 'revenue' THEN period_minor ELSE -period_minor END)::bigint
    FROM lines
    GROUP BY currency
) r
ORDER BY currency, CASE section WHEN 'revenue' THEN 1 WHEN 'expense' THEN 2 ELSE 3 END, account_code
