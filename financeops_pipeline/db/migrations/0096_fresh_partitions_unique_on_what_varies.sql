-- The unique indexes of the key registry and of the transfers on the columns that vary, per partition (issue #13,
-- posting stage). 0060's indexes were the parents' own, and a partitioned unique index must hold the partition key,
-- so every index tuple repeated the constants of its partition, which the partition's bound pins to one value
-- each (a fresh table's bounds CHECK, migrations 0018 and 0090):
--  * ledger.entry_keys: (idempotency_key, tenant, key_date, key_slice), now (idempotency_key) per key partition. Same
--    guarantee: one key per tenant, key date and key slice (a function of the key that every partition CHECKs);
--  * ledger.transfers: (entry_id, leg_no, tenant, business_date, batch_id), now (entry_id, leg_no) per batch
--    partition. Same guarantee: an entry id is of one batch (CHECK entry_id >> 32 = batch_id), a batch of one tenant
--    and day (ledger.posting_batches' key), so an entry's legs are once in the ledger.
-- How the database keeps it so:
--  * ops.bulk_parents.unique_columns: the columns of the unique index every partition of the parent has. Fresh
--    partitions get it from ops.prepare_load_table (built after the load, beside the parent's own indexes, which
--    these two parents no longer have);
--  * ops.attach_load_table refuses to attach a fresh table without that index (unique, valid, on exactly those
--    columns, no predicate or expression), and lists the index in ops.bulk_leaves beside its partition: 0018's DDL
--    guard refuses a DROP of it as it refuses a DROP of the partition (an index attached to the parent's could not
--    be dropped alone either). Nothing else attaches partitions of these append-only parents (the guard);
--  * here, the parents' indexes go, and every partition already attached gets its own index (and is listed).
-- Readers are unchanged: a lookup names its partition (tenant, date, slice or batch: pruned), then the columns
-- that vary, which that partition's index holds; a lookup that names no partition reads each one's index, as it
-- read each one's part of the parent's index before.

ALTER TABLE ops.bulk_parents ADD COLUMN unique_columns name[];
UPDATE ops.bulk_parents SET unique_columns = CASE parent
    WHEN 'ledger.entry_keys'::regclass THEN ARRAY['idempotency_key']::name[]
    WHEN 'ledger.transfers'::regclass THEN ARRAY['entry_id', 'leg_no']::name[] END
WHERE parent IN ('ledger.entry_keys'::regclass, 'ledger.transfers'::regclass);

DROP INDEX ledger.entry_keys_unique;     -- and its partitions' parts, built again below
DROP INDEX ledger.transfers_entry_leg;

-- A partition's unique index, named after the partition's OID (a name chosen in schema `load` could meet another
-- in the parent's schema when the table moves there). Its pages are filled whole (fillfactor 100, not btree's 90):
-- a batch partition takes no row after its load, a key partition only the few late records of its date, row by
-- row (a page split each where they land), so the 10% left free would stay free.
CREATE FUNCTION ops.build_unique_index(p_table regclass, p_parent regclass) RETURNS regclass
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET maintenance_work_mem = '1GB' AS $$
DECLARE
    v_parent ops.bulk_parents;
    v_name   text;
BEGIN
    SELECT * INTO v_parent FROM ops.bulk_parents WHERE parent = p_parent;
    IF v_parent.unique_columns IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT c.relname || '_unique_' || p_table::oid INTO v_name FROM pg_class c WHERE c.oid = p_parent;
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%s) WITH (fillfactor = 100)', v_name, p_table,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(v_parent.unique_columns) c));
    RETURN (SELECT i.indexrelid::regclass FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = p_table AND c.relname = v_name);
END $$;
REVOKE ALL ON FUNCTION ops.build_unique_index(regclass, regclass) FROM PUBLIC;

DO $$
DECLARE
    v_leaf  record;
    v_index regclass;
BEGIN
    FOR v_leaf IN SELECT i.inhrelid::regclass AS leaf, i.inhparent::regclass AS parent
                  FROM pg_inherits i
                  WHERE i.inhparent IN ('ledger.entry_keys'::regclass, 'ledger.transfers'::regclass)
                  ORDER BY i.inhrelid LOOP
        v_index := ops.build_unique_index(v_leaf.leaf, v_leaf.parent);
        INSERT INTO ops.bulk_leaves (leaf, parent, name) VALUES (v_index, v_leaf.parent, v_index::text);
    END LOOP;
END $$;

-- 0070's, with the parent's unique_columns index after the parent's own indexes (once).
CREATE OR REPLACE FUNCTION ops.prepare_load_table(p_table regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET maintenance_work_mem = '1GB' AS $$
DECLARE
    v_row     ops.load_tables := ops.load_table_of_session(p_table);
    v_columns name[];
    v_def     text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index j WHERE j.indrelid = p_table) THEN
        FOR v_def IN
            SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ USING ',
                                  'CREATE \1INDEX ON ' || p_table::text || ' USING ')
            FROM pg_index i WHERE i.indrelid = v_row.parent
            ORDER BY i.indexrelid
        LOOP
            EXECUTE v_def;
        END LOOP;
        PERFORM ops.build_unique_index(p_table, v_row.parent);
    END IF;
    SELECT analyze_columns INTO v_columns FROM ops.bulk_parents WHERE parent = v_row.parent;
    IF v_columns IS NULL THEN
        EXECUTE format('ANALYZE %s', p_table);
    ELSE
        EXECUTE format('ANALYZE %s (%s)', p_table,
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(v_columns) c));
    END IF;
    IF v_row.parent::text LIKE 'imports.%' THEN
        ANALYZE imports.files;   -- migration 0050: the posting events' join to the day's files
    END IF;
