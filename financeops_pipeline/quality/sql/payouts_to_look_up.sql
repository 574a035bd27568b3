-- One payout key per payout of the day, for records_to_look_up.sql: its payout row, or the lines of an itemized
-- report without one, in records_to_look_up's columns. As SQL, one scan of the day's processor lines and a hash
-- aggregate of them all (every line of an itemized report names its payout): the 10M day's ledger checks spent 25 s
-- of their 80 s there (stop 24). quality/records_posted.py builds the same rows from the day's record files in DuckDB
-- (a few dictionary-encoded columns) when those are the day's rows; this query is the fallback.
-- Parameters: %(tenant)s, %(day)s.
SELECT 'processor' AS source, 'payout' AS kind, min(file_id) AS file_id, min(source_position) AS source_position,
       payout_id AS record_ref, 'payout:' || processor || ':' || payout_id AS idempotency_key,
       DATE '1970-01-01' AS key_date, currency::text AS currency, NULL::bigint AS amount_minor
FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s AND payout_id IS NOT NULL
GROUP BY processor, payout_id, currency
HAVING bool_or(category = 'payout' AND net_minor <> 0) OR NOT bool_or(category = 'payout')
