-- Headline figures of a tenant-day for the CLI summary. Parameters: %(tenant)s, %(day)s.
SELECT
    (SELECT count(*) FROM imports.internal_transactions WHERE tenant = %(tenant)s AND business_date = %(day)s) AS internal_rows,
    (SELECT count(*) FROM imports.processor_lines WHERE tenant = %(tenant)s AND business_date = %(day)s) AS processor_rows,
    (SELECT count(*) FROM imports.bank_lines WHERE tenant = %(tenant)s AND business_date = %(day)s) AS bank_rows,
    (SELECT count(*) FROM imports.quarantine WHERE tenant = %(tenant)s AND business_date = %(day)s) AS quarantined,
    (SELECT count(*) FROM ledger.journal_entries WHERE tenant = %(tenant)s AND business_date = %(day)s) AS entries,
    (SELECT count(*) FROM ledger.postings WHERE tenant = %(tenant)s AND business_date = %(day)s) AS postings,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'matched') AS matched,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'explained') AS explained,
    (SELECT coalesce(sum(items), 0) FROM recon.day_totals WHERE tenant = %(tenant)s AND business_date = %(day)s AND status = 'pending') AS pending,
    (SELECT count(*) FROM recon.breaks WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle <> 'resolved') AS open_breaks,
    (SELECT count(*) FROM recon.breaks WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle = 'new') AS new_breaks
