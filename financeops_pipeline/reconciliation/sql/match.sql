-- Three-way matching of one tenant-day in DuckDB. Inputs (registered by engine.py):
--   internal_src, processor_src, bank_src : canonical rows of the lookback window (the record files)
--   windows(processor, settle_days, internal_days, bank_days), params(day, bank_unmatched_days)
--   counterparty_patterns(processor, pattern): the fallback rule's bank text pattern per processor.
-- An item is `pending` while its age (day - item_date) is within its window, a break after.
-- Output: item_status (one row per item, exactly one state: matched, explained, pending, suggested or break).
--
-- Where the time goes (issue 13): almost every internal record meets exactly one processor line under its
-- processor reference. engine.py reads each source once (keys.sql hashes the keys) and keys.py finds, from the
-- 64-bit hashes and numpy's sorts, those 1:1 pairs (key_plain, the strings compared: a hash collision only sends
-- its rows to the general rules) and every other row (int_rest_rows, proc_rest_rows): no window, no aggregate
-- and no join over the day's rows. The general rules (splits, duplicates by amount, merchant reference, pending and one-sided
-- items) are exact and see only those rows (int_rest, proc_rest). Plain matches never become rows of
-- item_status: engine.py reads them as pairs (plain_pairs, one row per two items); item_status holds every other
-- state, which the later steps update.

-- The pairs that are not plain matches: a currency or amount mismatch, or a hash collision (not the same key).
CREATE OR REPLACE TEMP TABLE pair_exceptions AS
SELECT g, i_ref, p_ref, processor, pref, kind, i_currency, p_currency,
       i_amount, p_amount, i_date, p_date, greatest(i_date, p_date) AS matched_on, same_key,
       CASE WHEN i_currency <> p_currency THEN 'currency_mismatch'
            WHEN i_amount <> p_amount THEN 'amount_mismatch' ELSE 'matched' END AS outcome
FROM key_pair_exceptions;   -- the pairs that are not plain matches (keys.py)

-- 1:1 pairs with a difference (their states are in item_status, as rule 1 states them).
CREATE OR REPLACE TEMP VIEW simple_pairs AS SELECT * FROM pair_exceptions WHERE same_key;

-- The plain 1:1 matches, one row per pair (two items each): never rows of item_status. engine.py reads them once
-- at the end, and they are stored in this compact form (reconciliation/store.py: expand_pairs gives the items).
CREATE OR REPLACE TEMP VIEW plain_pairs AS
SELECT i_ref, processor || ':' || line_id AS p_ref, processor, pref, kind, currency, amount_minor, i_date, p_date,
       greatest(i_date, p_date) AS matched_on
FROM key_plain;   -- every plain match of the window (keys.py)

-- Both sides of each plain match as item states (for lookups by item: apply_resolutions.sql).
CREATE OR REPLACE TEMP VIEW plain_pair_states AS
SELECT CASE WHEN s.internal THEN 'internal' ELSE 'processor' END AS source,
       CASE WHEN s.internal THEN i_ref ELSE p_ref END AS source_ref, currency, amount_minor,
       CASE WHEN s.internal THEN i_date ELSE p_date END AS item_date, 'matched' AS status,
       'processor_reference' AS rule, 'ref:' || processor || ':' || pref || ':' || kind AS match_group, matched_on
FROM plain_pairs CROSS JOIN (VALUES (true), (false)) s(internal);

-- The rows of the general rules (keys.py, with the columns only they need added by engine.py: int_rest_rows,
-- proc_rest_rows): every record that is not one side of a 1:1 pair (whole keys and every delivery of a repeated id
-- go together, so what the rules compute per key or per id sees all its rows).
-- A transaction id delivered again keeps dup_rank 1 on its first delivery (by day, file, position) and is
-- `duplicate` after.
CREATE OR REPLACE TEMP TABLE int_rest AS
SELECT ref, processor, pref, kind, currency, amount_minor, item_date,
       row_number() OVER (PARTITION BY ref ORDER BY item_date, file_order, source_position) AS dup_rank
FROM int_rest_rows;

