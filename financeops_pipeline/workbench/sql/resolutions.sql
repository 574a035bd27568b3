-- name: manual_matches
-- The tenant's effective manual matches (approved, or applied when no approval was needed, and not undone by an
-- effective unmatch), one row per item. Parameters: tenant, day (resolutions made after the day do not apply).
SELECT p.proposal_id AS resolution_id, 'manual:' || p.proposal_id AS match_group,
       CASE p.action WHEN 'confirm_suggestion' THEN 'confirmed_suggestion' ELSE 'manual_match' END AS rule,
       i.value->>'source' AS source, i.value->>'source_ref' AS source_ref, i.value->>'currency' AS currency,
       (i.value->>'amount_minor')::bigint AS amount_minor, p.business_date AS effective_from
FROM workbench.effective_proposals p, jsonb_array_elements(p.payload->'items') AS i
WHERE p.tenant = %s AND p.business_date <= %s::date AND p.action IN ('match', 'confirm_suggestion')
ORDER BY 1, 4, 5;
-- name: accepted_breaks
-- Effective acceptances and write-offs (a write-off closes its break as written off), with the fingerprint of the
-- break's items when it was accepted: a break whose items have changed since is reopened.
SELECT p.proposal_id AS resolution_id, p.break_id,
       CASE p.action WHEN 'adjust' THEN 'written_off' ELSE p.payload->>'reason' END AS reason,
       (p.payload->>'until')::date AS until, p.business_date AS effective_from, p.payload->>'fingerprint' AS fingerprint
FROM workbench.effective_proposals p
WHERE p.tenant = %s AND p.business_date <= %s::date AND p.action IN ('accept', 'adjust') AND p.break_id IS NOT NULL
ORDER BY 1;
-- name: rejected_suggestions
SELECT p.proposal_id AS resolution_id, p.payload->>'match_group' AS match_group,
       i.value->>'source' AS source, i.value->>'source_ref' AS source_ref, p.business_date AS effective_from
FROM workbench.effective_proposals p, jsonb_array_elements(p.payload->'items') AS i
WHERE p.tenant = %s AND p.business_date <= %s::date AND p.action = 'reject_suggestion'
ORDER BY 1, 3, 4;
