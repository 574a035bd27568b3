-- Posting one tenant-day in DuckDB, over the day's record files (imports/record_store.py): the views `internal`,
-- `processor` and `bank` are the records of the day's loaded files, `files` maps each file's SHA-256 to its
-- imports.files.file_id, `rules` is the rule book's transfers as (rule_id, leg_no, debit, credit, amount_column).
-- The same events as the entries layout posted (posting_events.sql before migration 0060), each with key_date, the
-- record's own date (ledger.entry_keys is partitioned by it; 1970-01-01 for payouts, which have none that every
-- delivery repeats). Parameters: $slice, $slices; {batch_id}, {slice}, {slices}
-- and {posted} are formatted in (a view takes no parameters).

-- name: events
-- One row per money movement of the slice (a key delivered twice is left once by events_repeated, below).
-- The table's rowid numbers them: entry_id = batch_id * 2^32 + rowid + 1 (in no particular order: readers order by
-- key where they need to; the keys found posted leave gaps). row_number() OVER () cost 2.9 s more here.
-- Each event's source kind follows from its rule, and so does its source reference for internal records (the
-- key's tail) and processor lines and payouts (the key's tail when the processor has no ':'): the transfer rows
-- store NULL for those (migration 0081's ledger.transfer_source_kind / transfer_source_ref derive them), so source_ref
-- here is what the row stores, and there is no source_kind at all (every rule below derives its own).
CREATE TABLE events AS
WITH internal_events AS (
    SELECT 'internal_' || type AS rule_id, 'internal:' || transaction_id AS idempotency_key,
           DATE '1970-01-01' + CAST(epoch_us(created_at) // 86400000000 AS INTEGER) AS key_date,
           currency, amount_minor, processor, CAST(NULL AS VARCHAR) AS bank_account, file_sha256, source_position,
           record_no, CAST(NULL AS VARCHAR) AS source_ref, file_id   -- the key's tail (0081)
    FROM internal
), fees AS (
    -- Fees on charges, refunds and disputes; standalone fee lines (category 'fee') carry the fee as -net.
    SELECT 'processor_fee', 'processor_fee:' || processor || ':' || line_id,
           DATE '1970-01-01' + CAST(epoch_us(created_at) // 86400000000 AS INTEGER),
           currency, CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END,
           processor, NULL, file_sha256, source_position, record_no,
           CASE WHEN strpos(processor, ':') = 0 THEN NULL ELSE line_id END, file_id
    FROM processor
    WHERE category <> 'payout' AND (CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END) <> 0
), adjustments AS (
    -- Balance movements that are not sales: the processor balance moves by the gross, and the fee (above) apart.
    SELECT 'processor_adjustment', 'processor_adjustment:' || processor || ':' || line_id,
           DATE '1970-01-01' + CAST(epoch_us(created_at) // 86400000000 AS INTEGER),
           currency, gross_minor, processor, NULL, file_sha256, source_position, record_no,
           CASE WHEN strpos(processor, ':') = 0 THEN NULL ELSE line_id END, file_id
    FROM processor
    WHERE category = 'adjustment' AND gross_minor <> 0
), payout_rows AS (
    -- A payout row posts the transfer it reports; an itemized report without one posts the sum of its lines' net.
    SELECT 'processor_payout', 'payout:' || processor || ':' || payout_id, DATE '1970-01-01', currency,
           CAST(CASE WHEN bool_or(category = 'payout') THEN -sum(net_minor) FILTER (WHERE category = 'payout')
                     ELSE sum(net_minor) END AS BIGINT) AS amount_minor,
           processor, NULL,
           coalesce(min(file_sha256) FILTER (WHERE category = 'payout'), min(file_sha256)) AS file_sha256,
           coalesce(min(source_position) FILTER (WHERE category = 'payout'), min(source_position)),
           CAST(NULL AS INTEGER),   -- an aggregate: named by its first position's text (0091)
           CASE WHEN strpos(processor, ':') = 0 THEN NULL ELSE payout_id END
    FROM processor
    WHERE payout_id IS NOT NULL
    GROUP BY processor, payout_id, currency
), payouts AS (
    -- the payout's file by its SHA-256 (a few rows)
    SELECT p.*, f.file_id FROM payout_rows p LEFT JOIN files f ON f.sha256 = p.file_sha256
), bank_events AS (
    -- Only booked lines are money that moved (imports/camt053.py): the others post when a statement books them.
    SELECT CASE classification WHEN 'payout' THEN 'bank_payout_received' WHEN 'fee' THEN 'bank_fee'
                               WHEN 'interest' THEN 'bank_interest' ELSE 'bank_unidentified' END,
           'bank:' || account_id || ':' || coalesce(acct_svcr_ref, file_sha256 || ':' || source_position),
           booking_date, currency, amount_minor, processor, account_id, file_sha256, source_position, record_no,
           coalesce(acct_svcr_ref, end_to_end_id, source_position), file_id
    FROM bank
    WHERE booked
), all_events AS (
    SELECT * FROM internal_events
    UNION ALL SELECT * FROM fees
    UNION ALL SELECT * FROM adjustments
    UNION ALL SELECT * FROM payouts
    UNION ALL SELECT * FROM bank_events
)
-- the file as its integer id from here on (the SHA-256 is 64 bytes of every event: ledger.journal_entries joins it
-- back); key_slice as in 0060
SELECT * FROM (
    SELECT * EXCLUDE (file_sha256), CAST(unicode(right(idempotency_key, 1)) % 4 AS SMALLINT) AS key_slice
    FROM all_events WHERE amount_minor <> 0
) WHERE key_slice % $slices = $slice;

-- name: events_repeated
-- A key delivered more than once stays once, the first by file and position: the others leave the table (found by
-- a hash aggregate of 8-byte hashes, so that only the repeated keys are sorted; one materialization of the events
-- instead of a materialized CTE and the table).
DELETE FROM events WHERE rowid IN (
    SELECT rowid FROM (
        SELECT e.rowid, row_number() OVER (PARTITION BY e.key_date, e.idempotency_key
                                           ORDER BY f.sha256, e.source_position) AS n
        FROM events e LEFT JOIN files f ON f.file_id = e.file_id
        WHERE hash(e.idempotency_key, e.key_date) IN (
            SELECT hash(idempotency_key, key_date) FROM events GROUP BY ALL HAVING count(*) > 1)
    ) WHERE n > 1
);

-- name: todo
-- The events of posting slice {slice} of {slices} whose key is not posted yet ({posted}: the keys of those events
-- found in ledger.entry_keys).
CREATE VIEW todo_{slice} AS
SELECT e.*, CAST({batch_id} AS BIGINT) * 4294967296 + e.rowid + 1 AS entry_id
FROM events e
WHERE e.key_slice % {slices} = {slice}
  AND NOT EXISTS (SELECT 1 FROM {posted} p WHERE p.key_date = e.key_date AND p.idempotency_key = e.idempotency_key);

-- name: legs
-- Each leg of every rule, processor and bank account the day's events post with, its accounts filled in: the
-- transfers join it (a few hundred rows) instead of building two account names on every transfer row.
CREATE TABLE legs AS
SELECT e.rule_id, e.processor, e.bank_account, l.leg_no, l.amount_column,
       replace(replace(l.debit, '{processor}', coalesce(e.processor, 'unknown')),
               '{bank_account}', coalesce(e.bank_account, 'unknown')) AS debit,
       replace(replace(l.credit, '{processor}', coalesce(e.processor, 'unknown')),
               '{bank_account}', coalesce(e.bank_account, 'unknown')) AS credit
FROM (SELECT DISTINCT rule_id, processor, bank_account FROM events) e
JOIN rules l USING (rule_id);

-- name: numbered_legs
-- The legs with their accounts' numbers (ledger.accounts.account_no, migration 0092; `account_numbers` is the
-- tenant's opened accounts as (account_code, account_no)): a transfer row names its accounts by number.
CREATE OR REPLACE TABLE legs AS
SELECT l.*, d.account_no AS debit_no, c.account_no AS credit_no
FROM legs l
LEFT JOIN account_numbers d ON d.account_code = l.debit
LEFT JOIN account_numbers c ON c.account_code = l.credit;

-- name: transfers
-- Each entry's transfers by its rule; a negative amount swaps the accounts (flipped). The batch's tenant, day and
-- batch id are its fresh partition's pinned columns (migration 0090): Postgres fills them in; source_kind is
-- left NULL (derived from the rule, see events), and so are the account codes (named by number, 0092). The
-- record is named by its file and record number; its text position is stored only where
-- ledger.transfer_source_position (migration 0091) would not derive it from the number ('line ' || (record_no + 1):
-- a CSV record under its header, no line skipped before it).
SELECT t.entry_id, CAST(t.leg_no AS SMALLINT) AS leg_no,
       CASE WHEN t.amount < 0 THEN t.credit_no ELSE t.debit_no END AS debit_no,
       CASE WHEN t.amount < 0 THEN t.debit_no ELSE t.credit_no END AS credit_no,
       abs(t.amount) AS amount_minor, t.currency, t.amount < 0 AS flipped, t.idempotency_key, t.key_date,
       t.rule_id, t.file_id AS source_file_id, t.record_no AS source_record_no,
       CASE WHEN t.source_position = 'line ' || CAST(t.record_no + 1 AS VARCHAR) THEN NULL
            ELSE t.source_position END AS source_position, t.source_ref
FROM (
    SELECT e.*, l.leg_no, l.debit_no, l.credit_no,
           CASE l.amount_column WHEN 'amount_minor' THEN e.amount_minor END AS amount
    FROM todo_{slice} e
    JOIN legs l ON l.rule_id = e.rule_id AND l.processor IS NOT DISTINCT FROM e.processor
               AND l.bank_account IS NOT DISTINCT FROM e.bank_account
) t
WHERE t.amount <> 0;

-- name: keys
-- In the order of the key partitions' unique index (key bytes: DuckDB sorts VARCHAR as "C" does): Postgres's sort
-- of presorted input is one pass, so the index build after the COPY takes less than half the time (2.5M keys:
-- 0.8 s instead of 1.9 s), for a sort here that both threads share.
SELECT key_date, key_slice, idempotency_key, entry_id FROM todo_{slice}
ORDER BY key_date, key_slice, idempotency_key;

-- name: accounts
-- Every account the day's events post to (opened before the slices start: two slices opening the same new account
-- in their transactions would make the second wait for the first's commit).
SELECT debit AS account_code FROM legs UNION SELECT credit FROM legs ORDER BY 1;
