-- name: entries_for_ref
-- Journal entries reached from a reference: an entry id, an idempotency key, a source reference
-- (transaction id, processor line id, payout id, bank reference) or a file SHA-256 (optionally ':position').
-- Parameters: %(tenant)s, %(ref)s.
SELECT e.entry_id, e.idempotency_key, e.business_date, e.rule_id, e.rule_version, e.description,
       e.source_kind, e.source_file_sha256, e.source_position, e.source_ref, e.reverses_entry_id,
       e.run_id, e.code_version, e.posted_at
FROM ledger.journal_entries e
WHERE e.tenant = %(tenant)s
  AND (e.entry_id::text = %(ref)s OR e.idempotency_key = %(ref)s OR e.source_ref = %(ref)s
       OR e.source_file_sha256 = %(ref)s OR e.source_file_sha256 || ':' || e.source_position = %(ref)s)
ORDER BY e.entry_id;
-- name: postings
SELECT p.line_no, p.account_code, p.currency, p.amount_minor
FROM ledger.postings p WHERE p.tenant = %(tenant)s AND p.entry_id = %(entry_id)s ORDER BY p.line_no;
-- name: source_record
-- The exact record an entry came from, found by file hash and position in whichever source table holds it.
SELECT 'internal' AS source, f.original_name, f.archive_path, jsonb_build_object('file_sha256', f.sha256) || to_jsonb(t) - 'tenant' - 'file_id' AS record
FROM imports.internal_transactions t JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.file_id
WHERE t.tenant = %(tenant)s AND f.sha256 = %(sha)s AND t.source_position = %(pos)s
UNION ALL
SELECT 'processor', f.original_name, f.archive_path, jsonb_build_object('file_sha256', f.sha256) || to_jsonb(t) - 'tenant' - 'file_id'
       || jsonb_build_object('extra', t.extra::jsonb)   -- stored as its JSON text (migration 0095)
FROM imports.processor_lines t JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.file_id
WHERE t.tenant = %(tenant)s AND f.sha256 = %(sha)s AND t.source_position = %(pos)s
UNION ALL
SELECT 'bank', f.original_name, f.archive_path, jsonb_build_object('file_sha256', f.sha256) || to_jsonb(t) - 'tenant' - 'file_id'
FROM imports.bank_lines t JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.file_id
WHERE t.tenant = %(tenant)s AND f.sha256 = %(sha)s AND t.source_position = %(pos)s;
