-- Cash at bank in the ledger moves exactly as the bank says, per bank account and currency (no rows = pass):
--  * day: the ledger movement of cash:<account> on the day (daily_balances debits - credits) equals the
--    movement of the day's statements (closing - opening; the entries' total if a balance is missing);
--  * to date: the ledger balance at the day (there is no opening-balance posting, so it is the movement
--    since the first statement) equals the latest closing - the first statement's opening.
-- A ledger cash account moving on a day without any statement is a violation as well.
-- Parameters: %(tenant)s, %(day)s.
WITH accounts AS (
    SELECT DISTINCT account_id, currency::text AS currency FROM imports.bank_statements
    WHERE tenant = %(tenant)s AND business_date <= %(day)s AND booked
    UNION
    SELECT substr(account_code, 6), currency::text FROM ledger.daily_balances
    WHERE tenant = %(tenant)s AND business_date = %(day)s AND account_code LIKE 'cash:%%'
), figures AS (
    SELECT a.account_id, a.currency,
           (SELECT sum(coalesce(s.closing_balance_minor - s.opening_balance_minor, s.entries_total_minor))
            FROM imports.bank_statements s
            WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
              AND s.business_date = %(day)s) AS bank_day_minor,
           (SELECT b.debits_minor - b.credits_minor FROM ledger.daily_balances b
            WHERE b.tenant = %(tenant)s AND b.account_code = 'cash:' || a.account_id AND b.currency = a.currency
              AND b.business_date = %(day)s) AS ledger_day_minor,
           (SELECT s.closing_balance_minor FROM imports.bank_statements s
            WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
              AND s.business_date <= %(day)s
            ORDER BY s.business_date DESC, s.closing_date DESC, s.source_position DESC LIMIT 1)
           - (SELECT s.opening_balance_minor FROM imports.bank_statements s
              WHERE s.tenant = %(tenant)s AND s.account_id = a.account_id AND s.currency = a.currency AND s.booked
              ORDER BY s.business_date, s.opening_date, s.source_position LIMIT 1) AS bank_to_date_minor,
           (SELECT b.balance_minor FROM ledger.daily_balances b
            WHERE b.tenant = %(tenant)s AND b.account_code = 'cash:' || a.account_id AND b.currency = a.currency
              AND b.business_date <= %(day)s
            ORDER BY b.business_date DESC LIMIT 1) AS ledger_to_date_minor
    FROM accounts a
)
SELECT account_id, currency,
       coalesce(ledger_day_minor, 0) AS ledger_day_minor, bank_day_minor,
       coalesce(ledger_to_date_minor, 0) AS ledger_to_date_minor, bank_to_date_minor,
       CASE WHEN coalesce(ledger_day_minor, 0) IS DISTINCT FROM coalesce(bank_day_minor, 0)
            THEN 'day: ledger moved ' || coalesce(ledger_day_minor, 0) || ', bank statements '
                 || coalesce(bank_day_minor::text, 'none')
            ELSE 'to date: ledger balance ' || coalesce(ledger_to_date_minor, 0)
                 || ' <> bank closing - first opening ' || coalesce(bank_to_date_minor::text, 'unknown') END AS problem
FROM figures
WHERE coalesce(ledger_day_minor, 0) IS DISTINCT FROM coalesce(bank_day_minor, 0)
   OR (bank_to_date_minor IS NOT NULL AND coalesce(ledger_to_date_minor, 0) <> bank_to_date_minor)
ORDER BY currency, account_id
