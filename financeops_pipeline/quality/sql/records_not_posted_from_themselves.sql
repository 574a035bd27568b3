-- Shared by source_records_posted and no_duplicate_idempotency_keys (`-- include:` line, quality/checks.py): the
-- day's source records that did not post a transfer of their own, each with the entry its key was posted as, if
-- any. Nearly every record did: the day's records are one hash anti join with the day's first legs (a record and
-- its transfer name the same file and record number, integers: ledger/sql/transfers.duckdb.sql, migration 0091;
-- the batches posted before 0091 by file and text position, a second anti join that the planner prunes away on a
-- day posted since, and the first one on a day posted before), parallel on the server's cores
-- (RLS's tenant function is PARALLEL SAFE, migration 0085); only the records left, none but a record posted under
-- another record's key (a duplicate delivery, or an id reused) or one that posted nothing, are looked up by key.
-- (Summing both sides per (kind, file, bucket) first, as before, took twice as long: two 1M-group aggregates of a
-- 1M day and a second scan of the records.) quality/checks.py run_checks computes this once for both checks.
-- Payouts are few and take one key each, so they are always looked up by key.
-- Keys, key dates and slices as posting derives them (transfers.duckdb.sql, migration 0060's ledger.entry_keys):
-- internal:<transaction_id>, processor_fee:<processor>:<line_id> (fee lines: -net),
-- processor_adjustment:<processor>:<line_id>, payout:<processor>:<payout_id> (dated 1970-01-01),
-- bank:<account>:<AcctSvcrRef or file:position> (booked lines only; an unbooked line posts nothing).
-- Parameters: %(tenant)s, %(day)s.
WITH records_to_look_up AS (
    SELECT r.* FROM (
        SELECT 'internal' AS source, 'internal' AS kind, file_id, record_no, source_position,
               transaction_id AS record_ref,
               'internal:' || transaction_id AS idempotency_key, (created_at AT TIME ZONE 'UTC')::date AS key_date,
               currency::text AS currency, amount_minor
        FROM imports.internal_transactions WHERE tenant = %(tenant)s AND business_date = %(day)s
        UNION ALL
        SELECT 'processor', 'processor_fee', file_id, record_no, source_position, line_id,
               'processor_fee:' || processor || ':' || line_id, (created_at AT TIME ZONE 'UTC')::date,
               currency::text, CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END
        FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s AND category <> 'payout'
          AND CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END <> 0
        UNION ALL
        SELECT 'processor', 'processor_adjustment', file_id, record_no, source_position, line_id,
               'processor_adjustment:' || processor || ':' || line_id, (created_at AT TIME ZONE 'UTC')::date,
               currency::text, gross_minor
        FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s
          AND category = 'adjustment' AND gross_minor <> 0
        UNION ALL
        SELECT 'bank', 'bank', b.file_id, b.record_no, b.source_position,
               coalesce(acct_svcr_ref, end_to_end_id, b.source_position),
               'bank:' || account_id || ':' || coalesce(acct_svcr_ref, f.sha256 || ':' || b.source_position),
               booking_date, currency::text, amount_minor
        FROM imports.bank_lines b LEFT JOIN imports.files f ON f.tenant = b.tenant AND f.file_id = b.file_id
        WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND amount_minor <> 0 AND booked
    ) r
    -- every record whose file and record number no first leg of the day names (one hash anti join of the two
    -- sides; payouts have no number)
    WHERE NOT EXISTS (
        SELECT 1 FROM ledger.transfers t
        WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s AND t.batch_id >= ledger.first_numbered_batch()
          AND t.leg_no = 1 AND t.source_record_no IS NOT NULL
          AND CASE WHEN t.rule_id LIKE 'internal\_%%' THEN 'internal' WHEN t.rule_id LIKE 'bank\_%%' THEN 'bank'
                   ELSE t.rule_id END = r.kind
          AND t.source_file_id = r.file_id AND t.source_record_no = r.record_no)
    -- and, of the batches posted before 0091, whose file and text position none names
    AND NOT EXISTS (
        SELECT 1 FROM ledger.transfers t
        WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s AND t.batch_id < ledger.first_numbered_batch()
          AND t.leg_no = 1 AND t.source_file_id IS NOT NULL AND t.rule_id <> 'processor_payout'
          AND CASE WHEN t.rule_id LIKE 'internal\_%%' THEN 'internal' WHEN t.rule_id LIKE 'bank\_%%' THEN 'bank'
                   ELSE t.rule_id END = r.kind
          AND t.source_file_id = r.file_id AND t.source_position = r.source_position)
    UNION ALL
    -- one payout key per payout: its payout row, or the lines of an itemized report without one
    SELECT 'processor', 'payout', min(file_id), NULL::integer, min(source_position), payout_id,
           'payout:' || processor || ':' || payout_id, DATE '1970-01-01', currency::text, NULL
    FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s AND payout_id IS NOT NULL
    GROUP BY processor, payout_id, currency
    HAVING bool_or(category = 'payout' AND net_minor <> 0) OR NOT bool_or(category = 'payout')
), records_not_posted_from_themselves AS (
    SELECT r.*, f.original_name AS file_name, f.sha256 AS file_sha256, k.entry_id,
           posted.file_sha256 AS posted_file_sha256, posted.source_position AS posted_position,
           posted.currency AS posted_currency, posted.amount_minor AS posted_amount_minor,
           posted.business_date AS posted_business_date
    FROM records_to_look_up r
    LEFT JOIN imports.files f ON f.tenant = %(tenant)s AND f.file_id = r.file_id
    LEFT JOIN LATERAL (
        -- one index probe of one key partition per record (a hash join would read the tenant's whole registry)
        SELECT k.entry_id FROM ledger.entry_keys k
        WHERE k.tenant = %(tenant)s AND k.key_date = r.key_date
          AND k.key_slice = ascii(right(r.idempotency_key, 1)) %% 4 AND k.idempotency_key = r.idempotency_key
        OFFSET 0   -- kept a subquery: pulled up, the planner hashes the tenant's whole registry
    ) k ON true
    LEFT JOIN LATERAL (
        -- the entry's first leg, signed as its rule's first posting line (+amount of the event), in either layout;
        -- entry_id >> 32 is its batch, which names the one partition to read
        SELECT pf.sha256 AS file_sha256,
               ledger.transfer_source_position(t.source_position, t.source_record_no) AS source_position,
               t.currency::text AS currency,
               CASE WHEN t.flipped THEN -t.amount_minor ELSE t.amount_minor END AS amount_minor, t.business_date
        FROM ledger.posting_batches b
        JOIN ledger.transfers t ON t.tenant = b.tenant AND t.business_date = b.business_date
             AND t.batch_id = b.batch_id AND t.entry_id = k.entry_id AND t.leg_no = 1
        LEFT JOIN imports.files pf ON pf.tenant = t.tenant AND pf.file_id = t.source_file_id
        WHERE b.batch_id = k.entry_id >> 32
        UNION ALL
        SELECT e.source_file_sha256, e.source_position, p.currency::text, p.amount_minor, e.business_date
        FROM ledger.journal_entries_legacy e
        JOIN ledger.postings_legacy p ON p.entry_id = e.entry_id AND p.line_no = 1
        WHERE e.entry_id = k.entry_id
    ) posted ON true
    WHERE k.entry_id IS NULL
       OR (posted.file_sha256, posted.source_position) IS DISTINCT FROM (f.sha256, r.source_position)
)
