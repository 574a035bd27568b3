-- The 64-bit keys of the match (DuckDB), before pairs.sql and match.sql: one narrow scan of each source (int_keys,
-- proc_keys: two hashes and a flag per row), from which keys.py finds which ids repeat (repeated_int(h),
-- repeated_proc(h)) and which processor-reference keys are not one record on each side (open_keys(g)).
CREATE OR REPLACE TEMP MACRO internal_kind(type) AS
    CASE type WHEN 'payment' THEN 'charge' WHEN 'refund' THEN 'refund' ELSE 'dispute' END;
-- Rule 1's key (processor, processor reference, kind) of an internal record and of a processor line.
CREATE OR REPLACE TEMP MACRO int_key(processor, pref, type) AS hash(processor, pref, internal_kind(type));
CREATE OR REPLACE TEMP MACRO proc_key(processor, reference, category) AS hash(processor, reference, category);

-- h: the record's identity (a delivery of it again repeats h); g: its rule-1 key, where it has one (keyed).
CREATE OR REPLACE TEMP VIEW int_keys AS
SELECT hash(transaction_id) AS h, int_key(processor, processor_reference, type) AS g,
       processor_reference IS NOT NULL AS keyed
FROM internal_src;

CREATE OR REPLACE TEMP VIEW proc_keys AS
SELECT hash(processor, line_id) AS h, proc_key(processor, reference, category) AS g,
       reference IS NOT NULL AND category IN ('charge', 'refund', 'dispute') AS keyed
FROM processor_src;
