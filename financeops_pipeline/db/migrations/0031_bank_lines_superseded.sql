-- Bank lines not booked yet (camt.052 intraday, camt.054 notifications, MT942, pending entries) that a booked
-- statement has superseded, and from which business day on (#14a). Written by the import that brings either
-- side (imports/sql/bank_superseded.sql), read by the reconciliation's bank items (a superseded line is no
-- item from `superseded_on` on) and by the conservation check (a line superseded on its own day is no input of
-- that day). Derived data: a later import may only move `superseded_on` earlier (a backfilled file).
CREATE TABLE imports.bank_superseded (
    tenant          text NOT NULL,
    business_date   date NOT NULL,          -- of the superseded line
    file_sha256     text NOT NULL,
    source_position text NOT NULL,
    superseded_on   date NOT NULL,          -- the first business day both it and what books it were loaded
    by_file_sha256  text NOT NULL,          -- the booked statement's file
    rule            text NOT NULL CHECK (rule IN ('same_reference', 'statement_covers_day')),
    PRIMARY KEY (tenant, file_sha256, source_position)
);
CREATE INDEX bank_superseded_tenant_on ON imports.bank_superseded (tenant, superseded_on);
SELECT ops.isolate_tenant_table('imports.bank_superseded');
GRANT UPDATE ON imports.bank_superseded TO financeops_tenant;
-- The few unbooked lines, found without reading a window's booked ones.
CREATE INDEX bank_lines_unbooked ON imports.bank_lines (tenant, business_date) WHERE NOT booked;
