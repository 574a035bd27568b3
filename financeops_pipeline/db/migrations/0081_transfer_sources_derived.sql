-- Two more text columns off a day's transfer rows (issue #13): a record's source kind follows from its rule, and
-- its source reference is the tail of its idempotency key for internal records (internal:<transaction_id>) and
-- processor lines and payouts (<rule>:<processor>:<line or payout id>). The posting (transfers.duckdb.sql) writes
-- NULL where the value is exactly what these functions derive, and the value itself otherwise (bank lines,
-- adjustments, anything unusual); readers go through the functions (the journal_entries view, drill_postings.sql).
-- Rows written before keep their values (coalesce: a stored value always wins).

CREATE FUNCTION ledger.transfer_source_kind(p_rule_id text, p_source_kind text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_source_kind, CASE WHEN p_rule_id LIKE 'internal\_%' THEN 'internal'
                                        WHEN p_rule_id = 'processor_payout' THEN 'payout'
                                        WHEN p_rule_id LIKE 'processor\_%' THEN 'processor'
                                        WHEN p_rule_id LIKE 'bank\_%' THEN 'bank' END)
$$;

-- as transfers.duckdb.sql derives it (split_part and substr count characters in both)
CREATE FUNCTION ledger.transfer_source_ref(p_rule_id text, p_idempotency_key text, p_source_ref text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_source_ref, CASE
        WHEN p_rule_id LIKE 'internal\_%' THEN substr(p_idempotency_key, 10)
        WHEN p_rule_id IN ('processor_fee', 'processor_adjustment', 'processor_payout')
            THEN substr(p_idempotency_key, length(split_part(p_idempotency_key, ':', 1))
                                           + length(split_part(p_idempotency_key, ':', 2)) + 3) END)
$$;
GRANT EXECUTE ON FUNCTION ledger.transfer_source_kind(text, text), ledger.transfer_source_ref(text, text, text)
    TO financeops_tenant;

ALTER TABLE ledger.transfers ALTER COLUMN source_kind DROP NOT NULL;   -- a catalog change only

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
       ledger.transfer_source_kind(t.rule_id, t.source_kind), f.sha256, t.source_position,
       ledger.transfer_source_ref(t.rule_id, t.idempotency_key, t.source_ref), n.reverses_entry_id, b.run_id,
       b.code_version, b.posted_at
FROM ledger.transfers t
JOIN ledger.posting_batches b ON b.batch_id = t.batch_id
LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
LEFT JOIN ledger.entry_notes n ON n.entry_id = t.entry_id AND n.tenant = t.tenant
WHERE t.leg_no = 1;
