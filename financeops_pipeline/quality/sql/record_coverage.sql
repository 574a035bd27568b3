-- The ledger's record check (source_records_posted, no_duplicate_idempotency_keys) in two steps: which of the
-- day's source records posted no transfer of their own (quality/record_coverage.py: DuckDB over the records and
-- the bitmaps of record numbers that Postgres makes of the day's numbered first legs), then the few left looked up
-- by key in Postgres (records_not_posted_from_themselves.sql). The kinds are numbered alike on both sides.

-- name: first_legs
-- Which record numbers the first legs of one of the tenant-day's batches posted since migration 0091 name (a
-- transfer names its source record by number there; the batches before are matched by text position in
-- records_not_posted_from_themselves.sql), as one bitmap per kind, file and 64 record numbers: bit n of `bits` of
-- bucket b is record number 64 b + n. Exact, and a hash aggregate of a few hundred thousand groups instead of a
-- hash table of every leg (a 10M day: 312,005 rows of 19.6M legs). Kinds: 1 internal, 2 processor fee,
-- 3 processor adjustment, 4 bank; payouts (an aggregate, no number) are left out.
SELECT (CASE WHEN rule_id LIKE 'internal\_%%' THEN 1 WHEN rule_id = 'processor_fee' THEN 2
             WHEN rule_id = 'processor_adjustment' THEN 3 WHEN rule_id LIKE 'bank\_%%' THEN 4 END)::smallint,
       source_file_id, source_record_no >> 6, bit_or(1::bigint << (source_record_no & 63))
FROM ledger.transfers
WHERE tenant = %(tenant)s AND business_date = %(day)s AND batch_id = %(batch_id)s
  AND leg_no = 1 AND source_record_no IS NOT NULL AND source_file_id IS NOT NULL
  AND rule_id <> 'processor_payout'
GROUP BY 1, 2, 3

-- name: records_without_first_leg
-- The day's records (DuckDB views `internal`, `processor`, `bank` over the record files, imports/record_store.py)
-- that require a journal entry and whose record number no first leg of their kind and file names (`first_legs`:
-- the batches' bitmaps, as above, OR-ed together), each with the key it would be posted under (computed for
-- those alone); then one payout key per payout, its payout row or the lines of an itemized report without one
-- (payouts are few and are always looked up by key). Which records require an entry, and under which key and
-- key date, is as source_records_posted.sql describes: internal:<transaction_id>,
-- processor_fee:<processor>:<line_id> (fee lines: -net), processor_adjustment:<processor>:<line_id>,
-- payout:<processor>:<payout_id> (dated 1970-01-01), bank:<account>:<AcctSvcrRef or file:position> (booked lines
-- only). Key dates are UTC dates.
WITH legs AS (
    SELECT kind, file_id, bucket, bit_or(bits) AS bits FROM first_legs GROUP BY ALL
), records AS (
    SELECT 'internal' AS kind, 1 AS kind_no, file_id, record_no, amount_minor AS amount
    FROM internal
    UNION ALL
    SELECT 'processor_fee', 2, file_id, record_no, CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END
    FROM processor
    WHERE category <> 'payout' AND CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END <> 0
    UNION ALL
    SELECT 'processor_adjustment', 3, file_id, record_no, gross_minor
    FROM processor
    WHERE category = 'adjustment' AND gross_minor <> 0
    UNION ALL
    SELECT 'bank', 4, file_id, record_no, amount_minor
    FROM bank
    WHERE amount_minor <> 0 AND booked
), left_over AS (
    SELECT r.kind, r.file_id, r.record_no, r.amount
    FROM records r
    LEFT JOIN legs l ON l.kind = r.kind_no AND l.file_id = r.file_id AND l.bucket = r.record_no >> 6
    WHERE l.bits IS NULL OR (l.bits >> (r.record_no & 63)) & 1 = 0
)
SELECT 'internal' AS source, o.kind, o.file_id, o.record_no, i.source_position, i.transaction_id AS record_ref,
       'internal:' || i.transaction_id AS idempotency_key, CAST(timezone('UTC', i.created_at) AS DATE) AS key_date,
       i.currency, o.amount AS amount_minor
FROM left_over o JOIN internal i ON o.kind = 'internal' AND i.file_id = o.file_id AND i.record_no = o.record_no
UNION ALL
SELECT 'processor', o.kind, o.file_id, o.record_no, p.source_position, p.line_id,
       CASE o.kind WHEN 'processor_fee' THEN 'processor_fee:' ELSE 'processor_adjustment:' END
           || p.processor || ':' || p.line_id,
       CAST(timezone('UTC', p.created_at) AS DATE), p.currency, o.amount
FROM left_over o JOIN processor p ON o.kind IN ('processor_fee', 'processor_adjustment') AND p.file_id = o.file_id
                                  AND p.record_no = o.record_no
UNION ALL
SELECT 'bank', o.kind, o.file_id, o.record_no, b.source_position,
       coalesce(b.acct_svcr_ref, b.end_to_end_id, b.source_position),
       'bank:' || b.account_id || ':' || coalesce(b.acct_svcr_ref, b.file_sha256 || ':' || b.source_position),
       b.booking_date, b.currency, o.amount
FROM left_over o JOIN bank b ON o.kind = 'bank' AND b.file_id = o.file_id AND b.record_no = o.record_no
UNION ALL
SELECT 'processor', 'payout', min(file_id), CAST(NULL AS INTEGER), min(source_position), payout_id,
       'payout:' || processor || ':' || payout_id, DATE '1970-01-01', currency, CAST(NULL AS BIGINT)
FROM processor
WHERE payout_id IS NOT NULL
GROUP BY processor, payout_id, currency
HAVING bool_or(category = 'payout' AND net_minor <> 0) OR NOT bool_or(category = 'payout')
