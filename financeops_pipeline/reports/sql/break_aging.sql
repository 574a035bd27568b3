-- Aging of the breaks open on a day (lifecycle new or persisting), by days since the break was first seen
-- (recon.breaks.age_days), in the buckets 0-1, 2-3, 4-7, 8-30 and >30 days. Every bucket is listed for
-- each currency with an open break (empty buckets as 0). Parameters: %(tenant)s, %(day)s.
WITH open_breaks AS (
    SELECT currency, age_days, amount_minor, first_seen
    FROM recon.breaks
    WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle <> 'resolved'
), buckets (bucket, bucket_order, min_days, max_days) AS (
    VALUES ('0-1', 1, 0, 1), ('2-3', 2, 2, 3), ('4-7', 3, 4, 7), ('8-30', 4, 8, 30), ('>30', 5, 31, NULL)
)
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, c.currency, b.bucket, b.bucket_order::smallint,
       count(o.age_days) AS breaks, coalesce(sum(o.amount_minor), 0)::bigint AS amount_minor,
       min(o.first_seen) AS oldest_first_seen
FROM (SELECT DISTINCT currency FROM open_breaks) c
CROSS JOIN buckets b
LEFT JOIN open_breaks o
       ON o.currency = c.currency AND o.age_days >= b.min_days AND (b.max_days IS NULL OR o.age_days <= b.max_days)
GROUP BY c.currency, b.bucket, b.bucket_order
ORDER BY c.currency, b.bucket_order
