-- name: day_breaks
-- The open breaks of a tenant-day with what people did to them: assignee (latest assignment), the proposal
-- waiting for approval, whether the reconciliation reopened it (a resolution that no longer fits).
-- The reopened breaks are found in one scan of the day's items, not per break: right after a close the day's
-- breaks have no statistics yet, the planner expects one, and a per-break subquery scanned the day's items once
-- for each of them (33 s for 8,788 breaks over 12,750 items; 0.2 s this way).
-- Parameters: %(tenant)s, %(day)s.
WITH reopened AS MATERIALIZED (
    SELECT DISTINCT s.break_id FROM recon.item_status s
    WHERE s.tenant = %(tenant)s AND s.business_date = %(day)s AND s.status = 'break' AND s.details ? 'reopened'
)
SELECT b.break_id, b.break_type, b.source, b.source_ref, b.currency::text AS currency, b.amount_minor,
       b.first_seen, (%(day)s::date - b.first_seen) AS age_days, b.lifecycle, b.details::text AS details,
       a.after->>'assignee' AS assignee,
       w.proposal_id AS waiting_proposal, w.action AS waiting_action,
       r.break_id IS NOT NULL AS reopened
FROM recon.breaks b
LEFT JOIN reopened r ON r.break_id = b.break_id
LEFT JOIN LATERAL (
    SELECT e.after FROM workbench.events e
    WHERE e.tenant = b.tenant AND e.break_id = b.break_id AND e.kind = 'assigned'
    ORDER BY e.event_id DESC LIMIT 1
) a ON true
LEFT JOIN LATERAL (
    SELECT p.proposal_id, p.action FROM workbench.proposals p
    WHERE p.tenant = b.tenant AND p.break_id = b.break_id
      AND NOT EXISTS (SELECT 1 FROM workbench.decisions d WHERE d.proposal_id = p.proposal_id)
    ORDER BY p.proposal_id DESC LIMIT 1
) w ON true
WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND b.lifecycle <> 'resolved'
ORDER BY b.first_seen, b.break_type, b.source_ref;
-- name: break_on_day
-- One break as of a day, open or resolved. Parameters: %(tenant)s, %(day)s, %(break_id)s.
SELECT b.break_id, b.break_type, b.source, b.source_ref, b.currency::text AS currency, b.amount_minor,
       b.first_seen, b.age_days, b.lifecycle, b.details::text AS details, b.business_date
