-- Narrower ledger.transfers rows (issue #13): the COPY of a day's transfers was the posting's largest step, and two
-- of its text columns were on every row for the few entries that need them. `description` and `reverses_entry_id`
-- leave the transfer row:
--  * a day's posted entry has no description of its own: ledger.journal_entries derives one from its rule and
--    source reference (exactly the old text for internal records and payouts, e.g. 'payment T1');
--  * adjustments (and reversals, when something writes them) keep theirs in ledger.entry_notes, one row per entry,
--    written in the batch's transaction by ledger/adjustments.py: its batch must be a batch of the same tenant and
--    day (a foreign key), and its entry id is of that batch (a CHECK), append-only like the transfers.
-- The source file stays an integer on the row (imports.files.file_id); the journal_entries view gives its SHA-256
-- by join, so the audit trail (file hash + position, run id, rule version, code version) is unchanged.
-- Upgrade: every description and reversal link of the rows posted before moves to ledger.entry_notes first, so the
-- view shows the same text for every old entry.

CREATE UNIQUE INDEX posting_batches_batch_tenant_day ON ledger.posting_batches (batch_id, tenant, business_date);

CREATE TABLE ledger.entry_notes (
    entry_id          bigint PRIMARY KEY,
    batch_id          bigint NOT NULL,
    tenant            text NOT NULL,
    business_date     date NOT NULL,
    description       text,
    reverses_entry_id bigint,
    CHECK (entry_id >> 32 = batch_id),
    CHECK (description IS NOT NULL OR reverses_entry_id IS NOT NULL),
    FOREIGN KEY (batch_id, tenant, business_date)
        REFERENCES ledger.posting_batches (batch_id, tenant, business_date)
);
SELECT ops.isolate_tenant_table('ledger.entry_notes');   -- SELECT, INSERT of the tenant's own rows
CREATE TRIGGER entry_notes_append_only BEFORE UPDATE OR DELETE ON ledger.entry_notes
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER entry_notes_no_truncate BEFORE TRUNCATE ON ledger.entry_notes
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change();

INSERT INTO ledger.entry_notes (entry_id, batch_id, tenant, business_date, description, reverses_entry_id)
SELECT entry_id, batch_id, tenant, business_date, description, reverses_entry_id
FROM ledger.transfers
WHERE leg_no = 1 AND (description IS NOT NULL OR reverses_entry_id IS NOT NULL);

DROP VIEW ledger.journal_entries;
ALTER TABLE ledger.transfers DROP COLUMN description, DROP COLUMN reverses_entry_id;   -- a catalog change only

-- As 0060's, with the description and reversal link from ledger.entry_notes, else derived from the rule.
CREATE VIEW ledger.journal_entries WITH (security_invoker = true) AS
SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
       source_file_sha256, source_position, source_ref, reverses_entry_id, run_id, code_version, posted_at
FROM ledger.journal_entries_legacy
UNION ALL
SELECT t.entry_id, t.tenant, t.idempotency_key, t.business_date, t.rule_id, b.rule_version,
       coalesce(n.description, CASE WHEN t.rule_id LIKE 'internal\_%' THEN substr(t.rule_id, 10)
                                    WHEN t.rule_id = 'processor_payout' THEN 'payout'
                                    ELSE replace(t.rule_id, '_', ' ') END || ' ' || coalesce(t.source_ref, '')),
       t.source_kind, f.sha256, t.source_position, t.source_ref, n.reverses_entry_id, b.run_id, b.code_version,
       b.posted_at
FROM ledger.transfers t
JOIN ledger.posting_batches b ON b.batch_id = t.batch_id
LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
LEFT JOIN ledger.entry_notes n ON n.entry_id = t.entry_id AND n.tenant = t.tenant
WHERE t.leg_no = 1;
GRANT SELECT ON ledger.journal_entries TO financeops_tenant;
