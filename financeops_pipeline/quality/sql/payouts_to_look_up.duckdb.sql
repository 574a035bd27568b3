-- payouts_to_look_up.sql in DuckDB over the day's processor record files (quality/records_posted.py: the view
-- `processor`, imports/record_store.py records_view, with each file's file_id): the same rows.
SELECT 'processor' AS source, 'payout' AS kind, min(file_id) AS file_id, min(source_position) AS source_position,
       payout_id AS record_ref, 'payout:' || processor || ':' || payout_id AS idempotency_key,
       DATE '1970-01-01' AS key_date, currency, CAST(NULL AS BIGINT) AS amount_minor
FROM processor WHERE payout_id IS NOT NULL
GROUP BY processor, payout_id, currency
HAVING bool_or(category = 'payout' AND net_minor <> 0) OR NOT bool_or(category = 'payout')
