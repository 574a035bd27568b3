-- Every source record of the day is accounted for in the ledger (no rows = pass). Quarantined records never
-- reach the imports tables (imports.quarantine holds them, see the quarantined_records check); every loaded
-- record must have the journal entry its kind requires, found by idempotency key (the keys are listed in
-- record_coverage.sql):
--  * internal transaction; processor line with a fee (fee lines: -net); processor balance adjustment;
--  * processor payout row, or the lines of an itemized payout without a payout row (one key per payout);
--  * booked bank line (an intraday or notification line, or an entry not booked yet, posts nothing: its
--    statement line does).
-- A processor line without a fee and outside a payout needs no entry (its customer amount is posted from the
-- internal record; the reconciliation matches the two). An entry found under the key but posted from another
-- record counts only when that record carries the same money (a known duplicate delivery); otherwise the
-- record is reported (see also no_duplicate_idempotency_keys). Parameters: %(tenant)s, %(day)s.
-- include: records_not_posted_from_themselves.sql
SELECT r.source, r.file_name, r.source_position, r.record_ref, r.idempotency_key,
       CASE WHEN r.entry_id IS NULL THEN 'no journal entry'
            ELSE 'the key was posted from ' || coalesce(pf.original_name, r.posted_file_sha256) || ' '
                 || r.posted_position || ' as ' || r.posted_currency || ' ' || r.posted_amount_minor
                 || ', this record is ' || r.currency || ' ' || r.amount_minor END AS problem
FROM records_not_posted_from_themselves r
LEFT JOIN imports.files pf ON pf.tenant = %(tenant)s AND pf.sha256 = r.posted_file_sha256
WHERE r.entry_id IS NULL
   OR r.amount_minor IS NOT NULL
      AND (r.posted_currency, r.posted_amount_minor) IS DISTINCT FROM (r.currency, r.amount_minor)
ORDER BY r.source, r.file_name, r.source_position, r.idempotency_key
