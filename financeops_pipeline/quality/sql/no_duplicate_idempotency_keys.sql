-- No idempotency key stands for two different money movements (no rows = pass). Posting keeps the first record
-- of a key and skips the rest, which is right for a record delivered twice and loses money for two different
-- records that happen to share a key (an id reused across files or days). Reported: each source record of the
-- day whose key was posted, the same day or before, from another record with other money. Two entries under one
-- key cannot exist: the key registry's unique index (ledger.entry_keys, migration 0060) refuses the second, and
-- posting's checker compares every batch's keys with the registry. Parameters: %(tenant)s, %(day)s.
-- include: records_not_posted_from_themselves.sql
SELECT idempotency_key,
       'record ' || currency || ' ' || amount_minor || ' but the key was posted as ' || posted_currency || ' '
       || posted_amount_minor AS problem, posted_business_date AS posted_on
FROM records_not_posted_from_themselves
WHERE entry_id IS NOT NULL AND amount_minor IS NOT NULL
  AND (posted_currency, posted_amount_minor) IS DISTINCT FROM (currency, amount_minor)
ORDER BY 1, 2