END $$;

-- 0018's, refusing a table without the parent's unique_columns index, and listing that index for the DDL guard.
CREATE OR REPLACE FUNCTION ops.attach_load_table(p_table regclass) RETURNS regclass
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_row    ops.load_tables := ops.load_table_of_session(p_table);
    v_parent ops.bulk_parents;
    v_role   text;
    v_schema text;
    v_keep   boolean := true;
    v_leaf   regclass;
    v_index  regclass;
BEGIN
    SELECT * INTO v_parent FROM ops.bulk_parents WHERE parent = v_row.parent;
    SELECT role_name INTO v_role FROM ops.tenants WHERE tenant = v_row.tenant;
    EXECUTE format('REVOKE ALL ON %s FROM %I', p_table, v_role);
    IF v_parent.checker IS NOT NULL THEN
        EXECUTE format('SELECT %s(%L::regclass)', v_parent.checker::oid::regproc, p_table) INTO v_keep;
    END IF;
    IF v_parent.unique_columns IS NOT NULL AND coalesce(v_keep, false) THEN   -- after the checker: its refusals first
        SELECT i.indexrelid::regclass INTO v_index
        FROM pg_index i
        WHERE i.indrelid = p_table AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
          AND i.indnkeyatts = cardinality(v_parent.unique_columns)
          AND (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
               JOIN pg_attribute a ON a.attrelid = p_table AND a.attnum = k.attnum
               WHERE k.n <= i.indnkeyatts) = v_parent.unique_columns
        LIMIT 1;
        IF v_index IS NULL THEN
            RAISE EXCEPTION '% has no unique index on (%): a partition of % is attached with it (ops.prepare_load_table)',
                p_table, array_to_string(v_parent.unique_columns, ', '), v_row.parent
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    DELETE FROM ops.load_tables WHERE load_table = p_table;
    PERFORM set_config('financeops.partition_ddl', 'on', true);
    IF NOT coalesce(v_keep, false) THEN
        EXECUTE format('DROP TABLE %s', p_table);
        PERFORM set_config('financeops.partition_ddl', 'off', true);
        RETURN NULL;
    END IF;
    SELECT relnamespace::regnamespace::text INTO v_schema FROM pg_class WHERE oid = v_row.parent;
    EXECUTE format('ALTER TABLE %s SET SCHEMA %s', p_table, v_schema);
    v_leaf := p_table;   -- an OID: the same relation in its new schema
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s %s', v_row.parent, v_leaf, v_row.bound);
    IF v_parent.append_only THEN
        -- row triggers (UPDATE / DELETE refused) come from the parent; TRUNCATE of the partition itself needs its own
        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                       'EXECUTE FUNCTION ops.refuse_change()', v_leaf);
        INSERT INTO ops.bulk_leaves (leaf, parent, name) VALUES (v_leaf, v_row.parent, v_leaf::text);
        IF v_index IS NOT NULL THEN
            INSERT INTO ops.bulk_leaves (leaf, parent, name) VALUES (v_index, v_row.parent, v_index::text);
        END IF;
    END IF;
    PERFORM set_config('financeops.partition_ddl', 'off', true);
    RETURN v_leaf;
END $$;
