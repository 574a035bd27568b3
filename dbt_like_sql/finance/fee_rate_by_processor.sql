/* ---
description: >
  Effective fee rate per processor, line category and currency for the day: fees / |gross| in basis
  points, as NUMERIC(12,2) computed in Postgres (exact decimal arithmetic, no floating point).
group: finance_models
owners: [team:finance]
partitioned: daily
engine: postgres
tests:
  - not_null: [processor, category, currency, gross_minor, fee_minor]
  - unique: [processor, category, currency]
  - accepted_values: {column: category, values: [charge, refund, dispute, fee, other]}
  - relationships: {column: processor, to: "ref('daily_settlement_summary')", field: processor}
  - expect:
      name: rate_matches_fees
      description: the rate times |gross| gives back the fees (to the rounding of 0.01 bp)
      sql: >
        SELECT * FROM {{ this }}
        WHERE gross_minor <> 0 AND abs(fee_rate_bp * abs(gross_minor) / 10000 - fee_minor) > abs(gross_minor) * 0.000001
--- */
SELECT processor,
       category,
       currency::text                                 AS currency,
       count(*)                                       AS lines,
       sum(gross_minor)::bigint                       AS gross_minor,
       sum(fee_minor)::bigint                         AS fee_minor,
       CASE WHEN sum(gross_minor) = 0 THEN NULL
            ELSE round(sum(fee_minor) * 10000.0 / abs(sum(gross_minor)), 2) END::numeric(12, 2) AS fee_rate_bp
FROM {{ source('imports', 'processor_lines') }}
WHERE business_date = DATE '{{ partition_date }}'
  AND category <> 'payout'
  -- the settlement summary must exist for the day (lineage and the relationships test read it)
  AND EXISTS (SELECT 1 FROM {{ ref('daily_settlement_summary') }} s WHERE s.business_date = DATE '{{ partition_date }}')
GROUP BY processor, category, currency
ORDER BY processor, category, currency
