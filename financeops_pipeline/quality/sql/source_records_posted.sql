-- Every source record of the day is accounted for in the ledger (no rows = pass). Quarantined records never
-- reach the imports tables (imports.quarantine holds them, see the quarantined_records check); every loaded
-- record must have the journal entry its kind requires, found by idempotency key:
--  * internal transaction: internal:<transaction_id>;
--  * processor line with a fee (fee lines: -net): processor_fee:<processor>:<line_id>;
--  * processor balance adjustment (category adjustment): processor_adjustment:<processor>:<line_id>;
--  * processor payout row, or a line of an itemized payout without a payout row: payout:<processor>:<payout_id>;
--  * bank line: bank:<account>:<AcctSvcrRef or file:position>.
-- A processor line without a fee and outside a payout needs no entry (its customer amount is posted from the
-- internal record; the reconciliation matches the two). An entry found under the key but posted from another
-- record counts only when that record carries the same money (a known duplicate delivery); otherwise the
-- record is reported (see also no_duplicate_idempotency_keys). Parameters: %(tenant)s, %(day)s.
WITH required AS (
    SELECT 'internal' AS source, sf.sha256 AS file_sha256, source_position, transaction_id AS record_ref,
           'internal:' || transaction_id AS idempotency_key, currency::text AS currency, amount_minor
    FROM imports.internal_transactions t LEFT JOIN imports.files sf ON sf.tenant = t.tenant AND sf.file_id = t.file_id
    WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s
    UNION ALL
    SELECT 'processor', sf.sha256, source_position, line_id,
           'processor_fee:' || processor || ':' || line_id, currency::text,
           CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END
    FROM imports.processor_lines p LEFT JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND category <> 'payout'
      AND CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END <> 0
    UNION ALL
    SELECT 'processor', sf.sha256, source_position, line_id,
           'processor_adjustment:' || processor || ':' || line_id, currency::text, gross_minor
    FROM imports.processor_lines p LEFT JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND category = 'adjustment' AND gross_minor <> 0
    UNION ALL
    SELECT 'processor', sf.sha256, p.source_position, p.line_id,
           'payout:' || p.processor || ':' || p.payout_id, p.currency::text, NULL
    FROM imports.processor_lines p LEFT JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND p.payout_id IS NOT NULL
      AND (p.category = 'payout' AND p.net_minor <> 0
           OR p.category <> 'payout' AND NOT EXISTS (
               -- tenant and day as constants, not through p: a hashed subplan is then pruned to the day too
               SELECT 1 FROM imports.processor_lines r
               WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s AND r.processor = p.processor
                 AND r.payout_id = p.payout_id AND r.category = 'payout'))
    UNION ALL
    SELECT 'bank', sf.sha256, source_position, coalesce(acct_svcr_ref, end_to_end_id, source_position),
           'bank:' || account_id || ':' || coalesce(acct_svcr_ref, sf.sha256 || ':' || source_position),
           currency::text, amount_minor
    FROM imports.bank_lines b LEFT JOIN imports.files sf ON sf.tenant = b.tenant AND sf.file_id = b.file_id
    WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND amount_minor <> 0
)
SELECT r.source, f.original_name AS file_name, r.source_position, r.record_ref, r.idempotency_key,
       CASE WHEN e.entry_id IS NULL THEN 'no journal entry'
            ELSE 'the key was posted from ' || coalesce(ef.original_name, e.source_file_sha256) || ' '
                 || e.source_position || ' as ' || p.currency || ' ' || p.amount_minor || ', this record is '
                 || r.currency || ' ' || r.amount_minor END AS problem
FROM required r
LEFT JOIN imports.files f ON f.tenant = %(tenant)s AND f.sha256 = r.file_sha256
LEFT JOIN ledger.journal_entries e ON e.tenant = %(tenant)s AND e.idempotency_key = r.idempotency_key
LEFT JOIN ledger.postings p ON p.entry_id = e.entry_id AND p.line_no = 1
LEFT JOIN imports.files ef ON ef.tenant = %(tenant)s AND ef.sha256 = e.source_file_sha256
WHERE e.entry_id IS NULL
   OR ((e.source_file_sha256, e.source_position) IS DISTINCT FROM (r.file_sha256, r.source_position)
       AND r.amount_minor IS NOT NULL
       AND (p.currency::text, p.amount_minor) IS DISTINCT FROM (r.currency, r.amount_minor))
ORDER BY r.source, file_name, r.source_position, r.idempotency_key
