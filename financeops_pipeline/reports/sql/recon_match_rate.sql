-- Match rate of a day per source and currency, over the items the reconciliation tracks on that day
-- (the day's items plus earlier ones still pending or in a break; recon.item_status also holds the earlier
-- items matched that day, for recon.matches, which are left out here). By count:
-- matched / items; by amount: matched |amount| / all |amount| (bank fees are negative, so absolute values).
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, source, currency,
       count(*) AS items,
       count(*) FILTER (WHERE status = 'matched') AS matched_items,
       count(*) FILTER (WHERE status IN ('matched', 'explained')) AS reconciled_items,
       sum(abs(amount_minor))::bigint AS amount_minor,
       coalesce(sum(abs(amount_minor)) FILTER (WHERE status = 'matched'), 0)::bigint AS matched_minor,
       round(count(*) FILTER (WHERE status = 'matched')::numeric / count(*), 4) AS count_rate,
       round(coalesce(sum(abs(amount_minor)) FILTER (WHERE status = 'matched'), 0)::numeric
             / nullif(sum(abs(amount_minor)), 0), 4) AS amount_rate
FROM recon.item_status
WHERE tenant = %(tenant)s AND business_date = %(day)s
  -- not the earlier items matched today; written as NOT (... AND ...) because the planner estimated the
  -- equivalent "status <> 'matched' OR item_date = business_date" at one row in a hundred, and then sorted
  -- millions of rows to disk instead of hashing them into a few groups
  AND NOT (status = 'matched' AND item_date < business_date)
GROUP BY source, currency
ORDER BY source, currency