-- Processor lines likewise (dup_rank over every line of the id, as a line id may repeat under another category).
-- Every delivery of a line of the rest is a row of the rest (proc_rest_rows).

CREATE OR REPLACE TEMP TABLE proc_rest AS
WITH r AS (
    SELECT s.*, row_number() OVER (PARTITION BY processor, line_id ORDER BY business_date, file_order, source_position)
               AS dup_rank
    FROM (SELECT *, category IN ('charge', 'refund', 'dispute') AS item FROM proc_rest_rows) s)
SELECT processor || ':' || line_id AS ref, processor, line_id, reference AS pref, category AS kind, currency,
       abs(gross_minor) AS amount_minor, merchant_reference, business_date AS item_date, dup_rank
FROM r WHERE item;

-- Duplicates by amount: within one processor reference, records of one side that repeat the same amount (and
-- currency; for processor lines also the same date) beyond the number of records the other side has at that
-- amount (at least one) are `duplicate` when the group's totals do not agree as they are: a retried request that
-- created a second internal record under a new id, a processor line delivered twice under two ids. The first
-- record of each amount stays and matches; each duplicate names the record it repeats.
CREATE OR REPLACE TEMP TABLE amount_dups AS
WITH i AS (SELECT processor, pref, kind, currency, amount_minor, ref,
                  row_number() OVER w AS k, first_value(ref) OVER w AS kept
           FROM int_rest WHERE dup_rank = 1 AND pref IS NOT NULL
           WINDOW w AS (PARTITION BY processor, pref, kind, currency, amount_minor ORDER BY item_date, ref)),
     p AS (SELECT processor, pref, kind, currency, amount_minor, ref,
                  row_number() OVER w AS k, first_value(ref) OVER w AS kept
           FROM proc_rest WHERE dup_rank = 1 AND pref IS NOT NULL
           WINDOW w AS (PARTITION BY processor, pref, kind, currency, amount_minor, item_date ORDER BY ref)),
     ic AS (SELECT processor, pref, kind, currency, amount_minor, count(*) AS n FROM i GROUP BY ALL),
     pc AS (SELECT processor, pref, kind, currency, amount_minor, count(*) AS n FROM p GROUP BY ALL),
     it AS (SELECT processor, pref, kind, currency, sum(amount_minor) AS amt FROM i GROUP BY ALL),
     pt AS (SELECT processor, pref, kind, currency, sum(amount_minor) AS amt FROM p GROUP BY ALL)
SELECT 'internal' AS source, i.ref, i.kept
FROM i JOIN pc USING (processor, pref, kind, currency, amount_minor)
       JOIN it USING (processor, pref, kind, currency) JOIN pt USING (processor, pref, kind, currency)
WHERE i.k > pc.n AND it.amt <> pt.amt
UNION ALL
SELECT 'processor', p.ref, p.kept
FROM p JOIN ic USING (processor, pref, kind, currency, amount_minor)
       JOIN it USING (processor, pref, kind, currency) JOIN pt USING (processor, pref, kind, currency)
WHERE p.k > ic.n AND it.amt <> pt.amt;

-- Rule 1 on the rest: groups on both sides allow splits (one-to-many, many-to-one).
CREATE OR REPLACE TEMP TABLE ref_pairs_rest AS
WITH i AS (SELECT processor, pref, kind, currency, sum(amount_minor) AS amt, count(*) AS n, max(item_date) AS d,
                  min(ref) AS first_ref
           FROM int_rest WHERE dup_rank = 1
             AND ref NOT IN (SELECT ref FROM amount_dups WHERE source = 'internal') GROUP BY ALL),
     p AS (SELECT processor, pref, kind, currency, sum(amount_minor) AS amt, count(*) AS n, max(item_date) AS d
           FROM proc_rest WHERE dup_rank = 1 AND pref IS NOT NULL
             AND ref NOT IN (SELECT ref FROM amount_dups WHERE source = 'processor') GROUP BY ALL)
