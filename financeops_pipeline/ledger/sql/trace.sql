-- name: entries_for_ref
-- Journal entries reached from a reference: an entry id, an idempotency key, a source reference
-- (transaction id, processor line id, payout id, bank reference) or a file SHA-256 (optionally ':position').
-- A day's transfer rows have no key of their own (migration 0096: the registry, ledger.entry_keys, holds it), and
-- their source reference is the key's tail where they store none (0081). So the entries are found first without
-- reading every entry's key through the view (a registry probe per transfer row): those whose registered key ends
-- with the reference (the key itself, or its tail: one scan of the tenant's keys), the transfers of that entry id
-- (an index) or that store the reference or name the file (one scan of their first legs, no text built per row),
-- and the legacy entries; then the view's rows of those entries, by entry id, are kept by the whole condition,
-- exactly as before. Parameters: %(tenant)s, %(ref)s.
WITH candidates AS (
    SELECT k.entry_id FROM ledger.entry_keys k
    WHERE k.tenant = %(tenant)s AND right(k.idempotency_key, length(%(ref)s)) = %(ref)s
    UNION
    SELECT t.entry_id FROM ledger.transfers t   -- (a row's own key, if any, is registered too)
    WHERE t.tenant = %(tenant)s AND t.leg_no = 1
      AND (t.entry_id = CASE WHEN %(ref)s ~ '^[0-9]{1,18}$' THEN %(ref)s::bigint END OR t.source_ref = %(ref)s
           OR t.source_file_id IN (SELECT f.file_id FROM imports.files f WHERE f.tenant = %(tenant)s
                                   AND f.sha256 IN (%(ref)s, split_part(%(ref)s, ':', 1))))
    UNION
    SELECT e.entry_id FROM ledger.journal_entries_legacy e
    WHERE e.tenant = %(tenant)s
      AND (e.entry_id::text = %(ref)s OR e.idempotency_key = %(ref)s OR e.source_ref = %(ref)s
           OR e.source_file_sha256 = %(ref)s OR e.source_file_sha256 || ':' || e.source_position = %(ref)s)
)
SELECT e.entry_id, e.idempotency_key, e.business_date, e.rule_id, e.rule_version, e.description,
       e.source_kind, e.source_file_sha256, e.source_position, e.source_ref, e.reverses_entry_id,
       e.run_id, e.code_version, e.posted_at
FROM candidates c
CROSS JOIN LATERAL (   -- each candidate's row of the view (OFFSET 0: looked up by entry id, not the view scanned)
    SELECT * FROM ledger.journal_entries e WHERE e.tenant = %(tenant)s AND e.entry_id = c.entry_id OFFSET 0) e
WHERE (e.entry_id::text = %(ref)s OR e.idempotency_key = %(ref)s OR e.source_ref = %(ref)s
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
