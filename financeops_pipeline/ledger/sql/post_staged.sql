-- name: stage_entries
-- One new journal entry per idempotency key not yet posted for the tenant (the caller holds the
-- tenant-day advisory lock, so no concurrent run can post the same keys meanwhile), with its id drawn now.
-- Parameters: %(tenant)s.
CREATE TEMP TABLE staged_entries ON COMMIT DROP AS
SELECT nextval('ledger.entry_id_seq') AS entry_id, e.*
FROM (
    SELECT DISTINCT ON (s.idempotency_key)
           s.idempotency_key, s.rule_id, s.description, s.source_kind, s.source_file_sha256, s.source_position,
           s.source_ref
    FROM staged_legs s
    WHERE NOT EXISTS (SELECT 1 FROM ledger.journal_entries j
                      WHERE j.tenant = %(tenant)s AND j.idempotency_key = s.idempotency_key)
    ORDER BY s.idempotency_key
) e;
-- name: insert_entries
-- ON CONFLICT stays as a guard: a key posted meanwhile is skipped here, and its postings then fail the
-- balance trigger's entry check, rolling the whole batch back instead of posting anything twice.
-- Parameters: %(tenant)s, %(day)s, %(run_id)s, %(code_version)s, %(rule_version)s.
INSERT INTO ledger.journal_entries
    (entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
     source_file_sha256, source_position, source_ref, run_id, code_version)
SELECT entry_id, %(tenant)s, idempotency_key, %(day)s, rule_id, %(rule_version)s, description, source_kind,
       source_file_sha256, source_position, source_ref, %(run_id)s, %(code_version)s
FROM staged_entries
ORDER BY entry_id
ON CONFLICT (tenant, idempotency_key) DO NOTHING;
-- name: insert_postings
-- All postings of the batch in one statement: the statement-level trigger checks every entry at once.
INSERT INTO ledger.postings (entry_id, line_no, tenant, business_date, account_code, currency, amount_minor)
SELECT n.entry_id, s.line_no, %(tenant)s, %(day)s, s.account_code, s.currency, s.amount_minor
FROM staged_legs s
JOIN staged_entries n USING (idempotency_key)
ORDER BY n.entry_id, s.line_no;