SELECT i.processor, i.pref, i.kind, i.currency AS i_currency, p.currency AS p_currency, i.amt AS i_amt,
       p.amt AS p_amt, i.first_ref, greatest(i.d, p.d) AS matched_on,
       CASE WHEN i.currency <> p.currency THEN 'currency_mismatch'
            WHEN i.amt <> p.amt THEN 'amount_mismatch' ELSE 'matched' END AS outcome,
       CASE WHEN i.n = 1 AND p.n = 1 THEN 'processor_reference' ELSE 'processor_reference_split' END AS rule
FROM i JOIN p USING (processor, pref, kind)
QUALIFY row_number() OVER (PARTITION BY i.processor, i.pref, i.kind ORDER BY (i.currency = p.currency) DESC) = 1;

-- The pairs of rule 1 that are not plain 1:1 matches (those are in key_plain).
CREATE OR REPLACE TEMP VIEW ref_pairs AS
SELECT * FROM ref_pairs_rest
UNION ALL
SELECT processor, pref, kind, i_currency, p_currency, i_amount, p_amount, i_ref, matched_on, outcome,
       'processor_reference'
FROM simple_pairs;

-- Rule 2 (fallback), merchant reference = internal transaction id, same currency and amount, one-to-one. Only
-- rows of the rest can take it: the sides of a 1:1 pair have rule 1.
CREATE OR REPLACE TEMP TABLE mref_pairs AS
SELECT i.ref AS i_ref, p.ref AS p_ref, i.currency, i.amount_minor, greatest(i.item_date, p.item_date) AS matched_on
FROM int_rest i
JOIN proc_rest p ON p.merchant_reference = i.ref AND p.processor = i.processor AND p.kind = i.kind
                AND p.currency = i.currency AND p.amount_minor = i.amount_minor
WHERE i.dup_rank = 1 AND p.dup_rank = 1
  AND i.ref NOT IN (SELECT ref FROM amount_dups) AND p.ref NOT IN (SELECT ref FROM amount_dups)
  AND NOT EXISTS (SELECT 1 FROM ref_pairs_rest r WHERE r.processor = i.processor AND r.pref = i.pref AND r.kind = i.kind)
  AND NOT EXISTS (SELECT 1 FROM ref_pairs_rest r WHERE r.processor = p.processor AND r.pref = p.pref AND r.kind = p.kind)
QUALIFY count(*) OVER (PARTITION BY i.ref) = 1 AND count(*) OVER (PARTITION BY p.ref) = 1;

-- Payouts: every processor line with a payout id belongs to one; the payout row (if any) must equal
-- the sum of its lines' net ("payout proof").
CREATE OR REPLACE TEMP TABLE payouts AS
-- A processor line delivered twice (amount_dups) counts once: its rows' net (every row of its line id is a row of
-- the rest, proc_rest_rows) is taken off the lines' net, so the window's lines are read once, without their ids.
WITH dup_net AS (
    SELECT x.processor, x.payout_id, x.currency, sum(x.net_minor) AS net
    FROM proc_rest_rows x
    SEMI JOIN (SELECT r.processor, r.line_id FROM amount_dups d JOIN proc_rest r USING (ref)
               WHERE d.source = 'processor') d ON d.processor = x.processor AND d.line_id = x.line_id
    WHERE x.payout_id IS NOT NULL AND x.category <> 'payout'
    GROUP BY ALL),
