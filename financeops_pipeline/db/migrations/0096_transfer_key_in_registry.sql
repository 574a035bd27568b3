-- A transfer row no longer carries its idempotency key's text (issue #13, posting stage): the key (~45 bytes of a
-- day's ~171-byte row, its widest column) is in ledger.entry_keys already, one row per entry under the same entry
-- id and key date. The posting (transfers.duckdb.sql) and the adjustments (ledger/adjustments.py) leave
-- ledger.transfers.idempotency_key NULL; a CHECK that COPY evaluates refuses a key on a new row (NOT VALID: the rows
-- written before keep theirs), so the registry is the one place a new entry's key is written and read.
-- Invariants, as Postgres enforces them now:
--  * one key per tenant across days: unchanged (the registry's unique index, migration 0060);
--  * a batch's entries are exactly the registered keys' entries: the checker compares counts and a 64-bit
--    fingerprint of (entry id, key date) of the batch's first legs with those of the registry rows of the batch's
--    entry-id range (before: of (key, entry id, key date)); an entry without its key registered, or a key
--    registered for no entry of the batch, is refused as before. The key an entry is posted under is the
--    registry's.
-- Readers get the key from the registry by (tenant, key date, entry id) where the row's own is NULL: the
-- journal_entries view (and so trace) and drill_postings.sql. The key date prunes the lookup to that date's key
-- partitions (its slice is a function of the key, unknown without it); entry_keys_entry, an index on the entry id,
-- makes it one probe per partition. Rows written before keep their stored key (coalesce: a stored value wins), so
-- they read the same.

ALTER TABLE ledger.transfers ALTER COLUMN idempotency_key DROP NOT NULL;   -- a catalog change only
ALTER TABLE ledger.transfers ADD CONSTRAINT transfers_key_in_registry CHECK (idempotency_key IS NULL)
    NOT VALID;   -- the rows before have theirs: no scan of them

-- built on every key partition now, and on each fresh one by ops.prepare_load_table (the parent's indexes)
CREATE INDEX entry_keys_entry ON ledger.entry_keys (entry_id);

-- As 0092's, the transfers' key from the registry where the row has none.
CREATE OR REPLACE VIEW ledger.journal_entries WITH (security_invoker = true) AS
SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
       source_file_sha256, source_position, source_ref, reverses_entry_id, run_id, code_version, posted_at
FROM ledger.journal_entries_legacy
UNION ALL
SELECT t.entry_id, t.tenant, coalesce(t.idempotency_key, k.idempotency_key COLLATE "default"), t.business_date,
       t.rule_id, b.rule_version,
       coalesce(n.description, CASE WHEN t.rule_id LIKE 'internal\_%' THEN substr(t.rule_id, 10)
                                    WHEN t.rule_id = 'processor_payout' THEN 'payout'
                                    ELSE replace(t.rule_id, '_', ' ') END
                               || ' ' || coalesce(ledger.transfer_source_ref(
                                   t.rule_id, coalesce(t.idempotency_key, k.idempotency_key COLLATE "default"),
                                   t.source_ref), '')),
       ledger.transfer_source_kind(t.rule_id, t.source_kind), f.sha256,
       ledger.transfer_source_position(t.source_position, t.source_record_no),
       ledger.transfer_source_ref(t.rule_id, coalesce(t.idempotency_key, k.idempotency_key COLLATE "default"),
                                  t.source_ref),
       n.reverses_entry_id, b.run_id, b.code_version, b.posted_at
FROM ledger.transfers t
JOIN ledger.posting_batches b ON b.batch_id = t.batch_id
LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
LEFT JOIN ledger.entry_notes n ON n.entry_id = t.entry_id AND n.tenant = t.tenant
LEFT JOIN ledger.entry_keys k ON t.idempotency_key IS NULL AND k.tenant = t.tenant AND k.key_date = t.key_date
     AND k.entry_id = t.entry_id
WHERE t.leg_no = 1;

-- As 0092's, with the fingerprint of (entry id, key date) on both sides instead of (key, entry id, key date).
CREATE OR REPLACE FUNCTION ledger.check_transfer_partition(p_table regclass) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET work_mem = '256MB' AS $$
DECLARE
    v_row   record;
    v_batch ledger.posting_batches;
    v_keys  record;
    v_bad   record;
    v_keysql text;
    v_fresh regclass;
BEGIN
    EXECUTE format('SELECT tenant, business_date, batch_id FROM %s LIMIT 1', p_table) INTO v_row;
    IF v_row IS NULL THEN
        RETURN false;   -- nothing loaded: nothing to attach
    END IF;
    SELECT * INTO v_batch FROM ledger.posting_batches b
    WHERE b.batch_id = v_row.batch_id AND b.tenant = v_row.tenant AND b.business_date = v_row.business_date;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % is not a batch of % on % (ledger.posting_batches)', v_row.batch_id,
            v_row.tenant, v_row.business_date USING ERRCODE = 'foreign_key_violation';
    END IF;

    EXECUTE format($q$
        CREATE TEMP TABLE batch_movement ON COMMIT DROP AS
        SELECT debit_account, credit_account, debit_no, credit_no, currency, key_date,
               sum(amount_minor)::bigint AS amount_minor,
               count(*) FILTER (WHERE leg_no = 1) AS entries, count(*) AS transfers,
               sum(hashint8extended(entry_id, key_date - date '1970-01-01')) FILTER (WHERE leg_no = 1) AS fingerprint
        FROM %s GROUP BY 1, 2, 3, 4, 5, 6$q$, p_table);   -- one hash aggregate (a DISTINCT aggregate would sort)
    UPDATE batch_movement m SET debit_account = a.account_code FROM ledger.accounts a
    WHERE m.debit_account IS NULL AND a.tenant = v_row.tenant AND a.account_no = m.debit_no;
    UPDATE batch_movement m SET credit_account = a.account_code FROM ledger.accounts a
    WHERE m.credit_account IS NULL AND a.tenant = v_row.tenant AND a.account_no = m.credit_no;
    SELECT coalesce(m.debit_no, m.credit_no) AS account_no INTO v_bad FROM batch_movement m
    WHERE m.debit_account IS NULL OR m.credit_account IS NULL OR m.debit_account = m.credit_account LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'batch % names account number % that is no account of % (or the same account twice)',
            v_row.batch_id, v_bad.account_no, v_row.tenant USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT sum(entries) AS entries, sum(transfers) AS transfers, coalesce(sum(fingerprint), 0) AS fingerprint,
           (SELECT array_agg(DISTINCT key_date) FROM batch_movement) AS key_dates
    INTO v_bad FROM batch_movement;
    -- the registered keys of the batch's entry ids: in the key partitions of the batch's dates (constants: pruned),
    -- and in this transaction's fresh key tables, attached after this batch (ATTACH locks the parent to commit:
    -- a concurrent batch of the tenant attaching its own keys would wait for all of this one)
    v_keysql := format('SELECT entry_id, key_date FROM ledger.entry_keys WHERE tenant = %L'
                       ' AND key_date = ANY (%L::date[]) AND entry_id BETWEEN %s AND %s', v_row.tenant,
                       v_bad.key_dates, v_row.batch_id * 4294967296, v_row.batch_id * 4294967296 + 4294967295);
    FOR v_fresh IN SELECT load_table FROM ops.load_tables
                   WHERE parent = 'ledger.entry_keys'::regclass AND created_by = pg_current_xact_id() LOOP
        v_keysql := v_keysql || format(' UNION ALL SELECT entry_id, key_date FROM %s'
                                       ' WHERE entry_id BETWEEN %s AND %s', v_fresh, v_row.batch_id * 4294967296,
                                       v_row.batch_id * 4294967296 + 4294967295);
    END LOOP;
    EXECUTE format('SELECT count(*) AS entries, coalesce(sum(hashint8extended(entry_id, key_date - date %L)), 0)'
                   ' AS fingerprint FROM (%s) k', '1970-01-01', v_keysql)
    INTO v_keys;
    IF v_bad.entries <> v_batch.entries OR v_bad.transfers <> v_batch.transfers OR v_keys.entries <> v_bad.entries
       OR v_keys.fingerprint <> v_bad.fingerprint THEN
        RAISE EXCEPTION 'batch % has no registered idempotency key for every entry (% entries and % transfers, % '
                        'keys; the batch row says % and %)', v_row.batch_id, v_bad.entries, v_bad.transfers,
            v_keys.entries, v_batch.entries, v_batch.transfers USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT m.currency INTO v_bad FROM batch_movement m
    WHERE NOT EXISTS (SELECT 1 FROM ops.iso_4217 c WHERE c.code = m.currency) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'currency % is not an ISO 4217 code', v_bad.currency USING ERRCODE = 'check_violation';
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('ledger.daily_balances'), hashtext(v_row.tenant));   -- as 0017
    WITH movement AS MATERIALIZED (
        SELECT account_code, currency, sum(debits)::bigint AS debits, sum(credits)::bigint AS credits
        FROM (SELECT debit_account AS account_code, currency, amount_minor AS debits, 0 AS credits
              FROM batch_movement
              UNION ALL
              SELECT credit_account, currency, 0, amount_minor FROM batch_movement) legs
        GROUP BY 1, 2
    ), later_days AS (
        UPDATE ledger.daily_balances b SET balance_minor = b.balance_minor + m.debits - m.credits
        FROM movement m
        WHERE b.tenant = v_row.tenant AND b.account_code = m.account_code AND b.currency = m.currency
          AND b.business_date > v_row.business_date
    )
    INSERT INTO ledger.daily_balances AS b
        (tenant, account_code, currency, business_date, debits_minor, credits_minor, balance_minor)
    SELECT v_row.tenant, m.account_code, m.currency, v_row.business_date, m.debits, m.credits,
           coalesce((SELECT p.balance_minor FROM ledger.daily_balances p
                     WHERE p.tenant = v_row.tenant AND p.account_code = m.account_code
                       AND p.currency = m.currency AND p.business_date < v_row.business_date
                     ORDER BY p.business_date DESC LIMIT 1), 0) + m.debits - m.credits
    FROM movement m
    ON CONFLICT (tenant, account_code, currency, business_date) DO UPDATE
        SET debits_minor = b.debits_minor + excluded.debits_minor,
            credits_minor = b.credits_minor + excluded.credits_minor,
            balance_minor = b.balance_minor + (excluded.debits_minor - excluded.credits_minor);
    DROP TABLE batch_movement;
    RETURN true;
END $$;
