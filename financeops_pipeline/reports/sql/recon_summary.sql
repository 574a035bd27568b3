-- Reconciliation summary of a day: items and amounts per source, currency and state.
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, source, currency, status,
       count(*) AS items, sum(amount_minor) AS amount_minor
FROM recon.item_status
WHERE tenant = %(tenant)s AND business_date = %(day)s
  -- not the earlier items matched today; written as NOT (... AND ...) because the planner estimated the
  -- equivalent "status <> 'matched' OR item_date = business_date" at one row in a hundred, and then sorted
  -- millions of rows to disk instead of hashing them into a few groups
  AND NOT (status = 'matched' AND item_date < business_date)
GROUP BY source, currency, status
ORDER BY source, currency, status
