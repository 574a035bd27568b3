-- Fewer bytes per posted row (issue #13, posting stage):
--  * A fresh table's pinned columns (the tenant column, and every partition key column its bound fixes to one
--    value: RANGE key columns equal in both bounds, an integer last column bounded [n, n + 1), a LIST parent's one
--    column) get that value as their DEFAULT, so a bulk writer may leave them out of its COPY: Postgres fills
--    them in per row (a constant) instead of receiving and decoding them on every row. The bounds CHECK still
--    evaluates every row: a row of another tenant, day or batch is refused as before (a column sent keeps its
--    value; the DEFAULT only fills a column left out). A day's transfer rows lose tenant, business_date and
--    batch_id from the COPY, its key rows tenant, key_date and key_slice (two columns left of five).
--  * ledger.transfers.transfer_id goes: nothing reads it (an entry's transfers are (entry_id, leg_no), the key of
--    every lookup and of the partition's unique index). Dropping a column is a catalog change; the rows written
--    before keep their bytes, read as gone. The CHECK that bound both ids to the batch drops with it and comes back
--    for the entry id alone (NOT VALID: the rows written before met the stronger one).
-- Nothing else of 0018's function changes.

ALTER TABLE ledger.transfers DROP COLUMN transfer_id;   -- drops CHECK (entry_id >> 32 = batch_id AND transfer_id ...)
ALTER TABLE ledger.transfers ADD CONSTRAINT transfers_entry_of_batch CHECK (entry_id >> 32 = batch_id) NOT VALID;

CREATE OR REPLACE FUNCTION ops.create_load_table_for(p_parent regclass, p_tenant text, p_from text[], p_to text[],
                                                     p_checks text[] DEFAULT '{}') RETURNS regclass
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_parent   ops.bulk_parents;
    v_strategy char;
    v_cols     text[];
    v_types    text[];
    v_conds    text[] := '{}';
    v_from     text[] := '{}';
    v_to       text[] := '{}';
    v_pinned   text[] := '{}';   -- 'column = value' of each pinned column: its DEFAULT
    v_tenant   text;
    v_tenant_v text;
    v_role     text;
    v_name     text;
    v_bound    text;
    v_table    regclass;
    i          int;
BEGIN
    SELECT * INTO v_parent FROM ops.bulk_parents WHERE parent = p_parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% takes no fresh partitions (not in ops.bulk_parents)', p_parent;
    END IF;
    SELECT role_name INTO v_role FROM ops.tenants WHERE tenant = p_tenant;
    IF v_role IS NULL THEN
        RAISE EXCEPTION 'unknown tenant %', p_tenant;
    END IF;
    SELECT pt.partstrat, array_agg(quote_ident(a.attname) ORDER BY k.ord),
           array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
    INTO v_strategy, v_cols, v_types
    FROM pg_partitioned_table pt
    CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k (attnum, ord)
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum
    WHERE pt.partrelid = p_parent
    GROUP BY pt.partstrat;
    IF v_strategy = 'r' AND cardinality(p_from) = cardinality(v_cols) AND cardinality(p_to) = cardinality(v_cols) THEN
        FOR i IN 1 .. cardinality(v_cols) LOOP
            v_from := v_from || format('%L::%s', p_from[i], v_types[i]);
            v_to := v_to || format('%L::%s', p_to[i], v_types[i]);
            IF i < cardinality(v_cols) THEN
                IF p_from[i] IS DISTINCT FROM p_to[i] THEN
                    RAISE EXCEPTION 'a fresh partition of % spans one value of % (from % to %)',
                        p_parent, v_cols[i], p_from[i], p_to[i];
                END IF;
                v_conds := v_conds || format('%s = %s', v_cols[i], v_from[i]);
                v_pinned := v_pinned || ARRAY[v_cols[i], v_from[i]];
            ELSE
                v_conds := v_conds || format('%s >= %s', v_cols[i], v_from[i])
                                   || format('%s < %s', v_cols[i], v_to[i]);
                IF v_types[i] IN ('smallint', 'integer', 'bigint')
                   AND p_to[i]::numeric = p_from[i]::numeric + 1 THEN
                    v_pinned := v_pinned || ARRAY[v_cols[i], v_from[i]];
                END IF;
            END IF;
        END LOOP;
        v_bound := format('FOR VALUES FROM (%s) TO (%s)', array_to_string(v_from, ', '), array_to_string(v_to, ', '));
    ELSIF v_strategy = 'l' AND cardinality(v_cols) = 1 AND cardinality(p_from) = 1 AND p_to IS NULL THEN
        v_from := ARRAY[format('%L::%s', p_from[1], v_types[1])];
        v_conds := ARRAY[format('%s = %s', v_cols[1], v_from[1])];
        v_pinned := ARRAY[v_cols[1], v_from[1]];
        v_bound := format('FOR VALUES IN (%s)', v_from[1]);
    ELSE
        RAISE EXCEPTION 'fresh partitions of % need a RANGE bound of its % key columns or a one-value LIST bound',
            p_parent, cardinality(v_cols);
    END IF;
    -- the tenant pin (when the tenant column is a key column the bound already pins it: it must be the tenant's)
    SELECT CASE WHEN a.atttypid = 'text'::regtype THEN format('%I = %L', a.attname, p_tenant)
                ELSE format('%I = %L::%s', a.attname, t.tenant_id, format_type(a.atttypid, a.atttypmod)) END,
           CASE WHEN a.atttypid = 'text'::regtype THEN format('%L::text', p_tenant)
                ELSE format('%L::%s', t.tenant_id, format_type(a.atttypid, a.atttypmod)) END
    INTO v_tenant, v_tenant_v
    FROM pg_attribute a, ops.tenants t
    WHERE a.attrelid = p_parent AND a.attname = v_parent.tenant_column AND t.tenant = p_tenant;
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION '% has no tenant column %', p_parent, v_parent.tenant_column;
    END IF;
    v_conds := v_tenant || v_conds || p_checks;
    v_pinned := ARRAY[quote_ident(v_parent.tenant_column), v_tenant_v] || v_pinned;

    SELECT left(c.relname || '_' || regexp_replace(array_to_string(p_from, '_'), '[^0-9A-Za-z_]', '', 'g'), 56)
    INTO v_name FROM pg_class c WHERE c.oid = p_parent;
    WHILE to_regclass(format('load.%I', v_name)) IS NOT NULL
       OR to_regclass(format('%I.%I', (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = p_parent),
                             v_name)) IS NOT NULL LOOP
        v_name := left(v_name, 56) || '_' || substr(md5(random()::text), 1, 6);
    END LOOP;
    EXECUTE format('CREATE TABLE load.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)',
                   v_name, p_parent);
    v_table := format('load.%I', v_name)::regclass;
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s)', v_table, v_name || '_bounds',
                   array_to_string(v_conds, ' AND '));
    EXECUTE format('ALTER TABLE %s %s', v_table,
                   (SELECT string_agg(format('ALTER COLUMN %s SET DEFAULT %s', v_pinned[2 * n - 1], v_pinned[2 * n]),
                                      ', ')
                    FROM generate_series(1, cardinality(v_pinned) / 2) n));
    EXECUTE format('GRANT INSERT ON %s TO %I', v_table, v_role);
    INSERT INTO ops.load_tables (load_table, parent, tenant, bound) VALUES (v_table, p_parent, p_tenant, v_bound);
    RETURN v_table;
END $$;
