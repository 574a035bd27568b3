-- People's resolutions, applied to the engine's item states after match.sql and before breaks.sql (DuckDB).
-- Inputs (Arrow, from the workbench; workbench/sql/resolutions.sql): manual_matches(resolution_id, match_group,
-- rule, source, source_ref, currency, amount_minor, effective_from), accepted_breaks(resolution_id, break_id,
-- reason, until, effective_from, fingerprint), rejected_suggestions(resolution_id, match_group, source, source_ref,
-- effective_from); params(day). Same inputs and same resolutions give the same states.
--
-- A resolution holds only while the items it was made on are as they were. When a new file changed them, it does
-- not apply, and the items' details say why ("reopened"), so the break comes back with its reason.

-- Manual matches in force on the day. An item of the match that is no longer in the window is simply absent;
-- one that is present must have the amount and currency it was matched with, and still be unmatched.
CREATE OR REPLACE TEMP TABLE manual_fit AS
WITH m AS (SELECT * FROM manual_matches WHERE effective_from <= (SELECT day FROM params)),
checked AS (
    SELECT m.resolution_id, m.match_group, m.rule, m.source, m.source_ref, m.effective_from,
           s.source IS NOT NULL AS present,
           CASE WHEN s.source IS NULL THEN NULL
                WHEN s.status IN ('matched', 'explained') THEN
                    m.source || ' ' || m.source_ref || ' is now ' || s.status || ' by rule ' || coalesce(s.rule, '?')
                WHEN s.currency <> m.currency OR s.amount_minor <> m.amount_minor THEN
                    m.source || ' ' || m.source_ref || ' was ' || m.amount_minor || ' ' || m.currency || ', now '
                    || s.amount_minor || ' ' || s.currency
           END AS changed
    FROM m LEFT JOIN (SELECT source, source_ref, status, rule, currency, amount_minor FROM item_status
                      UNION ALL   -- the plain 1:1 matches (match.sql)
                      SELECT source, source_ref, status, rule, currency, amount_minor FROM plain_pair_states) s
           ON s.source = m.source AND s.source_ref = m.source_ref
)
SELECT *, string_agg(changed, '; ') FILTER (WHERE changed IS NOT NULL) OVER (PARTITION BY resolution_id) AS why
FROM checked;

UPDATE item_status s
SET status = 'matched', break_id = NULL, break_type = NULL, rule = f.rule, match_group = f.match_group,
    matched_on = f.effective_from, details = json_object('resolution', f.resolution_id, 'kind', f.rule)
FROM manual_fit f
WHERE f.present AND f.why IS NULL AND s.source = f.source AND s.source_ref = f.source_ref
  AND s.status NOT IN ('matched', 'explained');

UPDATE item_status s
SET details = json_merge_patch(coalesce(s.details, '{}'::JSON),
                               json_object('reopened', json_object('resolution', f.resolution_id, 'kind', f.rule,
                                                                   'why', f.why)))
FROM manual_fit f
WHERE f.present AND f.why IS NOT NULL AND s.source = f.source AND s.source_ref = f.source_ref
  AND s.status NOT IN ('matched', 'explained');

-- A rejected suggestion: the item is not matched to that candidate; it is a break of its own type again.
UPDATE item_status s
SET status = 'break',
    details = json_merge_patch(coalesce(s.details, '{}'::JSON),
                               json_object('suggestion_rejected', json_object('resolution', r.resolution_id,
                                                                              'match_group', r.match_group)))
FROM rejected_suggestions r
WHERE r.effective_from <= (SELECT day FROM params) AND s.status = 'suggested'
  AND s.source = r.source AND s.source_ref = r.source_ref AND s.match_group IS NOT DISTINCT FROM r.match_group
  AND s.break_id IS NOT NULL;

-- Accepted breaks (and written-off ones): the latest acceptance of each break in force on the day. Its items are
-- explained while they are the items it was accepted with and the day is within `until`.
CREATE OR REPLACE TEMP TABLE accepted_fit AS
WITH a AS (
    SELECT * FROM accepted_breaks WHERE effective_from <= (SELECT day FROM params)
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY resolution_id DESC) = 1
),
now AS (
    SELECT break_id, string_agg(source || '|' || source_ref || '|' || currency || '|' || CAST(amount_minor AS VARCHAR),
                                ';' ORDER BY source, source_ref) AS fingerprint
    FROM item_status WHERE status = 'break' AND break_id IN (SELECT break_id FROM a) GROUP BY break_id
)
SELECT a.resolution_id, a.break_id, a.reason, a.until,
       CASE WHEN a.until IS NOT NULL AND (SELECT day FROM params) > a.until THEN
                'accepted (' || a.reason || ') until ' || CAST(a.until AS VARCHAR)
            WHEN now.fingerprint <> a.fingerprint THEN
                'the break''s items changed since it was accepted (' || a.reason || '): were ' || a.fingerprint
                || ', now ' || now.fingerprint
       END AS why
FROM a JOIN now USING (break_id);

UPDATE item_status s
SET status = 'explained', rule = CASE f.reason WHEN 'written_off' THEN 'written_off' ELSE 'accepted' END,
    details = json_merge_patch(coalesce(s.details, '{}'::JSON),
                               json_object('accepted', json_object('resolution', f.resolution_id, 'reason', f.reason,
                                                                   'until', f.until)))
FROM accepted_fit f
WHERE f.why IS NULL AND s.break_id = f.break_id AND s.status = 'break';

UPDATE item_status s
SET details = json_merge_patch(coalesce(s.details, '{}'::JSON),
                               json_object('reopened', json_object('resolution', f.resolution_id, 'kind', 'accepted',
                                                                   'why', f.why)))
FROM accepted_fit f
WHERE f.why IS NOT NULL AND s.break_id = f.break_id AND s.status = 'break';
