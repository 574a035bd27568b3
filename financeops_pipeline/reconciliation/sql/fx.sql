-- FX rule (issue 15, part 4), run after match.sql and tolerance.sql: a processor line whose gross was paid in
-- another currency than it settles in matches its internal record in the charge currency, with the processor's
-- own rate, exactly as the file gives it. Never a cross-currency match without a rate from the data.
-- Inputs: item_status (match.sql: such a pair is a currency_mismatch of one processor-reference group),
-- processor_src (the lines' gross_currency, gross_gc_minor, exchange_rate: migration 0035, the parsers),
-- fx_rules(rule_id, rule_version, seq, processor, max_rounding_minor, adjust_account, counter_account),
-- currency_units(currency, unit = 10^exponent), adjustments (tolerance.sql).
--
-- The group matches when every processor line of it names the internal currency as its gross currency and has a
-- rate, their gross in that currency adds up to the internal records exactly, and each line's rate turns its
-- charge amount into its settlement amount within max_rounding_minor of the settlement currency (exact decimal
-- arithmetic: settlement * unit(charge) vs charge * rate * unit(settlement)).

-- Only lines with an FX gross are read (a few of a day), each line once (a line delivered twice is a duplicate).
CREATE OR REPLACE TEMP TABLE fx_lines AS
WITH l AS (
    SELECT processor, line_id, gross_currency, gross_gc_minor, exchange_rate FROM processor_src
    WHERE gross_currency IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY processor, line_id ORDER BY business_date) = 1
)
SELECT s.source_ref, s.match_group, s.currency AS settlement_currency, s.amount_minor AS settlement_minor,
       upper(l.gross_currency) AS charge_currency, abs(l.gross_gc_minor) AS charge_minor,
       CAST(l.exchange_rate AS DECIMAL(38, 18)) AS rate,
       regexp_replace(CAST(CAST(l.exchange_rate AS DECIMAL(38, 18)) AS VARCHAR), '\.?0+$', '') AS rate_text,
       l.processor || CASE l.processor WHEN 'adyen' THEN ' Exchange Rate' ELSE ' exchange_rate' END
           || ' of line ' || l.line_id AS rate_source,
       abs(s.amount_minor)::DECIMAL(38, 0) * cu_c.unit
           - abs(l.gross_gc_minor)::DECIMAL(38, 0) * CAST(l.exchange_rate AS DECIMAL(38, 18)) * cu_s.unit
           AS scaled_difference,
       cu_c.unit AS charge_unit
FROM item_status s
JOIN l ON s.source_ref = l.processor || ':' || l.line_id
LEFT JOIN currency_units cu_c ON cu_c.currency = upper(l.gross_currency)
LEFT JOIN currency_units cu_s ON cu_s.currency = s.currency
WHERE s.source = 'processor' AND s.status = 'break' AND s.break_type = 'currency_mismatch';

CREATE OR REPLACE TEMP TABLE fx_matches AS
WITH i AS (
    SELECT match_group, min(currency) AS currency, count(DISTINCT currency) AS currencies,
           sum(amount_minor) AS charge_minor, min(source_ref) AS carrier, max(matched_on) AS matched_on
    FROM item_status
    WHERE source = 'internal' AND status = 'break' AND break_type = 'currency_mismatch' GROUP BY match_group
),
p AS (
    SELECT match_group, min(settlement_currency) AS settlement_currency,
           count(DISTINCT settlement_currency) AS settlement_currencies, sum(settlement_minor) AS settlement_minor,
           sum(charge_minor) AS charge_minor, count(*) AS n,
           count(*) FILTER (WHERE rate IS NULL OR rate <= 0 OR charge_minor IS NULL OR charge_unit IS NULL) AS no_rate,
           min(charge_currency) AS charge_currency, count(DISTINCT charge_currency) AS charge_currencies,
           max(abs(scaled_difference) / charge_unit) AS worst_rounding
    FROM fx_lines GROUP BY match_group
)
SELECT i.match_group, split_part(i.match_group, ':', 2) AS processor,
       CASE WHEN i.match_group LIKE '%:charge' THEN 1 ELSE -1 END AS sign,
       i.currency AS charge_currency, i.charge_minor, p.settlement_currency, p.settlement_minor, i.carrier,
       i.matched_on, f.rule_id, f.rule_version, f.adjust_account, f.counter_account
FROM i JOIN p USING (match_group)
JOIN fx_rules f ON f.processor = split_part(i.match_group, ':', 2)
WHERE i.currencies = 1 AND p.settlement_currencies = 1 AND p.charge_currencies = 1 AND p.no_rate = 0
  AND p.charge_currency = i.currency AND p.charge_minor = i.charge_minor
  AND p.worst_rounding <= f.max_rounding_minor
QUALIFY row_number() OVER (PARTITION BY i.match_group ORDER BY f.seq) = 1;

-- The conversion, through the rule's FX account: the charge currency's receivable cleared, the settlement
-- currency's taken up (one balanced entry per currency; the FX account carries the position between them).
INSERT INTO adjustments BY NAME
SELECT 'recon:' || rule_id || ':' || match_group || ':' || leg AS idempotency_key, rule_id, rule_version,
       match_group, currency, amount_minor, adjust_account,
       replace(counter_account, '{processor}', processor) AS counter_account, processor, matched_on,
       'internal' AS carrier_source, carrier AS carrier_ref,
       'FX ' || leg || ' leg of ' || match_group || ' by rule ' || rule_id AS description
FROM (SELECT m.*, g.leg, CASE g.leg WHEN 'charge' THEN charge_currency ELSE settlement_currency END AS currency,
             CASE g.leg WHEN 'charge' THEN sign * charge_minor ELSE -sign * settlement_minor END AS amount_minor
      FROM fx_matches m CROSS JOIN (VALUES ('charge'), ('settlement')) g(leg));

UPDATE item_status s
SET status = 'matched', break_type = NULL, break_id = NULL, break_ref = NULL, rule = m.rule_id,
    details = json_object('fx', json_object(
        'charge_currency', m.charge_currency, 'charge_amount_minor', m.charge_minor,
        'settlement_currency', m.settlement_currency, 'settlement_amount_minor', m.settlement_minor,
        'rate', l.rate_text, 'rate_source', l.rate_source, 'rule', m.rule_id, 'rule_version', m.rule_version))
FROM fx_matches m LEFT JOIN fx_lines l ON l.match_group = m.match_group AND l.source_ref = (
    SELECT min(source_ref) FROM fx_lines x WHERE x.match_group = m.match_group)
WHERE s.match_group = m.match_group AND s.status = 'break' AND s.break_type = 'currency_mismatch';

-- Each processor line keeps its own rate and source.
UPDATE item_status s
SET details = json_merge_patch(s.details, json_object('fx', json_merge_patch(json_extract(s.details, '$.fx'),
              json_object('rate', l.rate_text, 'rate_source', l.rate_source))))
FROM fx_lines l
WHERE s.source = 'processor' AND s.source_ref = l.source_ref AND s.rule IN (SELECT rule_id FROM fx_rules);
