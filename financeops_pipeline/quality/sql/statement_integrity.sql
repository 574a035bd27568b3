-- Bank statements of the day that do not add up (opening + entries <> closing) or do not continue the
-- previous statement of the same account (opening <> previous closing). Must return no rows.
WITH s AS (
    SELECT st.*, lag(closing_balance_minor) OVER w AS previous_closing, lag(closing_date) OVER w AS previous_date
    FROM imports.bank_statements st
    WHERE tenant = %(tenant)s AND business_date <= %(day)s
    WINDOW w AS (PARTITION BY account_id, currency ORDER BY closing_date, business_date, source_position)
)
SELECT account_id, currency, statement_id, business_date,
       CASE WHEN opening_balance_minor + entries_total_minor <> closing_balance_minor
            THEN 'opening ' || opening_balance_minor || ' + entries ' || entries_total_minor || ' <> closing '
                 || closing_balance_minor
            ELSE 'opening ' || opening_balance_minor || ' <> previous closing ' || previous_closing
                 || ' of ' || previous_date END AS problem
FROM s
WHERE business_date = %(day)s
  AND (opening_balance_minor + entries_total_minor <> closing_balance_minor
       OR (previous_closing IS NOT NULL AND opening_balance_minor <> previous_closing))
