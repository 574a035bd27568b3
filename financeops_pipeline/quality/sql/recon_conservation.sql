-- Every minor unit of every source of the day is matched, explained, pending or in a break: item counts
-- and amounts of the day's recon states equal the day's inputs per source and currency (no rows = good).
WITH inputs AS (
    -- what the day's files loaded (imports.file_totals, from the rows as COPYed); processor items are the
    -- charge, refund and dispute lines, by |gross|
    SELECT source, currency, sum(records) AS items,
           sum(CASE WHEN source = 'processor' THEN abs_amount_minor ELSE amount_minor END) AS amount_minor
    FROM imports.file_totals
    WHERE tenant = %(tenant)s AND business_date = %(day)s
      AND (source <> 'processor' OR kind IN ('charge', 'refund', 'dispute'))
    GROUP BY 1, 2
), states AS (
    -- the day's own items (scope 'day'), every state; payouts are derived from processor lines, not inputs
    SELECT source, currency, sum(items) AS items, sum(amount_minor) AS amount_minor FROM recon.day_totals
    WHERE tenant = %(tenant)s AND business_date = %(day)s AND scope = 'day' AND source <> 'payout'
    GROUP BY 1, 2
)
SELECT coalesce(i.source, s.source) AS source, coalesce(i.currency, s.currency) AS currency,
       i.items AS input_items, s.items AS recon_items, i.amount_minor AS input_minor, s.amount_minor AS recon_minor
FROM inputs i FULL JOIN states s USING (source, currency)
WHERE i.items IS DISTINCT FROM s.items OR i.amount_minor IS DISTINCT FROM s.amount_minor
