-- Match rate of a day per source and currency, over the items the reconciliation tracks on that day
-- (recon.day_item_states: the day's items plus earlier ones still pending or in a break). By count:
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
FROM recon.day_item_states
WHERE tenant = %(tenant)s AND business_date = %(day)s
GROUP BY source, currency
ORDER BY source, currency
