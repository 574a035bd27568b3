-- No idempotency key stands for two different money movements (no rows = pass). Posting keeps the first record
-- of a key and skips the rest (ON CONFLICT DO NOTHING), which is right for a record delivered twice and loses
-- money for two different records that happen to share a key (an id reused across files or days). Reported:
--  * journal entries of the tenant sharing a key (the unique index forbids it; checked anyway);
--  * source records of the day whose key is also claimed by another record with another amount or currency,
--    on the same day or by an entry already posted.
-- Keys are the ones ledger/sql/transfers.duckdb.sql derives (internal:<id>, processor_fee:<processor>:<line>,
-- bank:<account>:<ref>). Parameters: %(tenant)s, %(day)s.
WITH records AS (
    SELECT 'internal:' || transaction_id AS idempotency_key, currency::text AS currency, amount_minor,
           sf.sha256 AS file_sha256, source_position
    FROM imports.internal_transactions t LEFT JOIN imports.files sf ON sf.tenant = t.tenant AND sf.file_id = t.file_id WHERE t.tenant = %(tenant)s AND t.business_date = %(day)s
    UNION ALL
    SELECT 'processor_fee:' || processor || ':' || line_id, currency::text,
           CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END, sf.sha256, source_position
    FROM imports.processor_lines p LEFT JOIN imports.files sf ON sf.tenant = p.tenant AND sf.file_id = p.file_id
    WHERE p.tenant = %(tenant)s AND p.business_date = %(day)s AND category <> 'payout'
      AND CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END <> 0
    UNION ALL
    SELECT 'bank:' || account_id || ':' || coalesce(acct_svcr_ref, sf.sha256 || ':' || source_position),
           currency::text, amount_minor, sf.sha256, source_position
    FROM imports.bank_lines b LEFT JOIN imports.files sf ON sf.tenant = b.tenant AND sf.file_id = b.file_id WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND amount_minor <> 0
), same_day AS (
    SELECT idempotency_key,
           string_agg(DISTINCT currency || ' ' || amount_minor, ', ') AS amounts, count(*) AS records
    FROM records GROUP BY idempotency_key
    HAVING count(DISTINCT (currency, amount_minor)) > 1
), posted AS (
    -- The entry's first posting line carries +amount of the event for every rule (debit leg first).
    SELECT r.idempotency_key, r.currency || ' ' || r.amount_minor AS record_amount,
           p.currency::text || ' ' || p.amount_minor AS posted_amount
    FROM records r
    JOIN ledger.journal_entries e ON e.tenant = %(tenant)s AND e.idempotency_key = r.idempotency_key
    JOIN ledger.postings p ON p.entry_id = e.entry_id AND p.line_no = 1
    WHERE (p.currency::text, p.amount_minor) <> (r.currency, r.amount_minor)
), ledger_dupes AS (
    SELECT idempotency_key, count(*) AS entries FROM ledger.journal_entries
    WHERE tenant = %(tenant)s AND business_date = %(day)s
    GROUP BY idempotency_key HAVING count(*) > 1
)
SELECT idempotency_key, 'records of the day with different money: ' || amounts AS problem FROM same_day
UNION ALL
SELECT idempotency_key, 'record ' || record_amount || ' but the key was posted as ' || posted_amount FROM posted
WHERE idempotency_key NOT IN (SELECT idempotency_key FROM same_day)
UNION ALL
SELECT idempotency_key, entries || ' journal entries share the key' FROM ledger_dupes
ORDER BY 1, 2