FROM recon.breaks b
WHERE b.tenant = %(tenant)s AND b.business_date = %(day)s AND b.break_id = %(break_id)s;
-- name: break_items
-- The items of a break on a day (every state: an accepted break's items are explained).
SELECT s.source, s.source_ref, s.currency::text AS currency, s.amount_minor, s.item_date, s.status, s.rule,
       s.match_group, s.break_type, s.details::text AS details
FROM recon.item_status s
WHERE s.tenant = %(tenant)s AND s.business_date = %(day)s AND s.break_id = %(break_id)s
ORDER BY s.source, s.source_ref;
-- name: open_items
-- Items of the day nobody has matched yet (candidates for a manual match), optionally of one currency.
SELECT s.source, s.source_ref, s.currency::text AS currency, s.amount_minor, s.item_date, s.status, s.break_id,
       s.break_type, s.match_group, s.details::text AS details
FROM recon.item_status s
WHERE s.tenant = %(tenant)s AND s.business_date = %(day)s AND s.status NOT IN ('matched', 'explained')
  AND (%(currency)s::text IS NULL OR s.currency = %(currency)s::text)
ORDER BY s.source, s.source_ref;
-- name: items_by_ref
-- Given items of the day, whatever their state. %(refs)s: 'source|source_ref' texts.
SELECT s.source, s.source_ref, s.currency::text AS currency, s.amount_minor, s.item_date, s.status, s.break_id,
       s.break_type, s.match_group, s.details::text AS details
FROM recon.item_status s
WHERE s.tenant = %(tenant)s AND s.business_date = %(day)s AND s.source || '|' || s.source_ref = ANY (%(refs)s)
ORDER BY s.source, s.source_ref;
-- name: records
-- The imported records behind items, by the references the reconciliation gives them (within the lookback).
-- %(refs)s: 'source|source_ref' texts; %(since)s the first day to look in.
SELECT 'internal' AS source, t.transaction_id AS source_ref, to_jsonb(t) - 'tenant' AS record
FROM imports.internal_transactions t
WHERE t.tenant = %(tenant)s AND t.business_date BETWEEN %(since)s AND %(day)s
  AND 'internal|' || t.transaction_id = ANY (%(refs)s)
UNION ALL
SELECT 'processor', t.processor || ':' || t.line_id,
       to_jsonb(t) - 'tenant' || jsonb_build_object('extra', t.extra::jsonb)   -- extra: JSON text (migration 0095)
FROM imports.processor_lines t
WHERE t.tenant = %(tenant)s AND t.business_date BETWEEN %(since)s AND %(day)s
  AND 'processor|' || t.processor || ':' || t.line_id = ANY (%(refs)s)
UNION ALL
SELECT 'payout', t.processor || ':' || t.payout_id, to_jsonb(t) - 'tenant' || jsonb_build_object('extra', t.extra::jsonb)
FROM imports.processor_lines t
WHERE t.tenant = %(tenant)s AND t.business_date BETWEEN %(since)s AND %(day)s AND t.category = 'payout'
  AND 'payout|' || t.processor || ':' || t.payout_id = ANY (%(refs)s)
UNION ALL
SELECT 'bank', t.account_id || ':' || coalesce(t.acct_svcr_ref, f.sha256 || ':' || t.source_position),
       to_jsonb(t) - 'tenant'
FROM imports.bank_lines t JOIN imports.files f ON f.tenant = t.tenant AND f.file_id = t.file_id
WHERE t.tenant = %(tenant)s AND t.business_date BETWEEN %(since)s AND %(day)s
  AND 'bank|' || t.account_id || ':' || coalesce(t.acct_svcr_ref, f.sha256 || ':' || t.source_position)
      = ANY (%(refs)s);
-- name: internal_processor
SELECT processor FROM imports.internal_transactions
WHERE tenant = %(tenant)s AND transaction_id = %(ref)s AND business_date BETWEEN %(since)s AND %(day)s LIMIT 1;
-- name: break_days
-- A break's state on every day the reconciliation saw it (its lifecycle and details, reopen reasons included).
SELECT b.business_date, b.lifecycle, b.amount_minor, b.currency::text AS currency, b.age_days,
       b.details::text AS details
FROM recon.breaks b WHERE b.tenant = %(tenant)s AND b.break_id = %(break_id)s ORDER BY b.business_date;
-- name: history
-- Every event of a break, oldest first, with the proposal it concerns.
SELECT e.event_id, e.business_date, e.kind, e.actor_name, e.at, e.proposal_id, p.action,
       e.before::text AS before, e.after::text AS after, e.note
FROM workbench.events e LEFT JOIN workbench.proposals p ON p.proposal_id = e.proposal_id
WHERE e.tenant = %(tenant)s AND e.break_id = %(break_id)s ORDER BY e.event_id;
-- name: proposals_of_break
SELECT p.proposal_id, p.business_date, p.action, p.payload::text AS payload, p.currency::text AS currency,
       p.amount_minor, p.posts_entry, p.needs_approval, p.proposed_by, p.proposed_at, p.note,
       d.decision, d.decided_by, d.decided_at, d.note AS decision_note, d.booked_on, d.entry_key
FROM workbench.proposals p LEFT JOIN workbench.decisions d USING (proposal_id)
WHERE p.tenant = %(tenant)s AND p.break_id = %(break_id)s ORDER BY p.proposal_id;
-- name: waiting_approvals
-- Proposals that need a second person and have no decision yet, other than the reader's own.
SELECT p.proposal_id, p.business_date, p.break_id, p.action, p.payload::text AS payload,
       p.currency::text AS currency, p.amount_minor, p.posts_entry, p.proposed_at, p.note,
       (SELECT e.actor_name FROM workbench.events e WHERE e.proposal_id = p.proposal_id AND e.kind = 'proposed'
        ORDER BY e.event_id LIMIT 1) AS proposed_by_name, p.proposed_by
FROM workbench.proposals p
WHERE p.tenant = %(tenant)s AND p.needs_approval
  AND NOT EXISTS (SELECT 1 FROM workbench.decisions d WHERE d.proposal_id = p.proposal_id)
ORDER BY p.proposal_id;
-- name: proposal
SELECT p.proposal_id, p.tenant, p.business_date, p.break_id, p.action, p.payload::text AS payload,
       p.currency::text AS currency, p.amount_minor, p.posts_entry, p.needs_approval, p.proposed_by, p.note,
       d.decision
FROM workbench.proposals p LEFT JOIN workbench.decisions d USING (proposal_id)
WHERE p.tenant = %(tenant)s AND p.proposal_id = %(proposal_id)s;
-- name: matched_items
-- Items that an effective manual match already holds (an item is in one match at a time).
SELECT i.value->>'source' || '|' || (i.value->>'source_ref') AS ref, p.proposal_id
FROM workbench.effective_proposals p, jsonb_array_elements(p.payload->'items') AS i
WHERE p.tenant = %(tenant)s AND p.action IN ('match', 'confirm_suggestion');
-- name: signoff
SELECT s.business_date, s.signed_by, s.signed_at, s.note, s.summary::text AS summary,
       (SELECT e.actor_name FROM workbench.events e WHERE e.tenant = s.tenant AND e.kind = 'signed_off'
          AND e.business_date = s.business_date ORDER BY e.event_id LIMIT 1) AS signed_by_name
FROM workbench.day_signoffs s WHERE s.tenant = %(tenant)s AND s.business_date = %(day)s;
-- name: reconciled_days
-- Days of the tenant the reconciliation has results for, from a day on (re-run after a resolution).
SELECT business_date FROM recon.runs WHERE tenant = %(tenant)s AND business_date >= %(day)s ORDER BY 1;
-- name: break_item_days
-- The states of a break's items day by day (a break closed on the day it appeared has no breaks row).
SELECT s.business_date, string_agg(DISTINCT s.status || coalesce(' (' || s.rule || ')', ''), ', ') AS states,
       count(*) AS items
FROM recon.item_status s WHERE s.tenant = %(tenant)s AND s.break_id = %(break_id)s
GROUP BY s.business_date ORDER BY s.business_date;
