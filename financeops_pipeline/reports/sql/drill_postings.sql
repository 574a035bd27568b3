-- Drill-down of one report line: the postings of an account (optionally one currency) with business date in
-- [since, day] (since NULL = from the start, i.e. every posting behind a balance at the day), each with its
-- journal entry and the source record it was posted from: journal_entries.source_file_sha256 +
-- source_position -> imports.files (name, business date) -> the imports table of the entry's source_kind.
-- Indexed: postings (tenant, account_code, business_date), entries by primary key, files by primary key,
-- imports tables by (tenant, file_sha256, source_position) in the file's day partition.
-- Parameters: %(tenant)s, %(account)s, %(currency)s (NULL = all), %(since)s (NULL = all), %(day)s.
SELECT p.business_date, p.entry_id, p.line_no, p.account_code, p.currency::text AS currency, p.amount_minor,
       e.rule_id, e.idempotency_key, e.source_kind, f.original_name AS source_file, e.source_position,
       e.source_ref,
       coalesce(to_jsonb(it) - 'tenant' - 'file_sha256', to_jsonb(pl) - 'tenant' - 'file_sha256' - 'extra',
                to_jsonb(bl) - 'tenant' - 'file_sha256')::text AS source_record
FROM ledger.postings p
JOIN ledger.journal_entries e ON e.entry_id = p.entry_id
LEFT JOIN imports.files f ON f.tenant = e.tenant AND f.sha256 = e.source_file_sha256
LEFT JOIN imports.internal_transactions it
       ON e.source_kind = 'internal' AND it.tenant = e.tenant AND it.business_date = f.business_date
      AND it.file_sha256 = e.source_file_sha256 AND it.source_position = e.source_position
LEFT JOIN imports.processor_lines pl
       ON e.source_kind IN ('processor', 'payout') AND pl.tenant = e.tenant AND pl.business_date = f.business_date
      AND pl.file_sha256 = e.source_file_sha256 AND pl.source_position = e.source_position
LEFT JOIN imports.bank_lines bl
       ON e.source_kind = 'bank' AND bl.tenant = e.tenant AND bl.business_date = f.business_date
      AND bl.file_sha256 = e.source_file_sha256 AND bl.source_position = e.source_position
WHERE p.tenant = %(tenant)s AND p.account_code = %(account)s
  AND (%(currency)s::text IS NULL OR p.currency = %(currency)s::text)
  AND p.business_date <= %(day)s AND (%(since)s::date IS NULL OR p.business_date >= %(since)s::date)
ORDER BY p.business_date, p.entry_id, p.line_no
