-- Currencies whose postings of the tenant do not sum to zero (must return no rows).
SELECT currency, sum(amount_minor) AS imbalance_minor
FROM ledger.postings WHERE tenant = %(tenant)s AND business_date <= %(day)s
GROUP BY currency HAVING sum(amount_minor) <> 0
