-- Records quarantined on the day, with file, position, field and message (warning when any).
-- %(source)s narrows to one source (bank, processor, internal); NULL lists every source.
SELECT f.source, q.file_name, q.position, q.field, q.message
FROM imports.quarantine q
JOIN imports.files f ON f.tenant = q.tenant AND f.sha256 = q.file_sha256
WHERE q.tenant = %(tenant)s AND q.business_date = %(day)s
  AND (%(source)s::text IS NULL OR f.source = %(source)s::text)
ORDER BY q.file_name, q.position
