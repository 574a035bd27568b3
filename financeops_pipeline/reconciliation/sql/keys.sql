-- The rows of the match's first step (DuckDB), each source read once: keys.py finds from their 64-bit keys the
-- 1:1 pairs by processor reference and the rest, which match.sql's general rules take. h: the record's identity
-- (a delivery of it again repeats h); g: its rule-1 key (processor, processor reference, kind), where it has one
-- (keyed). A hash collision only ever sends rows to the general rules, which are exact.
CREATE OR REPLACE TEMP MACRO internal_kind(type) AS
    CASE type WHEN 'payment' THEN 'charge' WHEN 'refund' THEN 'refund' ELSE 'dispute' END;
-- Rule 1's key (processor, processor reference, kind) of an internal record and of a processor line.
CREATE OR REPLACE TEMP MACRO int_key(processor, pref, type) AS hash(processor, pref, internal_kind(type));
CREATE OR REPLACE TEMP MACRO proc_key(processor, reference, category) AS hash(processor, reference, category);

CREATE OR REPLACE TEMP VIEW int_rows AS
SELECT transaction_id AS ref, processor, processor_reference AS pref, internal_kind(type) AS kind, currency,
       amount_minor, business_date AS item_date, file_order, source_position,
       hash(transaction_id) AS h, int_key(processor, processor_reference, type) AS g,
       processor_reference IS NOT NULL AS keyed
FROM internal_src;

CREATE OR REPLACE TEMP VIEW proc_rows AS
SELECT processor, line_id, category, reference, merchant_reference, currency, gross_minor, net_minor, payout_id,
       business_date, file_order, source_position,
       hash(processor, line_id) AS h, proc_key(processor, reference, category) AS g,
       reference IS NOT NULL AND category IN ('charge', 'refund', 'dispute') AS keyed
FROM processor_src;
