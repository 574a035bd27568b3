-- Headline figures of a tenant-day for the CLI summary. Parameters: %(tenant)s, %(day)s.
-- The records of a source are what its files' COPYs loaded (imports.files.records_loaded) unless something else
-- wrote to the day's rows (migration 0098): then they are counted (a scan of the day's partitions, 2-3 s at 10M).
SELECT
    (SELECT CASE WHEN EXISTS (SELECT FROM imports.rows_written_after_load WHERE tenant = %(tenant)s
                              AND business_date = %(day)s AND table_name = 'internal_transactions')
            THEN (SELECT count(*) FROM imports.internal_transactions WHERE tenant = %(tenant)s AND business_date = %(day)s)
            ELSE (SELECT coalesce(sum(records_loaded), 0) FROM imports.files WHERE tenant = %(tenant)s
                  AND business_date = %(day)s AND source = 'internal' AND status IN ('loaded', 'partial')) END) AS internal_rows,
    (SELECT CASE WHEN EXISTS (SELECT FROM imports.rows_written_after_load WHERE tenant = %(tenant)s
                              AND business_date = %(day)s AND table_name = 'processor_lines')
            THEN (SELECT count(*) FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s)
            ELSE (SELECT coalesce(sum(records_loaded), 0) FROM imports.files WHERE tenant = %(tenant)s
                  AND business_date = %(day)s AND source = 'processor' AND status IN ('loaded', 'partial')) END) AS processor_rows,
    (SELECT count(*) FROM imports.bank_lines WHERE tenant = %(tenant)s AND business_date = %(day)s) AS bank_rows,
    (SELECT count(*) FROM imports.quarantine WHERE tenant = %(tenant)s AND business_date = %(day)s) AS quarantined,
    -- the batches' counts (the checker proved them against the rows before attaching), plus the entries and
    -- postings of days posted before the transfer layout (migration 0060)
    (SELECT coalesce(sum(entries), 0) FROM ledger.posting_batches WHERE tenant = %(tenant)s AND business_date = %(day)s)
    + (SELECT count(*) FROM ledger.journal_entries_legacy WHERE tenant = %(tenant)s AND business_date = %(day)s) AS entries,
    (SELECT 2 * coalesce(sum(transfers), 0) FROM ledger.posting_batches WHERE tenant = %(tenant)s AND business_date = %(day)s)
    + (SELECT count(*) FROM ledger.postings_legacy WHERE tenant = %(tenant)s AND business_date = %(day)s) AS postings,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'matched') AS matched,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'explained') AS explained,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'pending') AS pending,
    (SELECT count(*) FROM recon.breaks WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle <> 'resolved') AS open_breaks,
    (SELECT count(*) FROM recon.breaks WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle = 'new') AS new_breaks
