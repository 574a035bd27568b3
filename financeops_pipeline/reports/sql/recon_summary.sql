-- Reconciliation summary of a day: items and amounts per source, currency and state.
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, source, currency, status,
       count(*) AS items, sum(amount_minor) AS amount_minor
FROM recon.day_item_states
WHERE tenant = %(tenant)s AND business_date = %(day)s
GROUP BY source, currency, status
ORDER BY source, currency, status
