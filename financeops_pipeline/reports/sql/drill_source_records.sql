-- Drill-down step 2: the imported records behind journal entries, by (file, position), from one day partition
-- of one imports table (see drill_postings.sql). Each record as JSON without the tenant and file hash.
-- The file's partition, found by its day and file id.
-- Parameters: %(tenant)s, %(day)s (the source file's business date), %(shas)s and %(positions)s (parallel arrays).

-- name: internal
SELECT f.sha256 AS file_sha256, r.source_position,
       (to_jsonb(r) - 'tenant' - 'file_id' - 'record_no')::text AS source_record
FROM imports.internal_transactions r
JOIN imports.files f ON f.tenant = r.tenant AND f.file_id = r.file_id
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON f.sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s

-- name: processor
SELECT f.sha256 AS file_sha256, r.source_position,
       (to_jsonb(r) - 'tenant' - 'file_id' - 'record_no' - 'extra')::text AS source_record
FROM imports.processor_lines r
JOIN imports.files f ON f.tenant = r.tenant AND f.file_id = r.file_id
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON f.sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s

-- name: bank
SELECT f.sha256 AS file_sha256, r.source_position,
       (to_jsonb(r) - 'tenant' - 'file_id' - 'record_no')::text AS source_record
FROM imports.bank_lines r
JOIN imports.files f ON f.tenant = r.tenant AND f.file_id = r.file_id
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON f.sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s
