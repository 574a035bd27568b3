-- Posting one tenant-day, set-based. The caller holds the tenant-day advisory lock, so no concurrent run
-- can post the same keys meanwhile. `{events}` is posting_events.sql; `{legs}` the rule book's legs as
-- VALUES (rule_id, line_no, account, sign, amount_column), composed in by posting.py.

-- name: stage_events
-- One row per money movement (a record delivered twice, same idempotency key, is staged once: the first by
-- file and position), with its entry id drawn now when it is not posted yet. A batch may take one slice of
-- the day's keys, by hash, so that slices post at once on connections of their own: a key is always in the
-- same slice, and the unique key still refuses doubles. Parameters: %(tenant)s, %(day)s, %(slice)s, %(slices)s.
CREATE TEMP TABLE staged_events ON COMMIT DROP AS
SELECT CASE WHEN j.idempotency_key IS NULL THEN nextval('ledger.entry_id_seq') END AS entry_id, e.*
FROM (
    SELECT DISTINCT ON (idempotency_key) *
    FROM ({events}) e
    WHERE amount_minor <> 0 AND (hashtext(idempotency_key) & 2147483647) %% %(slices)s = %(slice)s
    ORDER BY idempotency_key, file_sha256, source_position
) e
LEFT JOIN ledger.journal_entries j ON j.tenant = %(tenant)s AND j.idempotency_key = e.idempotency_key;

-- name: staged_accounts
-- The concrete accounts the staged events post to (templates filled with processor / bank account), in code
-- order: they are opened last in the batch, in that order, so that slices opening the same new account wait
-- for each other only at their ends, never in a cycle.
SELECT DISTINCT replace(replace(l.account, '{{processor}}', coalesce(s.processor, 'unknown')),
                        '{{bank_account}}', coalesce(s.bank_account, 'unknown'))
FROM (SELECT DISTINCT event_type, processor, bank_account FROM staged_events WHERE entry_id IS NOT NULL) s
JOIN (VALUES {legs}) AS l(rule_id, line_no, account, sign, amount_column) ON l.rule_id = s.event_type
ORDER BY 1;

-- name: insert_entries
-- No ON CONFLICT: staging left out every key already posted, and a key another transaction posted meanwhile
-- fails the unique index, rolling the whole batch back (nothing is posted twice). ON CONFLICT DO NOTHING's
-- speculative insertion cost 2.5 of 15 s for 2M entries, only to skip a row whose postings would then have
-- failed the balance trigger's entry check anyway. No ORDER BY: staged_events was written in entry id order
-- (the ids were drawn as its rows were written), so a plain scan already inserts in key order.
-- Parameters: %(tenant)s, %(day)s, %(run_id)s, %(code_version)s, %(rule_version)s.
INSERT INTO ledger.journal_entries
    (entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
     source_file_sha256, source_position, source_ref, run_id, code_version)
SELECT entry_id, %(tenant)s, idempotency_key, %(day)s, event_type, %(rule_version)s, description, source_kind,
       file_sha256, source_position, source_ref, %(run_id)s, %(code_version)s
FROM staged_events
WHERE entry_id IS NOT NULL;

-- name: insert_postings
-- Every leg of every new entry in one statement: the statement-level trigger checks all entries at once.
-- Parameters: %(tenant)s, %(day)s.
INSERT INTO ledger.postings (entry_id, line_no, tenant, business_date, account_code, currency, amount_minor)
SELECT s.entry_id, l.line_no, %(tenant)s, %(day)s,
       replace(replace(l.account, '{{processor}}', coalesce(s.processor, 'unknown')),
               '{{bank_account}}', coalesce(s.bank_account, 'unknown')),
       s.currency, l.sign * s.amount_minor
FROM staged_events s
JOIN (VALUES {legs}) AS l(rule_id, line_no, account, sign, amount_column) ON l.rule_id = s.event_type
WHERE s.entry_id IS NOT NULL;
