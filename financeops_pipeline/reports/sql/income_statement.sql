-- Income statement of a day and of the month to date, from the daily movement columns of the balance
-- snapshots (debits_minor / credits_minor of each day), never from postings. Revenue is shown
-- credit-positive, expenses debit-positive; one 'net_income' line per currency = revenue - expenses.
-- Parameters: %(tenant)s, %(day)s.
WITH movement AS (
    SELECT account_code, currency,
           coalesce(sum(debits_minor - credits_minor) FILTER (WHERE business_date = %(day)s), 0) AS day_net,
           sum(debits_minor - credits_minor) AS mtd_net
    FROM ledger.daily_balances
    WHERE tenant = %(tenant)s
      AND business_date BETWEEN date_trunc('month', %(day)s::date)::date AND %(day)s
    GROUP BY account_code, currency
), lines AS (
    SELECT a.account_type AS section, m.account_code, a.name AS account_name, m.currency,
           CASE WHEN a.account_type = 'revenue' THEN -m.day_net ELSE m.day_net END AS day_minor,
           CASE WHEN a.account_type = 'revenue' THEN -m.mtd_net ELSE m.mtd_net END AS mtd_minor
    FROM movement m
    JOIN ledger.accounts a ON a.tenant = %(tenant)s AND a.account_code = m.account_code
    WHERE a.account_type IN ('revenue', 'expense')
)
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, section, account_code, account_name, currency,
       day_minor, mtd_minor
FROM lines
UNION ALL
SELECT %(tenant)s, %(day)s::date, 'net_income', 'net_income', 'Net income (revenue less expenses)', currency,
       sum(CASE WHEN section = 'revenue' THEN day_minor ELSE -day_minor END),
       sum(CASE WHEN section = 'revenue' THEN mtd_minor ELSE -mtd_minor END)
FROM lines
GROUP BY currency
