-- Accounts whose balance snapshot at the day differs from the sum of their postings (must return no rows), in
-- O(day): the snapshot at the day must be the account's snapshot before the day plus the day's postings. Each day's
-- run checks its own day, so day by day the chain is the sum of every posting (a back-dated batch moves every later
-- snapshot by its movement, ledger.check_transfer_partition, and is checked with the day it is posted on). Summing
-- the whole history instead read every transfer partition up to the day, on every day. The day's transfers are
-- summed once per (debit, credit, currency) and then split into their two legs (the ledger.postings view would
-- scan them once per leg). Reported as before: the snapshot at the day (the last one before it when the day has
-- none) and what the postings make of it (the snapshot before the day + the day's postings).
-- Parameters: %(tenant)s, %(day)s.
WITH moved_by_number AS (
    SELECT debit_account, credit_account, debit_no, credit_no, currency, sum(amount_minor) AS amount_minor
    FROM ledger.transfers WHERE tenant = %(tenant)s AND business_date = %(day)s GROUP BY 1, 2, 3, 4, 5
), moved AS (   -- the accounts' codes, stored or by number (0092), mapped on the aggregate
    SELECT coalesce(m.debit_account, d.account_code) AS debit_account,
           coalesce(m.credit_account, c.account_code) AS credit_account, m.currency, m.amount_minor
    FROM moved_by_number m
    LEFT JOIN ledger.accounts d ON d.tenant = %(tenant)s AND d.account_no = m.debit_no
    LEFT JOIN ledger.accounts c ON c.tenant = %(tenant)s AND c.account_no = m.credit_no
), day_postings AS (
    SELECT account_code, currency, sum(amount_minor) AS amount_minor
    FROM (SELECT account_code, currency, amount_minor FROM ledger.postings_legacy
          WHERE tenant = %(tenant)s AND business_date = %(day)s
          UNION ALL SELECT debit_account, currency, amount_minor FROM moved
          UNION ALL SELECT credit_account, currency, -amount_minor FROM moved) p
    GROUP BY 1, 2
), accounts AS (
    SELECT account_code, currency FROM ledger.daily_balances WHERE tenant = %(tenant)s AND business_date = %(day)s
    UNION
    SELECT account_code, currency FROM day_postings
), figures AS (
    SELECT a.account_code, a.currency,
           (SELECT b.balance_minor FROM ledger.daily_balances b
            WHERE b.tenant = %(tenant)s AND b.account_code = a.account_code AND b.currency = a.currency
              AND b.business_date = %(day)s) AS day_minor,
           (SELECT b.balance_minor FROM ledger.daily_balances b   -- one index probe (primary key, backwards)
            WHERE b.tenant = %(tenant)s AND b.account_code = a.account_code AND b.currency = a.currency
              AND b.business_date < %(day)s
            ORDER BY b.business_date DESC LIMIT 1) AS before_minor,
           m.amount_minor AS moved_minor
    FROM accounts a LEFT JOIN day_postings m USING (account_code, currency)
)
SELECT account_code, currency, coalesce(day_minor, before_minor) AS snapshot_minor,
       CASE WHEN before_minor IS NOT NULL OR moved_minor IS NOT NULL
            THEN coalesce(before_minor, 0) + coalesce(moved_minor, 0) END AS postings_minor
FROM figures
WHERE coalesce(day_minor, before_minor) IS DISTINCT FROM
      CASE WHEN before_minor IS NOT NULL OR moved_minor IS NOT NULL
           THEN coalesce(before_minor, 0) + coalesce(moved_minor, 0) END
