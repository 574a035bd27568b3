-- Issue 15, rules as configuration: each match records the rule that made it (`rule`, already there) and that
-- rule's version from the tenant's rules file (reconciliation/rules). NULL for states no rule made (pending,
-- breaks, people's resolutions) and for rows written before.
ALTER TABLE recon.item_status ADD COLUMN IF NOT EXISTS rule_version text;
