-- Post the staged legs of one batch: new entries only (idempotency keys already posted are skipped,
-- also when a concurrent run posts the same day), then their postings in one statement, so the
-- balance trigger checks every entry set-based. Parameters: %(tenant)s, %(day)s, %(run_id)s,
-- %(code_version)s, %(rule_version)s.
WITH entries AS (
    SELECT DISTINCT ON (idempotency_key)
           idempotency_key, rule_id, description, source_kind, source_file_sha256, source_position, source_ref
    FROM staged_legs
    ORDER BY idempotency_key
), new_entries AS (
    INSERT INTO ledger.journal_entries
        (entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
         source_file_sha256, source_position, source_ref, run_id, code_version)
    SELECT nextval('ledger.entry_id_seq'), %(tenant)s, e.idempotency_key, %(day)s, e.rule_id, %(rule_version)s,
           e.description, e.source_kind, e.source_file_sha256, e.source_position, e.source_ref,
           %(run_id)s, %(code_version)s
    FROM entries e
    ORDER BY e.idempotency_key
    ON CONFLICT (tenant, idempotency_key) DO NOTHING
    RETURNING entry_id, idempotency_key
)
INSERT INTO ledger.postings (entry_id, line_no, tenant, business_date, account_code, currency, amount_minor)
SELECT n.entry_id, s.line_no, %(tenant)s, %(day)s, s.account_code, s.currency, s.amount_minor
FROM staged_legs s
JOIN new_entries n USING (idempotency_key)
