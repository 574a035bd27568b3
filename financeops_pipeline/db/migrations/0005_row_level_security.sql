-- Tenant isolation: every table with a tenant column gets RLS so a tenant role sees only its rows.
CREATE FUNCTION ops.isolate_tenant_table(p_table regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', p_table);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s TO financeops_tenant '
                   'USING (tenant = (SELECT ops.current_tenant())) '
                   'WITH CHECK (tenant = (SELECT ops.current_tenant()))', p_table);
    EXECUTE format('GRANT SELECT, INSERT ON %s TO financeops_tenant', p_table);
END $$;

SELECT ops.isolate_tenant_table(t::regclass) FROM unnest(ARRAY[
    'imports.files', 'imports.bank_lines', 'imports.bank_statements', 'imports.processor_lines',
    'imports.internal_transactions', 'imports.quarantine',
    'ledger.accounts', 'ledger.journal_entries', 'ledger.postings', 'ledger.daily_balances',
    'recon.matches', 'recon.item_status', 'recon.breaks', 'recon.runs'
]) AS t;

-- Derived tables are replaced per tenant-day, snapshots are maintained: those need more than INSERT.
GRANT UPDATE ON ledger.daily_balances TO financeops_tenant;
GRANT DELETE ON recon.matches, recon.item_status, recon.breaks, recon.runs TO financeops_tenant;
GRANT UPDATE, DELETE ON imports.quarantine TO financeops_tenant;
GRANT USAGE ON SEQUENCE ledger.entry_id_seq TO financeops_tenant;
