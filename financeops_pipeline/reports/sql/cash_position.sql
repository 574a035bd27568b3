-- Cash position per bank account at the end of a day: the ledger's cash account against the bank's own
-- statements (imports.bank_statements). The ledger has no opening-balance posting, so the cash account's
-- balance is the bank's movement since the first statement loaded: it is compared with
-- (latest closing at or before the day - opening of the first statement), and the day's ledger movement
-- with the day's statement movement (closing - opening, or the entries' total when a balance is missing).
-- Every lookup is one indexed read per account. Parameters: %(tenant)s, %(day)s.
WITH accounts AS (
    SELECT DISTINCT account_id, currency
    FROM imports.bank_statements
    WHERE tenant = %(tenant)s AND business_date <= %(day)s AND booked
)
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, a.account_id AS bank_account, a.currency,
       'cash:' || a.account_id AS ledger_account,
       f.opening_date AS first_opening_date, f.opening_balance_minor AS first_opening_minor,
       l.closing_date AS bank_closing_date, l.closing_balance_minor AS bank_closing_minor,
       l.closing_balance_minor - f.opening_balance_minor AS bank_movement_minor,
       coalesce(lb.balance_minor, 0) AS ledger_balance_minor,
       coalesce(lb.balance_minor, 0) - (l.closing_balance_minor - f.opening_balance_minor) AS difference_minor,
       d.movement_minor AS day_bank_movement_minor,
       coalesce(ld.movement_minor, 0) AS day_ledger_movement_minor,
       coalesce(ld.movement_minor, 0) - d.movement_minor AS day_difference_minor
FROM accounts a
CROSS JOIN LATERAL (
    SELECT s.opening_date, s.opening_balance_minor FROM imports.bank_statements s
    WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
    ORDER BY s.business_date, s.opening_date, s.source_position LIMIT 1
) f
CROSS JOIN LATERAL (
    SELECT s.closing_date, s.closing_balance_minor FROM imports.bank_statements s
    WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
      AND s.business_date <= %(day)s
    ORDER BY s.business_date DESC, s.closing_date DESC, s.source_position DESC LIMIT 1
) l
LEFT JOIN LATERAL (
    SELECT sum(coalesce(s.closing_balance_minor - s.opening_balance_minor, s.entries_total_minor))::bigint
           AS movement_minor
    FROM imports.bank_statements s
    WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
      AND s.business_date = %(day)s
) d ON true
LEFT JOIN LATERAL (
    SELECT b.balance_minor FROM ledger.daily_balances b
    WHERE b.tenant = %(tenant)s AND b.account_code = 'cash:' || a.account_id AND b.currency = a.currency
      AND b.business_date <= %(day)s
    ORDER BY b.business_date DESC LIMIT 1
) lb ON true
LEFT JOIN LATERAL (
    SELECT b.debits_minor - b.credits_minor AS movement_minor FROM ledger.daily_balances b
    WHERE b.tenant = %(tenant)s AND b.account_code = 'cash:' || a.account_id AND b.currency = a.currency
      AND b.business_date = %(day)s
) ld ON true
ORDER BY a.currency, a.account_id
