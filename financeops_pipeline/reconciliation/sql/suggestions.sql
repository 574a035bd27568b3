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
