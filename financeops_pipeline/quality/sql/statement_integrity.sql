-- Booked bank statements of the day that do not add up, do not continue the account's previous statement, or
-- lack balances. Must return no rows. Each row names account, currency, statement and day, with a severity:
--  * error: opening + entries <> closing (both given), or opening <> the previous statement's closing;
--  * warn:  a balance was not given and was derived from the other one and the entries (the bank did not
--           vouch for it), or no booked balance was given at all (only the entries are known).
-- Intraday reports and notifications (booked = false) are not statements of the day's balance: left out.
WITH s AS (
    SELECT st.*, lag(closing_balance_minor) OVER w AS previous_closing, lag(closing_date) OVER w AS previous_date
    FROM imports.bank_statements st
    WHERE tenant = %(tenant)s AND business_date <= %(day)s AND booked
    WINDOW w AS (PARTITION BY account_id, currency ORDER BY closing_date, business_date, source_position)
), day AS (
    SELECT * FROM s WHERE business_date = %(day)s
)
SELECT account_id, currency, statement_id, business_date, severity, problem FROM (
    SELECT account_id, currency, statement_id, business_date, source_position, 1 AS rank, 'error' AS severity,
           'opening ' || opening_balance_minor || ' + entries ' || entries_total_minor || ' <> closing '
           || closing_balance_minor AS problem
    FROM day
    WHERE opening_balance_minor + entries_total_minor <> closing_balance_minor
    UNION ALL
    SELECT account_id, currency, statement_id, business_date, source_position, 2, 'error',
           'opening ' || opening_balance_minor || ' <> previous closing ' || previous_closing || ' of '
           || previous_date
    FROM day
    WHERE previous_closing IS NOT NULL AND opening_balance_minor <> previous_closing
    UNION ALL
    SELECT account_id, currency, statement_id, business_date, source_position, 3, 'warn',
           CASE WHEN closing_derived
                THEN 'no closing balance given: derived ' || closing_balance_minor || ' = opening '
                     || opening_balance_minor || ' (' || coalesce(opening_type, '?') || ') + entries '
                     || entries_total_minor
                ELSE 'no opening balance given: derived ' || opening_balance_minor || ' = closing '
                     || closing_balance_minor || ' (' || coalesce(closing_type, '?') || ') - entries '
                     || entries_total_minor END
           || coalesce('; available balance ' || available_type || ' ' || available_balance_minor, '')
    FROM day
    WHERE closing_derived OR opening_derived
    UNION ALL
    SELECT account_id, currency, statement_id, business_date, source_position, 4, 'warn',
           'no booked balance given: entries ' || entries_total_minor || ' (' || entry_count || ' lines) only'
           || coalesce('; available balance ' || available_type || ' ' || available_balance_minor, '')
    FROM day
    WHERE opening_balance_minor IS NULL AND closing_balance_minor IS NULL
) problems
ORDER BY account_id, currency, source_position, rank
