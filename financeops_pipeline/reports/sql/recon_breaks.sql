-- Breaks of a day by type and currency: open (new + persisting) count and amount, and resolved ones.
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, break_type, currency,
       count(*) FILTER (WHERE lifecycle <> 'resolved') AS open_breaks,
       coalesce(sum(amount_minor) FILTER (WHERE lifecycle <> 'resolved'), 0)::bigint AS open_minor,
       count(*) FILTER (WHERE lifecycle = 'new') AS new_breaks,
       count(*) FILTER (WHERE lifecycle = 'persisting') AS persisting_breaks,
       count(*) FILTER (WHERE lifecycle = 'resolved') AS resolved_breaks
FROM recon.breaks
WHERE tenant = %(tenant)s AND business_date = %(day)s
GROUP BY break_type, currency
ORDER BY break_type, currency
