-- ANALYZE of a fresh import partition takes statistics only of the columns its readers filter, join or group on
-- (issue #13). ANALYZE's cost is its sample's sort per column: the wide, distinct text of ids, positions,
-- descriptions and the jsonb `extra` were half of it (1M internal records: 0.37 s for every column, 0.18 s for
-- these), and no plan reads their statistics (their lookups are by file and record_no, or scans of the day).
-- The row count, which every plan needs, is taken by any ANALYZE. NULL: every column, as before.
ALTER TABLE ops.bulk_parents ADD COLUMN analyze_columns name[];

UPDATE ops.bulk_parents SET analyze_columns = CASE parent
    WHEN 'imports.internal_transactions'::regclass THEN
        ARRAY['tenant', 'business_date', 'file_id', 'record_no', 'type', 'currency', 'processor']::name[]
    WHEN 'imports.processor_lines'::regclass THEN
        ARRAY['tenant', 'business_date', 'file_id', 'record_no', 'processor', 'category', 'currency']::name[]
    WHEN 'imports.bank_lines'::regclass THEN
        ARRAY['tenant', 'business_date', 'file_id', 'record_no', 'account_id', 'currency', 'booked',
              'classification', 'processor']::name[]
    END
WHERE parent IN ('imports.internal_transactions'::regclass, 'imports.processor_lines'::regclass,
                 'imports.bank_lines'::regclass);

CREATE OR REPLACE FUNCTION ops.prepare_load_table(p_table regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET maintenance_work_mem = '1GB' AS $$
DECLARE
    v_row     ops.load_tables := ops.load_table_of_session(p_table);
    v_columns name[];
    v_def     text;
BEGIN
    FOR v_def IN
        SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ USING ',
                              'CREATE \1INDEX ON ' || p_table::text || ' USING ')
        FROM pg_index i WHERE i.indrelid = v_row.parent
          AND NOT EXISTS (SELECT 1 FROM pg_index j WHERE j.indrelid = p_table)   -- once
        ORDER BY i.indexrelid
    LOOP
        EXECUTE v_def;
    END LOOP;
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
