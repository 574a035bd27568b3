-- Open breaks of a tenant as of a day. Parameters: %(tenant)s, %(day)s.
SELECT break_id, break_type, source, source_ref, amount_minor, currency::text AS currency, first_seen, age_days
FROM recon.breaks
WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle <> 'resolved'
ORDER BY first_seen, break_type, source_ref
