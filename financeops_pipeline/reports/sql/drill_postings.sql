-- Drill-down of one report line, step 1: the postings of an account (optionally one currency) with business date
-- in [since, day] (since NULL = from the start, i.e. every posting behind a balance at the day), each with its
-- journal entry and source file. Step 2 (drill_source_records.sql) reads the records themselves from the imports
-- table of the entry's source_kind, one query per table and file day, so the day is a constant and the planner
-- prunes to that day's partition (a join on the file's day would plan every day partition of three tables).
-- Two branches: the entries + postings rows of before migration 0060 (postings by (tenant, account_code,
-- business_date), entries by primary key), and the transfers, where the entry is the row itself (the partitions of
-- the days in range, one scan; the account's leg numbered and signed as ledger.postings numbers it). The file of
-- a row: imports.files by hash (legacy) or by file_id (transfers); a transfer's source kind and reference are
-- derived where its row leaves them NULL (migration 0081), and so is its text position (0091); its accounts are
-- named by number (0092) or by code (rows written before, adjustments). Within a day the lines come in idempotency
-- key order. Parameters: %(tenant)s, %(account)s, %(currency)s (NULL = all), %(since)s (NULL = all), %(day)s.
WITH account AS (   -- the account's number (0092): a transfer names it by number or, written before, by code
    SELECT (SELECT account_no FROM ledger.accounts WHERE tenant = %(tenant)s AND account_code = %(account)s)
        AS account_no
), lines AS (
    SELECT p.business_date, p.entry_id, p.line_no, p.account_code, p.currency::text AS currency, p.amount_minor,
           e.rule_id, e.idempotency_key, e.source_kind, e.source_position, e.source_ref, f.original_name,
           e.source_file_sha256, f.business_date AS source_file_date
    FROM ledger.postings_legacy p
    JOIN ledger.journal_entries_legacy e ON e.entry_id = p.entry_id
    LEFT JOIN imports.files f ON f.tenant = e.tenant AND f.sha256 = e.source_file_sha256
    WHERE p.tenant = %(tenant)s AND p.account_code = %(account)s
      AND (%(currency)s::text IS NULL OR p.currency = %(currency)s::text)
      AND p.business_date <= %(day)s AND (%(since)s::date IS NULL OR p.business_date >= %(since)s::date)
    UNION ALL
    SELECT t.business_date, t.entry_id,
           (2 * t.leg_no - CASE WHEN t.debit_leg <> t.flipped THEN 1 ELSE 0 END)::smallint,
           %(account)s, t.currency::text,
           CASE WHEN t.debit_leg THEN t.amount_minor ELSE -t.amount_minor END,
           t.rule_id, t.idempotency_key, ledger.transfer_source_kind(t.rule_id, t.source_kind),
           ledger.transfer_source_position(t.source_position, t.source_record_no),
           ledger.transfer_source_ref(t.rule_id, t.idempotency_key, t.source_ref), f.original_name,
           f.sha256, f.business_date
    FROM (SELECT t.*, coalesce(t.debit_account = %(account)s, false) OR coalesce(t.debit_no = a.account_no, false)
                          AS debit_leg
          FROM ledger.transfers t, account a
          WHERE t.tenant = %(tenant)s
            AND (t.debit_account = %(account)s OR t.credit_account = %(account)s
                 OR t.debit_no = a.account_no OR t.credit_no = a.account_no)
            AND (%(currency)s::text IS NULL OR t.currency = %(currency)s::text)
            AND t.business_date <= %(day)s AND (%(since)s::date IS NULL OR t.business_date >= %(since)s::date)) t
    LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
)
SELECT business_date, entry_id, line_no, account_code, currency, amount_minor, rule_id, idempotency_key,
       source_kind, original_name AS source_file, source_position, source_ref, source_file_sha256, source_file_date
FROM lines
ORDER BY business_date, idempotency_key, line_no
