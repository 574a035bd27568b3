-- Drill-down of one report line, step 1: the postings of an account (optionally one currency) with business date
-- in [since, day] (since NULL = from the start, i.e. every posting behind a balance at the day), each with its
-- journal entry and source file: journal_entries.source_file_sha256 -> imports.files (name, business date).
-- Step 2 (drill_source_records.sql) reads the records themselves from the imports table of the entry's
-- source_kind, one query per table and file day, so the day is a constant and the planner prunes to that day's
-- partition (a join on the file's day would plan every day partition of three tables).
-- Indexed: postings (tenant, account_code, business_date), entries and files by primary key. Within a day the
-- lines come in idempotency key order: entry ids follow posting order, which slices posted at once interleave.
-- Parameters: %(tenant)s, %(account)s, %(currency)s (NULL = all), %(since)s (NULL = all), %(day)s.
SELECT p.business_date, p.entry_id, p.line_no, p.account_code, p.currency::text AS currency, p.amount_minor,
       e.rule_id, e.idempotency_key, e.source_kind, f.original_name AS source_file, e.source_position,
       e.source_ref, e.source_file_sha256, f.business_date AS source_file_date
FROM ledger.postings p
JOIN ledger.journal_entries e ON e.entry_id = p.entry_id
LEFT JOIN imports.files f ON f.tenant = e.tenant AND f.sha256 = e.source_file_sha256
WHERE p.tenant = %(tenant)s AND p.account_code = %(account)s
  AND (%(currency)s::text IS NULL OR p.currency = %(currency)s::text)
  AND p.business_date <= %(day)s AND (%(since)s::date IS NULL OR p.business_date >= %(since)s::date)
ORDER BY p.business_date, e.idempotency_key, p.line_no
