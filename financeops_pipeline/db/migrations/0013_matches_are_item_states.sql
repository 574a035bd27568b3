-- A matched item was written twice per day: once in recon.item_status and once in recon.matches, with the
-- same source, ref, currency, amount and rule. On a 1M-transaction day that was 4M rows instead of 2M, and
-- the write-back is the reconciliation's slowest step. The match group and match day are now columns of
-- recon.item_status, and recon.matches is a view of its matched rows: the same rows as before, written once.
--
-- So that the view keeps every match, a day's item states now also hold the earlier items matched that day
-- (pending the day before, their counterpart arrived): item_date < business_date, status 'matched'.
ALTER TABLE recon.item_status
    ADD COLUMN match_group text,    -- one id per one-to-one / one-to-many / many-to-one match
    ADD COLUMN matched_on  date;    -- the day the match was made (both sides present)

-- Carry the matches already written over to the rows they describe.
UPDATE recon.item_status s
SET match_group = m.match_group, matched_on = m.business_date
FROM recon.matches m
WHERE m.tenant = s.tenant AND m.business_date = s.business_date AND m.source = s.source
  AND m.source_ref = s.source_ref AND s.status = 'matched';

-- Matches of earlier items had no state row that day: add one, dated by the item's last earlier state.
INSERT INTO recon.item_status (tenant, business_date, source, source_ref, currency, amount_minor, item_date,
                               status, rule, match_group, matched_on)
SELECT m.tenant, m.business_date, m.source, m.source_ref, m.currency, m.amount_minor,
       coalesce(earlier.item_date, m.business_date), 'matched', m.rule, m.match_group, m.business_date
FROM recon.matches m
LEFT JOIN LATERAL (
    SELECT e.item_date FROM recon.item_status e
    WHERE e.tenant = m.tenant AND e.source = m.source AND e.source_ref = m.source_ref
      AND e.business_date < m.business_date
    ORDER BY e.business_date DESC LIMIT 1
) earlier ON true
WHERE NOT EXISTS (SELECT 1 FROM recon.item_status s
                  WHERE s.tenant = m.tenant AND s.business_date = m.business_date AND s.source = m.source
                    AND s.source_ref = m.source_ref);

DROP TABLE recon.matches;

-- security_invoker: the reader's own row-level security applies, so a tenant sees only its matches.
CREATE VIEW recon.matches WITH (security_invoker = true) AS
SELECT tenant, business_date, match_group, rule, source, source_ref, currency, amount_minor
FROM recon.item_status
WHERE status = 'matched' AND matched_on = business_date;
GRANT SELECT ON recon.matches TO financeops_tenant;

-- The day's own states: its items, and earlier ones still pending or in a break (what the day's reports count;
-- the earlier items matched that day are that day's matches, above). Written as NOT (... AND ...): the planner
-- estimated the equivalent "status <> 'matched' OR item_date = business_date" at one row in a hundred, and
-- then sorted millions of rows to disk instead of hashing them into a few groups.
CREATE VIEW recon.day_item_states WITH (security_invoker = true) AS
SELECT * FROM recon.item_status
WHERE NOT (status = 'matched' AND item_date < business_date);
GRANT SELECT ON recon.day_item_states TO financeops_tenant;
