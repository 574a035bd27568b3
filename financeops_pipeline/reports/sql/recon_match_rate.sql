-- Match rate of a day per source and currency, over the items the reconciliation tracks on that day (the
-- day's items plus earlier ones still pending or in a break, as recon_summary). By count: matched / items; by
-- amount: matched |amount| / all |amount| (bank fees are negative, so absolute values).
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, source, currency,
       sum(items)::bigint AS items,
       coalesce(sum(items) FILTER (WHERE status = 'matched'), 0)::bigint AS matched_items,
       coalesce(sum(items) FILTER (WHERE status IN ('matched', 'explained')), 0)::bigint AS reconciled_items,
       sum(abs_amount_minor)::bigint AS amount_minor,
       coalesce(sum(abs_amount_minor) FILTER (WHERE status = 'matched'), 0)::bigint AS matched_minor,
       round(coalesce(sum(items) FILTER (WHERE status = 'matched'), 0)::numeric / sum(items), 4) AS count_rate,
       round(coalesce(sum(abs_amount_minor) FILTER (WHERE status = 'matched'), 0)::numeric
             / nullif(sum(abs_amount_minor), 0), 4) AS amount_rate
FROM recon.day_totals
WHERE tenant = %(tenant)s AND business_date = %(day)s AND scope <> 'carried_matched'
GROUP BY source, currency
ORDER BY source, currency
