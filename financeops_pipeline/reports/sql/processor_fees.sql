-- Processor fees of a day by processor, category and currency, from the imported settlement lines.
-- A standalone fee line (category 'fee') carries its fee as -net, as the posting rules read it; payout rows
-- carry no fee. The same figures post to the ledger's processor_fees:<processor> accounts.
-- Parameters: %(tenant)s, %(day)s.
SELECT %(tenant)s AS tenant, %(day)s::date AS business_date, processor, category, currency,
       count(*) AS lines, sum(gross_minor)::bigint AS gross_minor,
       sum(CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END)::bigint AS fee_minor,
       sum(net_minor)::bigint AS net_minor
FROM imports.processor_lines
WHERE tenant = %(tenant)s AND business_date = %(day)s AND category <> 'payout'
GROUP BY processor, category, currency
ORDER BY processor, category, currency
