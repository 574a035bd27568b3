-- The 1:1 pairs by processor reference (DuckDB), after keys.sql and the keys engine.py registers from it
-- (repeated_int, repeated_proc, open_keys), before match.sql.

-- Keyed records outside the open keys: each is one side of a 1:1 pair.
CREATE OR REPLACE TEMP VIEW int_keyed AS
SELECT s.* EXCLUDE (h) FROM (
    SELECT transaction_id AS ref, processor, processor_reference AS pref, internal_kind(type) AS kind, currency,
           amount_minor, business_date AS item_date, hash(transaction_id) AS h,
           int_key(processor, processor_reference, type) AS g
    FROM internal_src WHERE processor_reference IS NOT NULL) s
ANTI JOIN repeated_int r ON r.h = s.h
ANTI JOIN open_keys k ON k.g = s.g;

CREATE OR REPLACE TEMP VIEW proc_keyed AS
SELECT s.* EXCLUDE (h) FROM (
    SELECT processor, line_id, reference AS pref, category AS kind, currency, abs(gross_minor) AS amount_minor,
           business_date AS item_date, hash(processor, line_id) AS h, proc_key(processor, reference, category) AS g
    FROM processor_src WHERE reference IS NOT NULL AND category IN ('charge', 'refund', 'dispute')) s
ANTI JOIN repeated_proc r ON r.h = s.h
ANTI JOIN open_keys k ON k.g = s.g;

-- The 1:1 pairs, joined by the key's hash. same_key: the strings agree (false for a hash collision, and where a
-- key column is NULL, which rule 1 never joins); plain: a plain match (same key, currency and amount: anything
-- else, NULLs included, goes to the states of rule 1 as before, match.sql).
-- Materialized once, here in DuckDB: match.sql reads the pairs with a difference from it and engine.py the plain
-- matches, straight to their stored form (no round trip of the 10M pairs of a 10M day through Arrow).
CREATE OR REPLACE TEMP TABLE key_pairs AS
SELECT i.g, i.ref AS i_ref, p.processor || ':' || p.line_id AS p_ref, i.processor, i.pref, i.kind,
       i.currency AS i_currency, p.currency AS p_currency, i.amount_minor AS i_amount, p.amount_minor AS p_amount,
       i.item_date AS i_date, p.item_date AS p_date,
       coalesce(i.processor = p.processor AND i.pref = p.pref AND i.kind = p.kind, false) AS same_key,
       coalesce(i.processor = p.processor AND i.pref = p.pref AND i.kind = p.kind
                AND i.currency = p.currency AND i.amount_minor = p.amount_minor, false) AS plain
FROM int_keyed i JOIN proc_keyed p ON i.g = p.g;

