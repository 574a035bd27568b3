-- Processor fees of a day by processor, category and currency, from the totals of the day's imported settlement
-- files (imports.file_totals, taken from the rows as they were loaded). A standalone fee line (category 'fee')
-- carries its fee as -net, as the posting rules read it; payout rows carry no fee. The same figures post to
-- the ledger's processor_fees:<processor> accounts. Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, processor, kind AS category, currency,
       sum(records)::bigint AS lines, sum(amount_minor)::bigint AS gross_minor, sum(fee_minor)::bigint AS fee_minor,
       sum(net_minor)::bigint AS net_minor
FROM imports.file_totals
WHERE tenant = %(tenant)s AND business_date = %(day)s AND source = 'processor' AND kind <> 'payout'
GROUP BY processor, kind, currency
ORDER BY processor, kind, currency
