/* ---
description: >
  Daily settlement per processor and currency: gross, fees and net of the day's processor lines
  (charges, refunds, disputes, fees) and the payouts the processor announced that day.
  Amounts in minor units; payout_minor is the amount paid out to the bank (positive).
group: finance_models
owners: [team:finance]
partitioned: daily
engine: duckdb
tests:
  - not_null: [processor, currency, lines, gross_minor, fee_minor, net_minor, payout_minor]
  - unique: [processor, currency]
  - accepted_values: {column: processor, values: [stripe, adyen, paypal]}
  - expect:
      name: net_is_gross_minus_fees
      description: every processor line has net = gross - fee, so the day's totals must too
      sql: SELECT * FROM {{ this }} WHERE net_minor <> gross_minor - fee_minor
      blocking: true
--- */
SELECT processor,
       currency,
       CAST(count(*) FILTER (WHERE category <> 'payout') AS BIGINT)              AS lines,
       CAST(coalesce(sum(gross_minor) FILTER (WHERE category <> 'payout'), 0) AS BIGINT) AS gross_minor,
       CAST(coalesce(sum(fee_minor) FILTER (WHERE category <> 'payout'), 0) AS BIGINT)   AS fee_minor,
       CAST(coalesce(sum(net_minor) FILTER (WHERE category <> 'payout'), 0) AS BIGINT)   AS net_minor,
       CAST(count(*) FILTER (WHERE category = 'payout') AS BIGINT)               AS payouts,
       CAST(coalesce(-sum(net_minor) FILTER (WHERE category = 'payout'), 0) AS BIGINT)   AS payout_minor
FROM {{ source('imports', 'processor_lines') }}
WHERE business_date = DATE '{{ partition_date }}'
GROUP BY processor, currency
ORDER BY processor, currency
