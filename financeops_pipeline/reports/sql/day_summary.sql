-- Headline figures of a tenant-day for the CLI summary (the imported records per source: summary.py, from
-- imports/record_store.rows_in_postgres). Parameters: %(tenant)s, %(day)s.
SELECT
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
