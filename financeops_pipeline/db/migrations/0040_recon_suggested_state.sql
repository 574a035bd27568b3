-- Issue 15: an item may be `suggested` (the fallback rule found several candidates: neither a match nor a
-- break, its candidates in details, until a later day makes it unique or a person confirms or rejects one).
ALTER TABLE recon.item_status DROP CONSTRAINT IF EXISTS item_status_status_check;
ALTER TABLE recon.item_status ADD CONSTRAINT item_status_status_check
    CHECK (status IN ('matched', 'explained', 'pending', 'suggested', 'break'));
