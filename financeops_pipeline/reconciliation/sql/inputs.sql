-- name: prev_breaks
-- Open breaks of the day before. Parameters: the tenant, the day.
SELECT break_id, break_type, source, source_ref, currency::text AS currency, amount_minor, first_seen,
       details::text AS details
FROM recon.breaks
WHERE tenant = %s AND business_date = %s::date - 1 AND lifecycle <> 'resolved';
-- name: bank_superseded
-- Unbooked bank lines of the window that a booked statement superseded on or before the day (migration 0031).
-- Parameters: the tenant, the first day, the day.
SELECT file_sha256, source_position FROM imports.bank_superseded
WHERE tenant = %s AND business_date >= %s::date AND superseded_on <= %s::date
