-- The transfer layout (issue #13), after TigerBeetle: one row per two-leg movement, ledger.transfers (debit account,
-- credit account, amount > 0, one currency), so a row is balanced by construction and needs no balance query; an
-- entry of several movements is linked transfers under one entry id (leg_no 1..n). Written only in bulk: each
-- posting batch (a tenant-day's events, or one call of ledger/adjustments.py) is a fresh partition of its own,
-- COPYed (binary, FREEZE) into a table created in the same transaction, indexed after the load, checked set-based
-- and attached through migration 0018's functions (ops.bulk_parents: append-only, checker below).
--
-- Invariants, as the database enforces them now:
--  * balanced: CHECK (amount_minor > 0), CHECK (debit_account <> credit_account), one currency per row;
--  * append-only: UPDATE / DELETE refused by row triggers of the parents (cloned onto every partition), TRUNCATE
--    by each partition's own trigger (0018), DROP / DETACH / ALTER by 0018's DDL guard; corrections are reversals;
--  * one idempotency key per tenant across days: ledger.entry_keys, partitioned by (tenant, key_date, key_slice) where
--    key_date is the record's own date (internal and processor records: created_at; bank lines: booking date;
--    payouts and adjustments, which have no date of their own that every delivery repeats: 1970-01-01), unique
--    (idempotency_key, tenant, key_date, key_slice). A record redelivered in a later day's file carries the same own date, so
--    it meets its first registration in the same partition. A day's keys are mostly of that day: their partition
--    is fresh (COPY, unique index built after); keys of other dates go row by row into existing partitions. The
--    checker refuses a batch whose entries are not exactly those registered under its entry ids;
--  * integer minor units and a valid ISO 4217 currency (the checker, over the batch's distinct currencies);
--  * every transfer names its source record (imports.files.file_id + position), and through its batch
--    (ledger.posting_batches) the run id, rule version and code version;
--  * locked days: a batch row is written first, and 0045's ops.refuse_batch_on_locked_day refuses it.
-- ledger.daily_balances is maintained by the checker, set-based from the fresh partition, with 0017's semantics.
--
-- The entries + postings tables keep their rows (renamed *_legacy, triggers and policies with them), and
-- ledger.journal_entries / ledger.postings become views over both layouts (security_invoker: the row-level
-- security of the tables below applies to whoever reads), so every reader keeps working.

ALTER TABLE ledger.journal_entries RENAME TO journal_entries_legacy;
ALTER TABLE ledger.postings RENAME TO postings_legacy;

-- 0015's checks named ledger.journal_entries: now the legacy table (the view has no xmin).
CREATE OR REPLACE FUNCTION ledger.check_postings() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
SET work_mem = '256MB'
AS $$
DECLARE
    v_bad record;
    v_tenants text[];
    v_first date;
    v_last date;
BEGIN
    SELECT array_agg(tenant), min(business_date), max(business_date) INTO v_tenants, v_first, v_last
    FROM (SELECT tenant, business_date FROM new_postings GROUP BY 1, 2) batch;
    SELECT l.entry_id, l.currency, l.total, l.total <> 0 AS unbalanced,
           e.entry_id IS NULL OR l.tenant <> l.last_tenant OR l.business_date <> l.last_date AS missing
    INTO v_bad
    FROM (SELECT entry_id, currency, sum(amount_minor) AS total,
                 min(tenant) AS tenant, max(tenant) AS last_tenant,
                 min(business_date) AS business_date, max(business_date) AS last_date
          FROM new_postings GROUP BY entry_id, currency) l
    LEFT JOIN (SELECT entry_id, tenant, business_date, xmin FROM ledger.journal_entries_legacy
               WHERE tenant = ANY (v_tenants) AND business_date BETWEEN v_first AND v_last) e
           ON e.entry_id = l.entry_id AND e.tenant = l.tenant AND e.business_date = l.business_date
    WHERE l.total <> 0 OR e.entry_id IS NULL OR l.tenant <> l.last_tenant OR l.business_date <> l.last_date
       OR e.xmin <> pg_current_xact_id()::xid
    ORDER BY 4 DESC, 5 DESC
    LIMIT 1;
    IF FOUND AND v_bad.unbalanced THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: postings sum to %',
            v_bad.entry_id, v_bad.currency, v_bad.total USING ERRCODE = 'check_violation';
    ELSIF FOUND AND v_bad.missing THEN
        RAISE EXCEPTION 'postings of entry % have no journal entry with the same tenant and date', v_bad.entry_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'entry % was posted by an earlier transaction: entries are immutable, post a new entry',
            v_bad.entry_id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END $$;

-- Nothing writes the legacy tables any more but the report benchmark's fill (as the owner): tenants read them.
REVOKE INSERT ON ledger.journal_entries_legacy, ledger.postings_legacy FROM financeops_tenant;

CREATE TABLE ops.iso_4217 (code char(3) PRIMARY KEY);   -- every code of money.CURRENCY_EXPONENTS (current, historic)
INSERT INTO ops.iso_4217 (code) VALUES
    ('ADP'), ('AED'), ('AFA'), ('AFN'), ('ALK'), ('ALL'), ('AMD'), ('ANG'), ('AOA'), ('AOK'), ('AON'), ('AOR'), ('ARA'), ('ARP'), ('ARS'), ('ARY'),
    ('ATS'), ('AUD'), ('AWG'), ('AYM'), ('AZM'), ('AZN'), ('BAD'), ('BAM'), ('BBD'), ('BDT'), ('BEC'), ('BEF'), ('BEL'), ('BGJ'), ('BGK'), ('BGL'),
    ('BGN'), ('BHD'), ('BIF'), ('BMD'), ('BND'), ('BOB'), ('BOP'), ('BOV'), ('BRB'), ('BRC'), ('BRE'), ('BRL'), ('BRN'), ('BRR'), ('BSD'), ('BTN'),
    ('BUK'), ('BWP'), ('BYB'), ('BYN'), ('BYR'), ('BZD'), ('CAD'), ('CDF'), ('CHC'), ('CHE'), ('CHF'), ('CHW'), ('CLF'), ('CLP'), ('CNY'), ('COP'),
    ('COU'), ('CRC'), ('CSD'), ('CSJ'), ('CSK'), ('CUC'), ('CUP'), ('CVE'), ('CYP'), ('CZK'), ('DDM'), ('DEM'), ('DJF'), ('DKK'), ('DOP'), ('DZD'),
    ('ECS'), ('ECV'), ('EEK'), ('EGP'), ('ERN'), ('ESA'), ('ESB'), ('ESP'), ('ETB'), ('EUR'), ('FIM'), ('FJD'), ('FKP'), ('FRF'), ('GBP'), ('GEK'),
    ('GEL'), ('GHC'), ('GHP'), ('GHS'), ('GIP'), ('GMD'), ('GNE'), ('GNF'), ('GNS'), ('GQE'), ('GRD'), ('GTQ'), ('GWE'), ('GWP'), ('GYD'), ('HKD'),
    ('HNL'), ('HRD'), ('HRK'), ('HTG'), ('HUF'), ('IDR'), ('IEP'), ('ILP'), ('ILR'), ('ILS'), ('INR'), ('IQD'), ('IRR'), ('ISJ'), ('ISK'), ('ITL'),
    ('JMD'), ('JOD'), ('JPY'), ('KES'), ('KGS'), ('KHR'), ('KMF'), ('KPW'), ('KRW'), ('KWD'), ('KYD'), ('KZT'), ('LAJ'), ('LAK'), ('LBP'), ('LKR'),
    ('LRD'), ('LSL'), ('LSM'), ('LTL'), ('LTT'), ('LUC'), ('LUF'), ('LUL'), ('LVL'), ('LVR'), ('LYD'), ('MAD'), ('MDL'), ('MGA'), ('MGF'), ('MKD'),
    ('MLF'), ('MMK'), ('MNT'), ('MOP'), ('MRO'), ('MRU'), ('MTL'), ('MTP'), ('MUR'), ('MVQ'), ('MVR'), ('MWK'), ('MXN'), ('MXP'), ('MXV'), ('MYR'),
    ('MZE'), ('MZM'), ('MZN'), ('NAD'), ('NGN'), ('NIC'), ('NIO'), ('NLG'), ('NOK'), ('NPR'), ('NZD'), ('OMR'), ('PAB'), ('PEH'), ('PEI'), ('PEN'),
    ('PES'), ('PGK'), ('PHP'), ('PKR'), ('PLN'), ('PLZ'), ('PTE'), ('PYG'), ('QAR'), ('RHD'), ('ROK'), ('ROL'), ('RON'), ('RSD'), ('RUB'), ('RUR'),
    ('RWF'), ('SAR'), ('SBD'), ('SCR'), ('SDD'), ('SDG'), ('SDP'), ('SEK'), ('SGD'), ('SHP'), ('SIT'), ('SKK'), ('SLE'), ('SLL'), ('SOS'), ('SRD'),
    ('SRG'), ('SSP'), ('STD'), ('STN'), ('SUR'), ('SVC'), ('SYP'), ('SZL'), ('THB'), ('TJR'), ('TJS'), ('TMM'), ('TMT'), ('TND'), ('TOP'), ('TPE'),
    ('TRL'), ('TRY'), ('TTD'), ('TWD'), ('TZS'), ('UAH'), ('UAK'), ('UGS'), ('UGW'), ('UGX'), ('USD'), ('USN'), ('USS'), ('UYI'), ('UYN'), ('UYP'),
    ('UYU'), ('UYW'), ('UZS'), ('VEB'), ('VED'), ('VEF'), ('VES'), ('VNC'), ('VND'), ('VUV'), ('WST'), ('XAD'), ('XAF'), ('XAG'), ('XAU'), ('XBA'),
    ('XBB'), ('XBC'), ('XBD'), ('XCD'), ('XCG'), ('XDR'), ('XEU'), ('XFO'), ('XFU'), ('XOF'), ('XPD'), ('XPF'), ('XPT'), ('XRE'), ('XSU'), ('XTS'),
    ('XUA'), ('XXX'), ('YDD'), ('YER'), ('YUD'), ('YUM'), ('YUN'), ('ZAL'), ('ZAR'), ('ZMK'), ('ZMW'), ('ZRN'), ('ZRZ'), ('ZWC'), ('ZWD'), ('ZWG'),
    ('ZWL'), ('ZWN'), ('ZWR');
GRANT SELECT ON ops.iso_4217 TO financeops_tenant;

-- One row per posting batch: what posted it. Entry and transfer ids of a batch are batch_id * 2^32 + n, so an
-- entry's transfers are all in its batch's partition (a CHECK below) and ids never meet the legacy ones.
CREATE SEQUENCE ledger.batch_id_seq;
SELECT setval('ledger.batch_id_seq',
              (SELECT coalesce(max(entry_id), 0) >> 32 FROM ledger.journal_entries_legacy) + 1, false);
GRANT USAGE ON SEQUENCE ledger.batch_id_seq TO financeops_tenant;

CREATE TABLE ledger.posting_batches (
    batch_id      bigint PRIMARY KEY,
    tenant        text NOT NULL REFERENCES ops.tenants (tenant),
    business_date date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('day', 'adjustments')),
    entries       integer NOT NULL CHECK (entries > 0),
    transfers     integer NOT NULL CHECK (transfers >= entries),
    rule_version  text NOT NULL,
    run_id        text NOT NULL,
    code_version  text NOT NULL,
    posted_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ON ledger.posting_batches (tenant, business_date);
SELECT ops.isolate_tenant_table('ledger.posting_batches');
CREATE TRIGGER posting_batches_append_only BEFORE UPDATE OR DELETE ON ledger.posting_batches
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER posting_batches_no_truncate BEFORE TRUNCATE ON ledger.posting_batches
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER posting_batches_day_open BEFORE INSERT ON ledger.posting_batches
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_batch_on_locked_day();

CREATE TABLE ledger.transfers (
    transfer_id       bigint NOT NULL,
    entry_id          bigint NOT NULL,
    leg_no            smallint NOT NULL CHECK (leg_no > 0),    -- the entry's n-th transfer (rule order)
    tenant            text NOT NULL,
    business_date     date NOT NULL,
    batch_id          bigint NOT NULL,
    debit_account     text NOT NULL,
    credit_account    text NOT NULL,
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          char(3) NOT NULL,
    -- the rule's debit leg is the credit here: its amount was negative (a fee refund, a bank debit). The postings
    -- view gives each leg the rule's line number, signed as the rule has it.
    flipped           boolean NOT NULL,
    idempotency_key   text NOT NULL,
    key_date          date NOT NULL,
    rule_id           text NOT NULL,
    source_kind       text NOT NULL,
    source_file_id    integer,            -- imports.files.file_id of the record (null: adjustments)
    source_position   text,
    source_ref        text,
    description       text,
    reverses_entry_id bigint,
    CHECK (debit_account <> credit_account),
    CHECK (entry_id >> 32 = batch_id AND transfer_id >> 32 = batch_id)
) PARTITION BY RANGE (tenant, business_date, batch_id);
-- per partition: the entry's legs once (ids ascend in COPY order: a cheap build); what trace and drill look up
CREATE UNIQUE INDEX transfers_entry_leg ON ledger.transfers (entry_id, leg_no, tenant, business_date, batch_id);

-- key_slice, a function of the key (its last character's code point mod 4), splits a key date's keys over four
-- partitions, so that two batches of a day (posting slices, one connection each) write theirs at once, each into
-- fresh partitions of its own: a key is always in the same slice, so one key stays once per tenant.
CREATE TABLE ledger.entry_keys (
    tenant          text NOT NULL,
    key_date        date NOT NULL,
    key_slice       smallint NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    entry_id        bigint NOT NULL,
    CHECK (key_slice = ascii(right(idempotency_key, 1)) % 4)
) PARTITION BY RANGE (tenant, key_date, key_slice);
-- keyed on what varies first (a tenant-day's tenant and date are constant): the build sorts bytes ("C")
CREATE UNIQUE INDEX entry_keys_unique ON ledger.entry_keys (idempotency_key, tenant, key_date, key_slice);

ALTER TABLE ledger.transfers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger.transfers TO financeops_tenant
    USING (tenant = (SELECT ops.current_tenant()));
GRANT SELECT ON ledger.transfers TO financeops_tenant;   -- rows come only through fresh partitions
SELECT ops.isolate_tenant_table('ledger.entry_keys');    -- SELECT, INSERT (keys of earlier dates, row by row)

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['ledger.transfers', 'ledger.entry_keys'] LOOP
        EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION ops.refuse_change()', v_table);
        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change()', v_table);
    END LOOP;
END $$;

-- A key partition is attached when it holds keys.
CREATE FUNCTION ledger.check_key_partition(p_table regclass) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_any boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p_table) INTO v_any;
    RETURN v_any;
END $$;

-- A batch's fresh partition, before it is attached (its bound constraint pins tenant, day and batch for every row):
-- the batch was registered for that tenant and day (so the locked-day check ran; a batch of another transaction
-- already has its partition, which this one's bound would overlap); its entries are exactly those whose keys are
-- registered under the batch's entry ids (counts and a 64-bit fingerprint of (key date, key, entry id) on both
-- sides: two aggregates instead of a join of the day's keys); every currency is ISO 4217. Then the day's balance
-- snapshots, set-based from the batch's movements per (debit, credit, currency), with the semantics of 0017's
-- snapshot_daily_balances: the day's row gets the movement, every later day's closing balance moves by it. All of
-- it in one scan of the batch.
CREATE FUNCTION ledger.check_transfer_partition(p_table regclass) RETURNS boolean
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
        SELECT debit_account, credit_account, currency, key_date, sum(amount_minor)::bigint AS amount_minor,
               count(*) FILTER (WHERE leg_no = 1) AS entries, count(*) AS transfers,
               sum(hashtextextended(idempotency_key, entry_id + (key_date - date '1970-01-01')))
                   FILTER (WHERE leg_no = 1) AS fingerprint
        FROM %s GROUP BY 1, 2, 3, 4$q$, p_table);   -- one hash aggregate (a DISTINCT aggregate would sort)
    SELECT sum(entries) AS entries, sum(transfers) AS transfers, coalesce(sum(fingerprint), 0) AS fingerprint,
           (SELECT array_agg(DISTINCT key_date) FROM batch_movement) AS key_dates
    INTO v_bad FROM batch_movement;
    -- the registered keys of the batch's entry ids: in the key partitions of the batch's dates (constants: pruned),
    -- and in this transaction's fresh key tables, attached after this batch (ATTACH locks the parent to commit:
    -- a concurrent batch of the tenant attaching its own keys would wait for all of this one)
    v_keysql := format('SELECT idempotency_key, entry_id, key_date FROM ledger.entry_keys WHERE tenant = %L'
                       ' AND key_date = ANY (%L::date[]) AND entry_id BETWEEN %s AND %s', v_row.tenant,
                       v_bad.key_dates, v_row.batch_id * 4294967296, v_row.batch_id * 4294967296 + 4294967295);
    FOR v_fresh IN SELECT load_table FROM ops.load_tables
                   WHERE parent = 'ledger.entry_keys'::regclass AND created_by = pg_current_xact_id() LOOP
        v_keysql := v_keysql || format(' UNION ALL SELECT idempotency_key, entry_id, key_date FROM %s'
                                       ' WHERE entry_id BETWEEN %s AND %s', v_fresh, v_row.batch_id * 4294967296,
                                       v_row.batch_id * 4294967296 + 4294967295);
    END LOOP;
    EXECUTE format('SELECT count(*) AS entries, coalesce(sum(hashtextextended(idempotency_key,'
                   ' entry_id + (key_date - date %L))), 0) AS fingerprint FROM (%s) k', '1970-01-01', v_keysql)
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

INSERT INTO ops.bulk_parents (parent, tenant_column, checker, append_only) VALUES
    ('ledger.transfers', 'tenant', 'ledger.check_transfer_partition(regclass)'::regprocedure, true),
    ('ledger.entry_keys', 'tenant', 'ledger.check_key_partition(regclass)'::regprocedure, true);

-- The keys of the entries posted before, under the key date the posting gives them now (the record's own date, found
-- through the entry's source file and position; 1970-01-01 for payouts, adjustments and a record not found), so
-- that a record delivered again after the upgrade is not posted twice. Their partitions are plain ones, attached
-- here; later keys of those dates go into them row by row.
CREATE TEMP TABLE legacy_keys ON COMMIT DROP AS
SELECT e.tenant, coalesce(CASE WHEN e.rule_id LIKE 'internal\_%' THEN (t.created_at AT TIME ZONE 'UTC')::date
                               WHEN e.rule_id IN ('processor_fee', 'processor_adjustment')
                                   THEN (p.created_at AT TIME ZONE 'UTC')::date
                               WHEN e.rule_id LIKE 'bank\_%' THEN b.booking_date END,
                          date '1970-01-01') AS key_date,
       (ascii(right(e.idempotency_key, 1)) % 4)::smallint AS key_slice, e.idempotency_key, e.entry_id
FROM ledger.journal_entries_legacy e
LEFT JOIN imports.files f ON f.tenant = e.tenant AND f.sha256 = e.source_file_sha256
LEFT JOIN imports.internal_transactions t ON e.rule_id LIKE 'internal\_%' AND t.tenant = f.tenant
     AND t.business_date = f.business_date AND t.file_id = f.file_id AND t.source_position = e.source_position
LEFT JOIN imports.processor_lines p ON e.rule_id IN ('processor_fee', 'processor_adjustment') AND p.tenant = f.tenant
     AND p.business_date = f.business_date AND p.file_id = f.file_id AND p.source_position = e.source_position
LEFT JOIN imports.bank_lines b ON e.rule_id LIKE 'bank\_%' AND b.tenant = f.tenant
     AND b.business_date = f.business_date AND b.file_id = f.file_id AND b.source_position = e.source_position;

DO $$
DECLARE
    v_part record;
    v_name text;
BEGIN
    FOR v_part IN SELECT DISTINCT tenant, key_date, key_slice FROM legacy_keys ORDER BY 1, 2, 3 LOOP
        v_name := left(format('entry_keys_%s_%s_%s', regexp_replace(v_part.tenant, '[^0-9A-Za-z_]', '', 'g'),
                              to_char(v_part.key_date, 'YYYYMMDD'), v_part.key_slice), 56) || '_legacy';
        EXECUTE format('CREATE TABLE ledger.%I PARTITION OF ledger.entry_keys FOR VALUES FROM (%L, %L, %s)'
                       ' TO (%L, %L, %s)', v_name, v_part.tenant, v_part.key_date, v_part.key_slice,
                       v_part.tenant, v_part.key_date, v_part.key_slice + 1);
        EXECUTE format('INSERT INTO ledger.%I (tenant, key_date, key_slice, idempotency_key, entry_id)'
                       ' SELECT tenant, key_date, key_slice, idempotency_key, entry_id FROM legacy_keys'
                       ' WHERE tenant = %L AND key_date = %L AND key_slice = %s', v_name, v_part.tenant,
                       v_part.key_date, v_part.key_slice);
        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON ledger.%I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION ops.refuse_change()', v_name);
        INSERT INTO ops.bulk_leaves (leaf, parent, name)
        VALUES (format('ledger.%I', v_name)::regclass, 'ledger.entry_keys', format('ledger.%I', v_name));
    END LOOP;
END $$;
DROP TABLE legacy_keys;

-- The entries and postings of both layouts. security_invoker: the tables' row-level security applies to the
-- reader (a tenant sees its own rows only). No security_barrier: the views filter nothing themselves (the tables'
-- policies do, and those are barriers already), and a barrier would keep callers' conditions from reaching the
-- partitions (pruning) and indexes.
CREATE VIEW ledger.journal_entries WITH (security_invoker = true) AS
SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version, description, source_kind,
       source_file_sha256, source_position, source_ref, reverses_entry_id, run_id, code_version, posted_at
FROM ledger.journal_entries_legacy
UNION ALL
SELECT t.entry_id, t.tenant, t.idempotency_key, t.business_date, t.rule_id, b.rule_version, t.description,
       t.source_kind, f.sha256, t.source_position, t.source_ref, t.reverses_entry_id, b.run_id, b.code_version,
       b.posted_at
FROM ledger.transfers t
JOIN ledger.posting_batches b ON b.batch_id = t.batch_id
LEFT JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.source_file_id
WHERE t.leg_no = 1;

-- Each transfer as its two postings, numbered and signed as its rule writes them (debit leg first, +amount):
-- leg n is lines 2n-1 (the rule's debit account) and 2n (its credit account).
CREATE VIEW ledger.postings WITH (security_invoker = true) AS
SELECT entry_id, line_no, tenant, business_date, account_code, currency, amount_minor FROM ledger.postings_legacy
UNION ALL
SELECT entry_id, (2 * leg_no - CASE WHEN flipped THEN 0 ELSE 1 END)::smallint, tenant, business_date,
       debit_account, currency, amount_minor
FROM ledger.transfers
UNION ALL
SELECT entry_id, (2 * leg_no - CASE WHEN flipped THEN 1 ELSE 0 END)::smallint, tenant, business_date,
       credit_account, currency, -amount_minor
FROM ledger.transfers;
GRANT SELECT ON ledger.journal_entries, ledger.postings TO financeops_tenant;
