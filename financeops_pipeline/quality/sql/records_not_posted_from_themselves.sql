-- Shared by source_records_posted and no_duplicate_idempotency_keys (`-- include:` line, quality/checks.py): the
-- day's source records that did not post a transfer of their own, each with the entry its key was posted as, if
-- any. Nearly every record did: quality/record_coverage.py finds the few that no first leg of the day names by
-- kind, file and record number (integers: ledger/sql/transfers.duckdb.sql, migration 0091), in DuckDB from the
-- day's records and the bitmaps of record numbers Postgres makes of the first legs, and leaves them, with one
-- row per payout key (payouts are few and take one key each, so they are always looked up by key), in the
-- temporary table records_without_first_leg (source, kind, file_id, record_no, source_position, record_ref,
-- idempotency_key, key_date, currency, amount_minor; the keys and key dates as posting derives them, listed in
-- record_coverage.sql). Here, of those, the ones of batches posted before 0091 named by file and text position
-- are left out (a second anti join, which the planner prunes away on a day posted since), and the rest are looked
-- up by key: none but a record posted under another record's key (a duplicate delivery, or an id reused) or one
-- that posted nothing. quality/checks.py run_checks computes this once for both checks.
-- (In Postgres, the first anti join hashed the day's first legs on the server: 3 s of a 1M day's check.)
-- Parameters: %(tenant)s, %(day)s.
WITH records_to_look_up AS (
    SELECT r.* FROM records_without_first_leg r
    WHERE r.kind = 'payout' OR NOT EXISTS (
        SELECT 1 FROM ledger.transfers t
        WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s AND t.batch_id < ledger.first_numbered_batch()
          AND t.leg_no = 1 AND t.source_file_id IS NOT NULL AND t.rule_id <> 'processor_payout'
          AND CASE WHEN t.rule_id LIKE 'internal\_%%' THEN 'internal' WHEN t.rule_id LIKE 'bank\_%%' THEN 'bank'
                   ELSE t.rule_id END = r.kind
          AND t.source_file_id = r.file_id AND t.source_position = r.source_position)
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
