-- The keys of the match's first step (DuckDB), over each source's columns read once into Arrow (int_cols,
-- proc_cols: engine.py, in the sources' order): keys.py finds from their 64-bit keys the 1:1 pairs by processor
-- reference and the rest, which match.sql's general rules take. h: the record's identity (a delivery of it again
-- repeats h); g: its rule-1 key (processor, processor reference, kind), where it has one (keyed). A hash
-- collision only ever sends rows to the general rules, which are exact.
CREATE OR REPLACE TEMP MACRO internal_kind(type) AS
    CASE type WHEN 'payment' THEN 'charge' WHEN 'refund' THEN 'refund' ELSE 'dispute' END;
-- Rule 1's key (processor, processor reference, kind) of an internal record and of a processor line.
CREATE OR REPLACE TEMP MACRO int_key(processor, pref, type) AS hash(processor, pref, internal_kind(type));
CREATE OR REPLACE TEMP MACRO proc_key(processor, reference, category) AS hash(processor, reference, category);

CREATE OR REPLACE TEMP VIEW int_keys AS
SELECT hash(transaction_id) AS h, int_key(processor, processor_reference, type) AS g,
       processor_reference IS NOT NULL AS keyed
FROM int_cols;

CREATE OR REPLACE TEMP VIEW proc_keys AS
SELECT hash(processor, line_id) AS h, proc_key(processor, reference, category) AS g,
       reference IS NOT NULL AND category IN ('charge', 'refund', 'dispute') AS keyed
FROM proc_cols;
