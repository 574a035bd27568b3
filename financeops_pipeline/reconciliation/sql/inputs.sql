-- name: prev_breaks
-- Open breaks of the day before. Parameters: the tenant, the day.
SELECT break_id, break_type, source, source_ref, currency::text AS currency, amount_minor, first_seen,
       details::text AS details
FROM recon.breaks
WHERE tenant = %s AND business_date = %s::date - 1 AND lifecycle <> 'resolved'
