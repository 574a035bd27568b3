/* ---
description: >
  Cash expected at the bank per currency and day from pending payouts: overdue payouts are expected on the
  next business day after the partition date. inflow_minor in minor units.
group: treasury_models
owners: [team:treasury]
partitioned: daily
engine: duckdb
tests:
  - not_null: [currency, forecast_date, payouts, inflow_minor]
  - unique: [currency, forecast_date]
  - expect:
      name: forecast_equals_pending_payouts
      description: the forecast adds up to the pending payouts of the day
      sql: >
        SELECT f.currency, f.total, p.total AS pending
        FROM (SELECT currency, sum(inflow_minor) AS total FROM {{ this }} GROUP BY 1) f
        FULL JOIN (SELECT currency, sum(amount_minor) AS total FROM {{ ref('pending_payouts') }}
                   WHERE business_date = DATE '{{ partition_date }}' GROUP BY 1) p USING (currency)
        WHERE f.total IS DISTINCT FROM p.total
--- */
SELECT currency,
       greatest(expected_bank_date, CAST(DATE '{{ partition_date }}' + INTERVAL 1 DAY AS DATE)) AS forecast_date,
       CAST(count(*) AS BIGINT)                          AS payouts,
       CAST(count(*) FILTER (WHERE days_overdue > 0) AS BIGINT) AS overdue_payouts,
       CAST(sum(amount_minor) AS BIGINT)                 AS inflow_minor
FROM {{ ref('pending_payouts') }}
WHERE business_date = DATE '{{ partition_date }}'
GROUP BY ALL
ORDER BY currency, forecast_date
