-- A transfer names its source record by number (issue #13): `source_record_no`, the record's imports record_no
-- (1-based, in file order, migration 0026) within its file (source_file_id), instead of the text position on every
-- row. The text stays exactly available without a join: the posting (transfers.duckdb.sql) stores NULL in
-- source_position where the position is 'line ' || (record_no + 1) (a CSV record under a one-line header, every
-- record of the day's CSV files but those after a skipped line), and the text itself otherwise (bank statements'
-- XML paths, payouts, which have no record number of their own, a file with quarantined lines after them);
-- readers go through ledger.transfer_source_position (the journal_entries view, drill_postings.sql, the ledger
-- checks). Rows written before keep their text and have no number (coalesce: a stored value always wins), so they
-- read the same. The audit trail (file SHA-256 + position, run id, rule version, code version) is unchanged.
--
-- The day's record check (records_not_posted_from_themselves.sql) joins the records with their transfers on
-- (kind, file, record number), integers instead of text. The batches posted before this migration name their
-- records by text only: ledger.first_numbered_batch() is the first batch id this migration's code posts (a
-- constant the planner folds in, so a day's check prunes the other layout's partitions), and the check takes the
-- older ones by text as before.

ALTER TABLE ledger.transfers ADD COLUMN source_record_no integer;   -- a catalog change: NULL on the rows before
ALTER TABLE ledger.transfers ADD CONSTRAINT transfers_record_no_positive
    CHECK (source_record_no IS NULL OR source_record_no > 0 AND source_file_id IS NOT NULL)
    NOT VALID;   -- the rows before have none: no scan of them

CREATE FUNCTION ledger.transfer_source_position(p_source_position text, p_record_no integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_source_position, 'line ' || (p_record_no + 1))
$$;
GRANT EXECUTE ON FUNCTION ledger.transfer_source_position(text, integer) TO financeops_tenant;

-- Every batch id from here on is posted by code that numbers its records (the sequence never goes back).
DO $$
BEGIN
    EXECUTE format('CREATE FUNCTION ledger.first_numbered_batch() RETURNS bigint LANGUAGE sql IMMUTABLE'
                   ' PARALLEL SAFE AS %L', format('SELECT %s::bigint', nextval('ledger.batch_id_seq')));
END $$;
GRANT EXECUTE ON FUNCTION ledger.first_numbered_batch() TO financeops_tenant;

-- As 0081's, with the position through ledger.transfer_source_position.
CREATE OR REPLACE VIEW ledger.journal_entries WITH (security_invoker = true) AS
SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
       source_file_sha256, source_position, source_ref, reverses_entry_id, run_id, code_version, posted_at
FROM ledger.journal_entries_legacy
UNION ALL
SELECT t.entry_id, t.tenant, t.idempotency_key, t.business_date, t.rule_id, b.rule_version,
       coalesce(n.description, CASE WHEN t.rule_id LIKE 'internal\_%' THEN substr(t.rule_id, 10)
                                    WHEN t.rule_id = 'processor_payout' THEN 'payout'
                                    ELSE replace(t.rule_id, '_', ' ') END
                               || ' ' || coalesce(ledger.transfer_source_ref(t.rule_id, t.idempotency_key,
                                                                             t.source_ref), '')),
       ledger.transfer_source_kind(t.rule_id, t.source_kind), f.sha256,
       ledger.transfer_source_position(t.source_position, t.source_record_no),
       ledger.transfer_source_ref(t.rule_id, t.idempotency_key, t.source_ref), n.reverses_entry_id, b.run_id,
       b.code_version, b.posted_at
FROM ledger.transfers t
JOIN ledger.posting_batches b ON b.batch_id = t.batch_id
LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
LEFT JOIN ledger.entry_notes n ON n.entry_id = t.entry_id AND n.tenant = t.tenant
WHERE t.leg_no = 1;
