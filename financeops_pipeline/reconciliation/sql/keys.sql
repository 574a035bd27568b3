-- The 64-bit keys of the match (DuckDB), before pairs.sql and match.sql: which ids repeat (repeated_int(h),
-- repeated_proc(h)) and which processor-reference keys are not one record on each side (open_keys(g)), from one
-- narrow scan of each source (int_keys, proc_keys: two hashes and a flag per row). A few rows each; DuckDB's
-- aggregates over the 20M keys of a 10M day run on every core, where numpy's sorts took one (~5 s).
CREATE OR REPLACE TEMP MACRO internal_kind(type) AS
    CASE type WHEN 'payment' THEN 'charge' WHEN 'refund' THEN 'refund' ELSE 'dispute' END;
-- Rule 1's key (processor, processor reference, kind) of an internal record and of a processor line.
CREATE OR REPLACE TEMP MACRO int_key(processor, pref, type) AS hash(processor, pref, internal_kind(type));
CREATE OR REPLACE TEMP MACRO proc_key(processor, reference, category) AS hash(processor, reference, category);

-- h: the record's identity (a delivery of it again repeats h); g: its rule-1 key, where it has one (keyed).
CREATE OR REPLACE TEMP TABLE int_keys AS
SELECT hash(transaction_id) AS h, int_key(processor, processor_reference, type) AS g,
       processor_reference IS NOT NULL AS keyed
FROM internal_src;

CREATE OR REPLACE TEMP TABLE proc_keys AS
SELECT hash(processor, line_id) AS h, proc_key(processor, reference, category) AS g,
       reference IS NOT NULL AND category IN ('charge', 'refund', 'dispute') AS keyed
FROM processor_src;

CREATE OR REPLACE TEMP TABLE repeated_int AS SELECT h FROM int_keys GROUP BY h HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE repeated_proc AS SELECT h FROM proc_keys GROUP BY h HAVING count(*) > 1;

-- open_keys: every rule-1 key that is not exactly one keyed record on each side (one-sided, split or repeated on
-- a side), or that holds a repeated id. A hash collision only ever adds keys here (more rows to the general
-- rules, which are exact).
CREATE OR REPLACE TEMP TABLE open_keys AS
SELECT g FROM (SELECT g, 1 AS internal FROM int_keys WHERE keyed
               UNION ALL SELECT g, 0 FROM proc_keys WHERE keyed)
GROUP BY g HAVING count(*) <> 2 OR sum(internal) <> 1
UNION
SELECT g FROM int_keys WHERE keyed AND h IN (SELECT h FROM repeated_int)
UNION
SELECT g FROM proc_keys WHERE keyed AND h IN (SELECT h FROM repeated_proc);

DROP TABLE int_keys;
DROP TABLE proc_keys;
