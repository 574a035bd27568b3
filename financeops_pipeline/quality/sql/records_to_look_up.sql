-- The day's source records that may not have posted a transfer of their own, for records_not_posted_from_themselves.sql
-- to look up by key. Nearly every record did post its own
-- transfer: the day's records are one hash anti join with the day's first legs (a record and its transfer name the
-- same file and position: ledger/sql/transfers.duckdb.sql), parallel on the server's cores (RLS's tenant function is
-- PARALLEL SAFE, migration 0085); only the records left, none but a record posted under another record's key (a
-- duplicate delivery, or an id reused) or one that posted nothing, are looked up by key. Payouts are few and take
-- one key each, so they are always looked up by key (payouts_to_look_up.sql).
-- Keys, key dates and slices as posting derives them (transfers.duckdb.sql, migration 0060's ledger.entry_keys):
-- internal:<transaction_id>, processor_fee:<processor>:<line_id> (fee lines: -net),
-- processor_adjustment:<processor>:<line_id>, payout:<processor>:<payout_id> (dated 1970-01-01),
-- bank:<account>:<AcctSvcrRef or file:position> (booked lines only; an unbooked line posts nothing).
-- Parameters: %(tenant)s, %(day)s.
-- include: payouts_to_look_up.sql
SELECT r.* FROM (
    SELECT 'internal' AS source, 'internal' AS kind, file_id, source_position, transaction_id AS record_ref,
           'internal:' || transaction_id AS idempotency_key, (created_at AT TIME ZONE 'UTC')::date AS key_date,
           currency::text AS currency, amount_minor
    FROM imports.internal_transactions WHERE tenant = %(tenant)s AND business_date = %(day)s
    UNION ALL
    SELECT 'processor', 'processor_fee', file_id, source_position, line_id,
           'processor_fee:' || processor || ':' || line_id, (created_at AT TIME ZONE 'UTC')::date,
           currency::text, CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END
    FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s AND category <> 'payout'
      AND CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END <> 0
    UNION ALL
    SELECT 'processor', 'processor_adjustment', file_id, source_position, line_id,
           'processor_adjustment:' || processor || ':' || line_id, (created_at AT TIME ZONE 'UTC')::date,
           currency::text, gross_minor
    FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s
      AND category = 'adjustment' AND gross_minor <> 0
    UNION ALL
    SELECT 'bank', 'bank', b.file_id, b.source_position, coalesce(acct_svcr_ref, end_to_end_id, b.source_position),
           'bank:' || account_id || ':' || coalesce(acct_svcr_ref, f.sha256 || ':' || b.source_position),
           booking_date, currency::text, amount_minor
    FROM imports.bank_lines b LEFT JOIN imports.files f ON f.tenant = b.tenant AND f.file_id = b.file_id
    WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND amount_minor <> 0 AND booked
) r
-- every record whose file and position no first leg of the day names (one hash anti join of the two sides)
WHERE NOT EXISTS (
    SELECT 1 FROM ledger.transfers t
    WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s AND t.leg_no = 1 AND t.source_file_id IS NOT NULL
      AND t.rule_id <> 'processor_payout'
      AND CASE WHEN t.rule_id LIKE 'internal\_%%' THEN 'internal' WHEN t.rule_id LIKE 'bank\_%%' THEN 'bank'
               ELSE t.rule_id END = r.kind
      AND t.source_file_id = r.file_id AND t.source_position = r.source_position)
UNION ALL
SELECT * FROM payouts_to_look_up
