-- Drill-down step 2: the imported records behind journal entries, by (file, position), from one day partition
-- of one imports table (see drill_postings.sql). Each record as JSON without the tenant and file hash.
-- Indexed: (tenant, file_sha256, source_position) of the day partition.
-- Parameters: %(tenant)s, %(day)s (the source file's business date), %(shas)s and %(positions)s (parallel arrays).

-- name: internal
SELECT r.file_sha256, r.source_position, (to_jsonb(r) - 'tenant' - 'file_sha256')::text AS source_record
FROM imports.internal_transactions r
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON r.file_sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s

-- name: processor
SELECT r.file_sha256, r.source_position, (to_jsonb(r) - 'tenant' - 'file_sha256' - 'extra')::text AS source_record
FROM imports.processor_lines r
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON r.file_sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s

-- name: bank
SELECT r.file_sha256, r.source_position, (to_jsonb(r) - 'tenant' - 'file_sha256')::text AS source_record
FROM imports.bank_lines r
JOIN unnest(%(shas)s::text[], %(positions)s::text[]) AS k (sha, pos)
  ON r.file_sha256 = k.sha AND r.source_position = k.pos
WHERE r.tenant = %(tenant)s AND r.business_date = %(day)s
