-- The tenant-days of the imports tables that something wrote to other than a file's bulk load (issue #13).
-- A file's records reach Postgres by COPY into a fresh table that is then attached as the file's partition
-- (db/bulk.py): that COPY fires no trigger of the parent, and nothing else of the pipeline writes these rows. Any
-- other write through a parent (an INSERT of a tenant role, which may insert; an UPDATE or DELETE of the owner) is
-- recorded here per tenant, day and table, by the statement triggers below; a TRUNCATE of a parent is refused. The checks that read the day's records
-- from the import's record files (the import checks' suites, the ledger's record check) must know that Postgres
-- holds exactly those rows: on a day recorded here they count its rows in Postgres as before (a scan of every
-- partition of the day: ~1.7 s on both cores for a 10M day, once per check); on any other day the rows are the
-- files' imports.files.records_loaded (what each COPY loaded) and none belong to no file.
-- Days imported before this migration are recorded here by it, so they are counted as before.
-- Only the owner can write past the triggers (directly into a partition, or with triggers disabled), and the owner
-- could as well rewrite imports.files: the ledger's other checks do not rely on these counts.
CREATE TABLE imports.rows_written_after_load (
    tenant           text NOT NULL,
    business_date    date NOT NULL,
    table_name       text NOT NULL CHECK (table_name IN ('internal_transactions', 'processor_lines', 'bank_lines')),
    first_written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, business_date, table_name)
);
SELECT ops.isolate_tenant_table('imports.rows_written_after_load');
REVOKE INSERT ON imports.rows_written_after_load FROM financeops_tenant;   -- written by the triggers alone

CREATE FUNCTION imports.note_rows_written() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    -- the transition tables hold the statement's rows of every partition (the parent's row type)
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO imports.rows_written_after_load (tenant, business_date, table_name)
        SELECT DISTINCT tenant, business_date, TG_TABLE_NAME FROM new_rows
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO imports.rows_written_after_load (tenant, business_date, table_name)
        SELECT DISTINCT tenant, business_date, TG_TABLE_NAME FROM old_rows
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['internal_transactions', 'processor_lines', 'bank_lines'] LOOP
        EXECUTE format('CREATE TRIGGER rows_inserted AFTER INSERT ON imports.%I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION imports.note_rows_written()', v_table);
        EXECUTE format('CREATE TRIGGER rows_updated AFTER UPDATE ON imports.%I REFERENCING OLD TABLE AS old_rows'
                       ' NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION imports.note_rows_written()',
                       v_table);
        EXECUTE format('CREATE TRIGGER rows_deleted AFTER DELETE ON imports.%I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION imports.note_rows_written()', v_table);
        -- a TRUNCATE names no row, so no day could be recorded: refused (a file's records are the audit's source)
        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON imports.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_change()', v_table);
    END LOOP;
    -- the days already imported (their files', and those of rows of no file: the default partitions)
    INSERT INTO imports.rows_written_after_load (tenant, business_date, table_name)
    SELECT DISTINCT tenant, business_date, CASE source WHEN 'internal' THEN 'internal_transactions'
                                                       WHEN 'processor' THEN 'processor_lines' ELSE 'bank_lines' END
    FROM imports.files WHERE source IN ('internal', 'processor', 'bank')
    UNION SELECT tenant, business_date, 'internal_transactions' FROM imports.internal_transactions_unfiled
    UNION SELECT tenant, business_date, 'processor_lines' FROM imports.processor_lines_unfiled
    UNION SELECT tenant, business_date, 'bank_lines' FROM imports.bank_lines_unfiled
    ON CONFLICT DO NOTHING;
END $$;
