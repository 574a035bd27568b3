-- Breaks of the day with their lifecycle. Inputs: item_status (match.sql), prev_breaks (the open breaks
-- of the previous day from Postgres), params(day). A break is reported on the item whose ref it carries.
CREATE OR REPLACE TEMP TABLE day_breaks AS
WITH today AS (
    SELECT break_id, any_value(break_type) AS break_type,
           coalesce(max(source) FILTER (WHERE source_ref = break_ref), min(source)) AS source,
           any_value(break_ref) AS source_ref,
           coalesce(max(currency) FILTER (WHERE source_ref = break_ref), min(currency)) AS currency,
           coalesce(max(amount_minor) FILTER (WHERE source_ref = break_ref), max(amount_minor)) AS amount_minor,
           min(item_date) AS item_date,
           any_value(details) FILTER (WHERE details IS NOT NULL) AS details
    FROM item_status WHERE status = 'break' GROUP BY break_id
)
SELECT t.break_id, t.break_type, t.source, t.source_ref, t.currency, t.amount_minor,
       coalesce(p.first_seen, (SELECT day FROM params)) AS first_seen,
       CASE WHEN p.break_id IS NULL THEN 'new' ELSE 'persisting' END AS lifecycle,
       t.details
FROM today t LEFT JOIN prev_breaks p USING (break_id)
UNION ALL
SELECT p.break_id, p.break_type, p.source, p.source_ref, p.currency, p.amount_minor, p.first_seen,
       'resolved', p.details
FROM prev_breaks p WHERE p.break_id NOT IN (SELECT break_id FROM today);
