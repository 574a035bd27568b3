-- After people's resolutions (apply_resolutions.sql): a suggested item none of whose candidates is still open (a
-- person confirmed another item with them, or a later rule matched them) is no longer suggested but the break of
-- its own type, saying so. Inputs: item_status.
CREATE OR REPLACE TEMP TABLE suggestion_candidates AS
WITH c AS (
    SELECT source, source_ref,
           unnest(from_json(json_extract(details, '$.candidates'), '[{"source": "VARCHAR", "source_ref": "VARCHAR"}]'))
               AS cand
    FROM item_status WHERE status = 'suggested'
)
SELECT c.source, c.source_ref, count(*) FILTER (WHERE t.status IS DISTINCT FROM 'matched') AS still_open
FROM c LEFT JOIN item_status t ON t.source = c.cand.source AND t.source_ref = c.cand.source_ref
GROUP BY c.source, c.source_ref;

UPDATE item_status s
SET status = 'break', details = json_merge_patch(s.details, json_object('candidates_matched_elsewhere', true))
FROM suggestion_candidates c
WHERE c.source = s.source AND c.source_ref = s.source_ref AND c.still_open = 0 AND s.status = 'suggested'
  AND s.break_id IS NOT NULL;

-- The fallback rule's score (issue 15: "matched, with the rule's name and a score"): amount, currency, window and
-- counterparty all hold, so it is 1 for the only candidate and 1/n for each of n candidates of a suggestion.
UPDATE item_status s
SET details = json_merge_patch(coalesce(s.details, '{}'::JSON),
              json_object('rule', s.rule, 'score',
                          CASE WHEN s.status = 'suggested'
                               THEN round(1.0 / greatest(json_array_length(json_extract(s.details, '$.candidates')), 1), 4)
                               ELSE 1.0 END))
WHERE s.rule = 'counterparty_amount' AND s.status IN ('matched', 'suggested');
