-- Reconciliation summary of a day: items and amounts per source, currency and state, over the items the
-- reconciliation tracks that day (its own items and earlier ones still open; the earlier items matched that
-- day are that day's matches, scope carried_matched, and are left out). Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, source, currency, status,
       sum(items)::bigint AS items, sum(amount_minor)::bigint AS amount_minor
FROM recon.day_totals
WHERE tenant = %(tenant)s AND business_date = %(day)s AND scope <> 'carried_matched'
GROUP BY source, currency, status
ORDER BY source, currency, status
