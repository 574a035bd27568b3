/* ---
description: >
  Payouts announced by a processor and not yet credited at the bank (pending in recon.item_status at the
  end of the day), each with its expected bank date: payout date + 1 day (processors pay T+1) and, when
  that date has passed, the days it is overdue.
group: treasury_models
owners: [team:treasury]
partitioned: daily
engine: duckdb
tests:
  - not_null: [processor, payout_ref, currency, amount_minor, payout_date, expected_bank_date]
  - unique: [payout_ref]
  - accepted_values: {column: processor, values: [stripe, adyen, paypal]}
  - expect:
      name: expected_after_payout
      sql: SELECT * FROM {{ this }} WHERE expected_bank_date <= payout_date OR days_overdue < 0
--- */
SELECT split_part(source_ref, ':', 1)                                      AS processor,
       source_ref                                                          AS payout_ref,
       currency,
       CAST(amount_minor AS BIGINT)                                        AS amount_minor,
       item_date                                                           AS payout_date,
       CAST(item_date + INTERVAL 1 DAY AS DATE)                            AS expected_bank_date,
       CAST(greatest(DATE '{{ partition_date }}' - CAST(item_date + INTERVAL 1 DAY AS DATE), 0) AS INTEGER)
                                                                           AS days_overdue
FROM {{ source('recon', 'item_status') }}
WHERE business_date = DATE '{{ partition_date }}' AND source = 'payout' AND status = 'pending'
ORDER BY expected_bank_date, payout_ref