t AS (   -- the lines (a group's payout row, few of them, apart: u)
    SELECT processor, payout_id, currency,
           coalesce(sum(net_minor) FILTER (WHERE category <> 'payout'), 0) AS lines_net,
           max(business_date) AS last_date, max(payout_date) AS payout_date
    FROM processor_src
    WHERE payout_id IS NOT NULL
    GROUP BY processor, payout_id, currency),
u AS (
    SELECT processor, payout_id, currency, -sum(net_minor) AS reported, max(business_date) AS item_date,
           max(reference) AS payout_reference   -- PayPal: the Bank Reference ID
    FROM processor_src
    WHERE payout_id IS NOT NULL AND category = 'payout'
    GROUP BY processor, payout_id, currency)
SELECT t.processor, t.payout_id, t.currency, t.lines_net - coalesce(dn.net, 0) AS lines_net, u.reported,
       coalesce(u.item_date, t.last_date) AS item_date, coalesce(t.payout_date, t.last_date) AS payout_date,
       u.payout_reference
FROM t LEFT JOIN u ON u.processor = t.processor AND u.payout_id = t.payout_id
                  AND u.currency IS NOT DISTINCT FROM t.currency
LEFT JOIN dup_net dn ON dn.processor = t.processor AND dn.payout_id = t.payout_id
                    AND dn.currency IS NOT DISTINCT FROM t.currency;

CREATE OR REPLACE TEMP TABLE payout_items AS
SELECT 'payout' AS source, processor || ':' || payout_id AS ref, processor, payout_id, currency,
       coalesce(reported, lines_net) AS amount_minor, lines_net, reported, item_date, payout_date,
       CASE processor WHEN 'adyen' THEN '(?i)\bbatch\s*' || split_part(payout_id, ':', 2) || '\b'
                      WHEN 'paypal' THEN '(?i)(' || regexp_escape(payout_id)
                                         || coalesce('|' || regexp_escape(payout_reference), '') || ')'
                      ELSE '(?i)' || regexp_escape(payout_id) END AS bank_pattern,
       processor <> 'paypal' AS itemized   -- a PayPal withdrawal is not the sum of lines: no payout proof
FROM payouts;

CREATE OR REPLACE TEMP TABLE bank_items AS
SELECT 'bank' AS source, account_id || ':' || coalesce(acct_svcr_ref, file_sha256 || ':' || source_position) AS ref,
       currency, amount_minor, business_date AS item_date, booking_date, classification, processor,
       concat_ws(' ', end_to_end_id, acct_svcr_ref, instr_id, remittance_info, counterparty_name) AS text_all
FROM bank_src;

-- Rule 3, payout reference in the bank text within the bank window; one bank credit may cover several
-- payouts (many-to-one) when their amounts add up exactly.
CREATE OR REPLACE TEMP TABLE bank_candidates AS
SELECT b.ref AS bank_ref, y.ref AS payout_ref, y.amount_minor AS payout_amount, b.amount_minor AS bank_amount,
       greatest(b.item_date, y.item_date) AS matched_on
FROM bank_items b
JOIN payout_items y ON y.currency = b.currency AND (b.processor IS NULL OR b.processor = y.processor)
 AND b.booking_date BETWEEN y.payout_date AND y.payout_date + (SELECT max(bank_days) FROM windows w WHERE w.processor = y.processor)::INTEGER
 AND regexp_matches(b.text_all, y.bank_pattern)
WHERE b.amount_minor > 0 AND b.classification IN ('payout', 'other')
QUALIFY row_number() OVER (PARTITION BY y.ref ORDER BY b.booking_date, b.ref) = 1;

CREATE OR REPLACE TEMP TABLE bank_groups AS
SELECT bank_ref, max(bank_amount) AS bank_amount, sum(payout_amount) AS payouts_amount, count(*) AS n,
       max(matched_on) AS matched_on,
       CASE WHEN sum(payout_amount) = max(bank_amount) THEN 'matched' ELSE 'amount_mismatch' END AS outcome
FROM bank_candidates GROUP BY bank_ref;

-- Rule 4 (fallback when the bank credit carries no payout reference), only on what rule 3 left unmatched: amount
-- and currency exact, the booking date within the payout's bank window, and the bank text or counterparty
-- matching the processor's pattern (counterparty_patterns, from config). Exactly one candidate on each side:
-- matched by `counterparty_amount`. Several: every item concerned is `suggested` (neither a match nor a break),
-- naming its candidates, until a later day makes it unique or a person confirms or rejects one; never a guess.
CREATE OR REPLACE TEMP TABLE fallback_candidates AS
SELECT b.ref AS bank_ref, y.ref AS payout_ref, greatest(b.item_date, y.item_date) AS matched_on
FROM bank_items b
JOIN payout_items y ON y.currency = b.currency AND y.amount_minor = b.amount_minor
 AND (b.processor IS NULL OR b.processor = y.processor)
 AND b.booking_date BETWEEN y.payout_date AND y.payout_date + (SELECT max(bank_days) FROM windows w WHERE w.processor = y.processor)::INTEGER
JOIN counterparty_patterns c ON c.processor = y.processor AND regexp_matches(b.text_all, c.pattern)
WHERE b.amount_minor > 0 AND b.classification IN ('payout', 'other')
  AND b.ref NOT IN (SELECT bank_ref FROM bank_groups)
  AND y.ref NOT IN (SELECT payout_ref FROM bank_candidates)
  AND NOT (y.itemized AND y.reported IS NOT NULL AND y.reported <> y.lines_net);

CREATE OR REPLACE TEMP TABLE fallback_matches AS
SELECT * FROM fallback_candidates
QUALIFY count(*) OVER (PARTITION BY bank_ref) = 1 AND count(*) OVER (PARTITION BY payout_ref) = 1;

CREATE OR REPLACE TEMP TABLE fallback_suggestions AS
WITH open AS (SELECT * FROM fallback_candidates WHERE bank_ref NOT IN (SELECT bank_ref FROM fallback_matches))
SELECT 'payout' AS source, payout_ref AS ref,
       to_json({'rule': 'counterparty_amount',
                'candidates': list({'source': 'bank', 'source_ref': bank_ref} ORDER BY bank_ref)}) AS sugg
FROM open GROUP BY payout_ref
UNION ALL
SELECT 'bank', bank_ref,
       to_json({'rule': 'counterparty_amount',
                'candidates': list({'source': 'payout', 'source_ref': payout_ref} ORDER BY payout_ref)})
FROM open GROUP BY bank_ref;

-- One state per item. Breaks name the type; near misses keep the per-field differences.
CREATE OR REPLACE TEMP TABLE item_status AS
WITH params_row AS (SELECT * FROM params),
-- Both sides of the 1:1 pairs, as the general rules would state them.
pair_state AS (
    SELECT 'internal' AS source, i_ref AS ref, i_currency AS currency, i_amount AS amount_minor, i_date AS item_date,
           outcome AS state, 'processor_reference' AS rule, 'ref:' || processor || ':' || pref || ':' || kind AS match_group,
           matched_on,
           CASE WHEN outcome = 'amount_mismatch' THEN
                    json_object('field', 'amount_minor', 'internal', i_amount, 'processor', p_amount,
                                'difference', p_amount - i_amount)
                WHEN outcome = 'currency_mismatch' THEN
                    json_object('field', 'currency', 'internal', i_currency, 'processor', p_currency)
           END AS details,
           i_ref AS break_ref, NULL::JSON AS sugg
    FROM simple_pairs
    UNION ALL
    SELECT 'processor', p_ref, p_currency, p_amount, p_date, outcome, 'processor_reference',
           'ref:' || processor || ':' || pref || ':' || kind, matched_on, NULL, i_ref, NULL
    FROM simple_pairs
),
int_state AS (
    SELECT 'internal' AS source, i.ref, i.currency, i.amount_minor, i.item_date,
           CASE WHEN i.dup_rank > 1 OR ad.ref IS NOT NULL THEN 'duplicate'
                WHEN r.outcome IS NOT NULL THEN r.outcome
                WHEN m.i_ref IS NOT NULL THEN 'matched'
                WHEN (SELECT day FROM params_row) - i.item_date <= w.settle_days THEN 'pending'
                ELSE 'missing_in_processor' END AS state,
           CASE WHEN r.outcome IS NOT NULL THEN r.rule WHEN m.i_ref IS NOT NULL THEN 'merchant_reference' END AS rule,
           CASE WHEN i.dup_rank > 1 OR ad.ref IS NOT NULL THEN NULL
                WHEN r.outcome IS NOT NULL THEN 'ref:' || i.processor || ':' || i.pref || ':' || i.kind
                WHEN m.i_ref IS NOT NULL THEN 'mref:' || i.ref END AS match_group,
           coalesce(r.matched_on, m.matched_on) AS matched_on,
           CASE WHEN r.outcome = 'amount_mismatch' THEN
                    json_object('field', 'amount_minor', 'internal', r.i_amt, 'processor', r.p_amt,
                                'difference', r.p_amt - r.i_amt)
                WHEN r.outcome = 'currency_mismatch' THEN
                    json_object('field', 'currency', 'internal', r.i_currency, 'processor', r.p_currency)
                WHEN ad.ref IS NOT NULL THEN
                    json_object('duplicate_of', ad.kept, 'records', json_array(ad.kept, ad.ref))
           END AS details,
           -- The break is reported once per group, on its first internal record.
           CASE WHEN r.outcome IN ('amount_mismatch', 'currency_mismatch') THEN r.first_ref ELSE i.ref END AS break_ref,
           NULL::JSON AS sugg
    FROM int_rest i
    LEFT JOIN amount_dups ad ON ad.source = 'internal' AND ad.ref = i.ref
    LEFT JOIN ref_pairs_rest r ON i.dup_rank = 1 AND ad.ref IS NULL AND r.processor = i.processor AND r.pref = i.pref AND r.kind = i.kind
                         AND r.i_currency = i.currency
    LEFT JOIN mref_pairs m ON m.i_ref = i.ref AND i.dup_rank = 1 AND ad.ref IS NULL
    LEFT JOIN windows w ON w.processor = i.processor
),
proc_state AS (
    SELECT 'processor', p.ref, p.currency, p.amount_minor, p.item_date,
           CASE WHEN p.dup_rank > 1 OR ad.ref IS NOT NULL THEN 'duplicate'
                WHEN r.outcome IS NOT NULL THEN r.outcome
                WHEN m.p_ref IS NOT NULL THEN 'matched'
                WHEN (SELECT day FROM params_row) - p.item_date <= w.internal_days THEN 'pending'
                ELSE 'missing_in_internal' END,
           CASE WHEN r.outcome IS NOT NULL THEN r.rule WHEN m.p_ref IS NOT NULL THEN 'merchant_reference' END,
           CASE WHEN p.dup_rank > 1 OR ad.ref IS NOT NULL THEN NULL
                WHEN r.outcome IS NOT NULL THEN 'ref:' || p.processor || ':' || p.pref || ':' || p.kind
                WHEN m.p_ref IS NOT NULL THEN 'mref:' || m.i_ref END,
           coalesce(r.matched_on, m.matched_on),
           CASE WHEN ad.ref IS NOT NULL THEN
                    json_object('duplicate_of', ad.kept, 'records', json_array(ad.kept, ad.ref)) END,
           CASE WHEN r.outcome IN ('amount_mismatch', 'currency_mismatch') THEN r.first_ref ELSE p.ref END,
           NULL::JSON
    FROM proc_rest p
    LEFT JOIN amount_dups ad ON ad.source = 'processor' AND ad.ref = p.ref
    LEFT JOIN ref_pairs_rest r ON p.dup_rank = 1 AND ad.ref IS NULL AND r.processor = p.processor AND r.pref = p.pref AND r.kind = p.kind
                         AND r.p_currency = p.currency
    LEFT JOIN mref_pairs m ON m.p_ref = p.ref AND p.dup_rank = 1 AND ad.ref IS NULL
    LEFT JOIN windows w ON w.processor = p.processor
),
payout_state AS (
    SELECT y.source, y.ref, y.currency, y.amount_minor, y.item_date,
           CASE WHEN y.itemized AND y.reported IS NOT NULL AND y.reported <> y.lines_net THEN 'payout_sum_mismatch'
                WHEN g.outcome IS NOT NULL THEN g.outcome
                WHEN fm.payout_ref IS NOT NULL THEN 'matched'
                WHEN fs.ref IS NOT NULL THEN 'payout_not_in_bank'   -- suggested; this break if rejected
                WHEN (SELECT day FROM params_row) - y.item_date <= w.bank_days THEN 'pending'
                ELSE 'payout_not_in_bank' END,
           CASE WHEN g.outcome = 'matched' AND g.n = 1 THEN 'payout_reference'
                WHEN g.outcome = 'matched' THEN 'payout_reference_many'
                WHEN g.outcome IS NULL AND (fm.payout_ref IS NOT NULL OR fs.ref IS NOT NULL)
                    THEN 'counterparty_amount' END,
           CASE WHEN g.outcome IS NOT NULL THEN 'bank:' || g.bank_ref
                WHEN fm.payout_ref IS NOT NULL THEN 'bank:' || fm.bank_ref
                WHEN fs.ref IS NOT NULL THEN 'suggest:payout:' || y.ref END,
           coalesce(g.matched_on, fm.matched_on),
           CASE WHEN y.itemized AND y.reported IS NOT NULL AND y.reported <> y.lines_net THEN
                    json_object('field', 'net_minor', 'payout', y.reported, 'sum_of_lines', y.lines_net,
                                'difference', y.reported - y.lines_net)
                WHEN g.outcome = 'amount_mismatch' THEN
                    json_object('field', 'amount_minor', 'payouts', g.payouts_amount, 'bank', g.bank_amount,
                                'difference', g.bank_amount - g.payouts_amount)
           END,
           CASE WHEN g.outcome = 'amount_mismatch' THEN g.bank_ref ELSE y.ref END,
           CASE WHEN g.outcome IS NULL AND fm.payout_ref IS NULL THEN fs.sugg END
    FROM payout_items y
    LEFT JOIN bank_candidates c ON c.payout_ref = y.ref
    LEFT JOIN bank_groups g ON g.bank_ref = c.bank_ref
    LEFT JOIN fallback_matches fm ON fm.payout_ref = y.ref
    LEFT JOIN fallback_suggestions fs ON fs.source = 'payout' AND fs.ref = y.ref
    LEFT JOIN windows w ON w.processor = y.processor
),
bank_state AS (
    SELECT b.source, b.ref, b.currency, b.amount_minor, b.item_date,
           CASE WHEN b.classification IN ('fee', 'interest') THEN 'explained'
                WHEN g.outcome IS NOT NULL THEN g.outcome
                WHEN fm.bank_ref IS NOT NULL THEN 'matched'
                WHEN fs.ref IS NOT NULL THEN 'bank_unmatched'   -- suggested; this break if rejected
                WHEN (SELECT day - bank_unmatched_days FROM params_row) <= b.item_date THEN 'pending'
                ELSE 'bank_unmatched' END,
           CASE WHEN b.classification IN ('fee', 'interest') THEN 'bank_' || b.classification
                WHEN g.outcome = 'matched' AND g.n = 1 THEN 'payout_reference'
                WHEN g.outcome = 'matched' THEN 'payout_reference_many'
                WHEN fm.bank_ref IS NOT NULL OR fs.ref IS NOT NULL THEN 'counterparty_amount' END,
           CASE WHEN g.outcome IS NOT NULL THEN 'bank:' || g.bank_ref
                WHEN fm.bank_ref IS NOT NULL THEN 'bank:' || b.ref
                WHEN fs.ref IS NOT NULL THEN 'suggest:bank:' || b.ref END,
           coalesce(g.matched_on, fm.matched_on),
           NULL,
           b.ref,
           CASE WHEN b.classification NOT IN ('fee', 'interest') OR b.classification IS NULL THEN fs.sugg END
    FROM bank_items b
    LEFT JOIN bank_groups g ON g.bank_ref = b.ref
    LEFT JOIN fallback_matches fm ON fm.bank_ref = b.ref
    LEFT JOIN fallback_suggestions fs ON fs.source = 'bank' AND fs.ref = b.ref
),
all_states AS (
    SELECT * FROM pair_state UNION ALL SELECT * FROM int_state UNION ALL SELECT * FROM proc_state
    UNION ALL SELECT * FROM payout_state UNION ALL SELECT * FROM bank_state
)
SELECT source, ref AS source_ref, currency, amount_minor, item_date,
       CASE WHEN sugg IS NOT NULL AND state NOT IN ('matched', 'explained', 'pending') THEN 'suggested'
            WHEN state IN ('matched', 'explained', 'pending') THEN state ELSE 'break' END AS status,
       CASE WHEN state NOT IN ('matched', 'explained', 'pending') THEN state END AS break_type,
       CASE WHEN state NOT IN ('matched', 'explained', 'pending')
            THEN substr(sha256(state || '|' || break_ref), 1, 16) END AS break_id,
       CASE WHEN state NOT IN ('matched', 'explained', 'pending') THEN break_ref END AS break_ref,
       rule, match_group, matched_on, coalesce(details, sugg) AS details
FROM all_states;
