-- Currencies whose postings of the tenant do not sum to zero (must return no rows). A transfer (migration 0060)
-- balances by construction and by its CHECKs, which COPY evaluates (one positive amount moved between two different
-- accounts in one currency): its two postings always sum to zero. Only the entries + postings rows posted before
-- 0060 (ledger.postings_legacy) can break it, and only they are summed (the view would read every transfer twice).
SELECT currency, sum(amount_minor) AS imbalance_minor
FROM ledger.postings_legacy WHERE tenant = %(tenant)s AND business_date <= %(day)s
GROUP BY currency HAVING sum(amount_minor) <> 0
