/* ---
description: >
  Money not yet reconciled at the end of the day, by currency, state and age bucket: open breaks
  (recon.breaks, age = days since first seen) and pending items (recon.item_status, age = days since the
  item's date). exposure_minor is the sum of |amount| as recorded by the reconciliation.
group: recon_models
owners: [team:finance]
partitioned: daily
engine: duckdb
tests:
  - not_null: [currency, state, age_bucket, items, exposure_minor]
  - unique: [currency, state, age_bucket]
  - accepted_values: {column: state, values: [break, pending]}
  - accepted_values: {name: known_age_buckets, column: age_bucket, values: [0-1d, 2-3d, 4-7d, 8-30d, 31d+]}
  - expect:
      name: exposure_is_positive
      sql: SELECT * FROM {{ this }} WHERE exposure_minor <= 0 OR items <= 0
--- */
WITH open_items AS (
    SELECT currency, 'break' AS state, age_days AS age, amount_minor
    FROM {{ source('recon', 'breaks') }}
    WHERE business_date = DATE '{{ partition_date }}' AND lifecycle <> 'resolved'
    UNION ALL
    SELECT currency, 'pending' AS state, CAST(business_date - item_date AS INTEGER) AS age, amount_minor
    FROM {{ source('recon', 'item_status') }}
    WHERE business_date = DATE '{{ partition_date }}' AND status = 'pending'
)
SELECT currency,
       state,
       CASE WHEN age <= 1 THEN '0-1d' WHEN age <= 3 THEN '2-3d' WHEN age <= 7 THEN '4-7d'
            WHEN age <= 30 THEN '8-30d' ELSE '31d+' END              AS age_bucket,
       CAST(min(age) AS INTEGER)                                     AS min_age_days,
       CAST(max(age) AS INTEGER)                                     AS max_age_days,
       CAST(count(*) AS BIGINT)                                      AS items,
       CAST(sum(abs(amount_minor)) AS BIGINT)                        AS exposure_minor
FROM open_items
GROUP BY ALL
ORDER BY currency, state, age_bucket
