-- Tolerance rules (issue 15, part 2), run after match.sql on what the reference and counterparty rules left:
-- two items that differ by no more than the rule allows match, with the difference recorded and an adjusting
-- entry for it (the `adjustments` table, posted to the ledger by reconciliation/adjusting.py).
-- Inputs: item_status, bank_items, payout_items (match.sql), windows, counterparty_patterns, tolerance_rules
-- (rule_id, rule_version, seq, pair, processor, currency, direction, abs_minor, pct, cap_minor, adjust_account,
-- counter_account; reconciliation/rules), params(day).
--
-- Allowed difference: greatest(abs_minor, least(pct % of the expected amount, cap_minor)), rounded down to the
-- minor unit; `direction` says which side may be short: below = the later side (processor, bank) is less than the
-- expected one (internal record, payout), above = more, both = either. The first rule (file order) that fits wins.
-- Outside every tolerance the items stay as match.sql left them: the break, with its per-field difference.

CREATE OR REPLACE TEMP MACRO tolerance_fits(t_direction, t_abs, t_pct, t_cap, expected, diff) AS
    (CASE t_direction WHEN 'below' THEN diff < 0 WHEN 'above' THEN diff > 0 ELSE diff <> 0 END)
    -- (DuckDB's least/greatest skip NULLs: no percent must mean no percent tolerance, not an unlimited one)
    AND abs(diff) <= greatest(t_abs, CASE WHEN t_pct IS NULL THEN 0
                                          ELSE least(floor(abs(expected) * t_pct / 100)::BIGINT,
                                                     coalesce(t_cap, 9223372036854775807)) END);

-- Groups a reference rule found but whose amounts differ (break amount_mismatch): payouts <-> their bank credit
-- (match group bank:<bank ref>), internal records <-> processor lines (match group ref:<processor>:<ref>:<kind>).
CREATE OR REPLACE TEMP TABLE tol_groups AS
WITH g AS (
    SELECT match_group,
           CASE WHEN match_group LIKE 'bank:%' THEN 'payout-bank' ELSE 'internal-processor' END AS pair,
           coalesce(sum(amount_minor) FILTER (WHERE source IN ('payout', 'internal')), 0) AS expected,
           coalesce(sum(amount_minor) FILTER (WHERE source IN ('bank', 'processor')), 0) AS actual,
           count(*) FILTER (WHERE source IN ('payout', 'internal')) AS n_expected,
           count(*) FILTER (WHERE source IN ('bank', 'processor')) AS n_actual,
           min(split_part(source_ref, ':', 1)) FILTER (WHERE source = 'payout') AS payout_processor,
           min(currency) AS currency, count(DISTINCT currency) AS currencies, max(matched_on) AS matched_on,
           min(source_ref) FILTER (WHERE source IN ('bank', 'internal')) AS carrier
    FROM item_status
    WHERE status = 'break' AND break_type = 'amount_mismatch' AND match_group IS NOT NULL
    GROUP BY match_group
)
SELECT g.match_group, g.pair, g.currency, g.expected, g.actual, g.matched_on, g.carrier,
       coalesce(g.payout_processor, split_part(g.match_group, ':', 2)) AS processor,
       t.rule_id, t.rule_version, t.adjust_account, t.counter_account
FROM g JOIN tolerance_rules t
  ON t.pair = g.pair AND t.processor = coalesce(g.payout_processor, split_part(g.match_group, ':', 2))
 AND (t.currency IS NULL OR t.currency = g.currency)
WHERE g.currencies = 1 AND g.n_expected > 0 AND g.n_actual > 0
  AND tolerance_fits(t.direction, t.abs_minor, t.pct, t.cap_minor, g.expected, g.actual - g.expected)
QUALIFY row_number() OVER (PARTITION BY g.match_group ORDER BY t.seq) = 1;

-- A bank credit without the payout's reference that is short of exactly one open payout by a tolerated
-- difference (its counterparty matching the processor's pattern, within the payout's bank window), and that
-- payout has no other such credit: matched. Several candidates: suggested (below).
CREATE OR REPLACE TEMP TABLE tol_fallback AS
SELECT b.ref AS bank_ref, y.ref AS payout_ref, y.processor, y.currency, y.amount_minor AS expected,
       b.amount_minor AS actual, greatest(b.item_date, y.item_date) AS matched_on,
       t.rule_id, t.rule_version, t.adjust_account, t.counter_account
FROM bank_items b
JOIN item_status sb ON sb.source = 'bank' AND sb.source_ref = b.ref
 AND (sb.status = 'pending' OR (sb.status = 'break' AND sb.break_type = 'bank_unmatched'))
JOIN payout_items y ON y.currency = b.currency AND (b.processor IS NULL OR b.processor = y.processor)
 AND b.booking_date BETWEEN y.payout_date
     AND y.payout_date + (SELECT max(bank_days) FROM windows w WHERE w.processor = y.processor)::INTEGER
JOIN item_status sy ON sy.source = 'payout' AND sy.source_ref = y.ref
 AND (sy.status = 'pending' OR (sy.status = 'break' AND sy.break_type = 'payout_not_in_bank'))
JOIN counterparty_patterns c ON c.processor = y.processor AND regexp_matches(b.text_all, c.pattern)
JOIN tolerance_rules t ON t.pair = 'payout-bank' AND t.processor = y.processor
 AND (t.currency IS NULL OR t.currency = y.currency)
WHERE b.amount_minor > 0 AND b.classification IN ('payout', 'other')
  AND tolerance_fits(t.direction, t.abs_minor, t.pct, t.cap_minor, y.amount_minor, b.amount_minor - y.amount_minor)
QUALIFY row_number() OVER (PARTITION BY b.ref, y.ref ORDER BY t.seq) = 1;

CREATE OR REPLACE TEMP TABLE tol_matches AS
SELECT 'bank:' || bank_ref AS match_group, 'payout-bank' AS pair, currency, expected, actual, matched_on,
       bank_ref AS carrier, processor, rule_id, rule_version, adjust_account, counter_account, bank_ref, payout_ref
FROM tol_fallback
QUALIFY count(*) OVER (PARTITION BY bank_ref) = 1 AND count(*) OVER (PARTITION BY payout_ref) = 1
UNION ALL BY NAME
SELECT *, NULL AS bank_ref, NULL AS payout_ref FROM tol_groups;

-- Several credits within tolerance of one payout (or several payouts of one credit): never a guess. The open
-- items concerned are `suggested` (as the counterparty rule's), naming their candidates, each keeping the break
-- it would otherwise be, until a later day makes it unique or a person confirms (with the adjusting account) or
-- rejects one. A pending item stays pending.
CREATE OR REPLACE TEMP TABLE tol_suggestions AS
WITH open AS (
    SELECT * FROM tol_fallback
    WHERE bank_ref NOT IN (SELECT bank_ref FROM tol_matches WHERE bank_ref IS NOT NULL)
      AND payout_ref NOT IN (SELECT payout_ref FROM tol_matches WHERE payout_ref IS NOT NULL)
)
SELECT 'payout' AS source, payout_ref AS ref, min(rule_id) AS rule_id,
       to_json({'rule': min(rule_id), 'candidates': list({'source': 'bank', 'source_ref': bank_ref} ORDER BY bank_ref),
                'score': round(1.0 / count(*), 4)}) AS sugg
FROM open GROUP BY payout_ref
UNION ALL
SELECT 'bank', bank_ref, min(rule_id),
       to_json({'rule': min(rule_id), 'candidates': list({'source': 'payout', 'source_ref': payout_ref} ORDER BY payout_ref),
                'score': round(1.0 / count(*), 4)})
FROM open GROUP BY bank_ref;

UPDATE item_status s
SET status = 'suggested', rule = t.rule_id, match_group = 'suggest:' || t.source || ':' || t.ref, details = t.sugg
FROM tol_suggestions t
WHERE s.source = t.source AND s.source_ref = t.ref AND s.status = 'break' AND s.break_id IS NOT NULL
  AND s.break_type IN ('bank_unmatched', 'payout_not_in_bank');

-- The adjusting entry of each tolerated difference: the expected amount minus what arrived, debited to the
-- rule's account (a bank credit 25.00 short of its payout: bank fees 25.00 against cash in transit).
CREATE OR REPLACE TEMP TABLE adjustments AS
SELECT 'recon:' || rule_id || ':' || match_group AS idempotency_key, rule_id, rule_version, match_group,
       currency, expected - actual AS amount_minor, adjust_account,
       replace(counter_account, '{processor}', processor) AS counter_account, processor, matched_on,
       CASE pair WHEN 'payout-bank' THEN 'bank' ELSE 'internal' END AS carrier_source, carrier AS carrier_ref,
       pair || ' difference of ' || CAST(actual - expected AS VARCHAR) || ' minor units taken by rule ' || rule_id
           AS description
FROM tol_matches;

-- The items of each tolerated match (the group's items, or the credit and the payout the fallback paired), each
-- by an equality join: an OR of join conditions would compare every item with every match.
CREATE OR REPLACE TEMP TABLE tol_items AS
SELECT s.source, s.source_ref, m.* EXCLUDE (bank_ref, payout_ref)
FROM tol_matches m JOIN item_status s ON s.match_group = m.match_group AND s.status = 'break'
WHERE m.bank_ref IS NULL
UNION ALL
SELECT 'bank', bank_ref, * EXCLUDE (bank_ref, payout_ref) FROM tol_matches WHERE bank_ref IS NOT NULL
UNION ALL
SELECT 'payout', payout_ref, * EXCLUDE (bank_ref, payout_ref) FROM tol_matches WHERE bank_ref IS NOT NULL;

UPDATE item_status s
SET status = 'matched', break_type = NULL, break_id = NULL, break_ref = NULL, rule = m.rule_id,
    match_group = m.match_group, matched_on = m.matched_on,
    details = json_object('field', 'amount_minor', 'expected', m.expected, 'actual', m.actual,
                          'difference', m.actual - m.expected, 'rule', m.rule_id, 'rule_version', m.rule_version,
                          'adjust_account', m.adjust_account,
                          -- how close: 1 - |difference| / expected (1 would be exact, the reference rules' case)
                          'score', round(1 - abs(m.actual - m.expected) / greatest(abs(m.expected), 1), 4))
FROM tol_items m
WHERE s.source = m.source AND s.source_ref = m.source_ref
  AND s.status IN ('pending', 'break') AND s.break_type IS DISTINCT FROM 'duplicate';   -- not a repeat of the ref
