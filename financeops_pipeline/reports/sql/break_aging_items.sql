-- The oldest breaks open on a day (at most 20), oldest first, with their age bucket.
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date,
       (row_number() OVER (ORDER BY age_days DESC, first_seen, amount_minor DESC, break_id))::smallint AS rank,
       break_id, break_type, source, source_ref, currency, amount_minor, first_seen, age_days,
       CASE WHEN age_days <= 1 THEN '0-1' WHEN age_days <= 3 THEN '2-3' WHEN age_days <= 7 THEN '4-7'
            WHEN age_days <= 30 THEN '8-30' ELSE '>30' END AS bucket
FROM recon.breaks
WHERE tenant = %(tenant)s AND business_date = %(day)s AND lifecycle <> 'resolved'
ORDER BY age_days DESC, first_seen, amount_minor DESC, break_id
LIMIT 20
