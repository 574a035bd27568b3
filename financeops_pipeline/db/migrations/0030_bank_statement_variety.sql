-- Bank statements as banks really send them (#14a). Columns only, each with a constant default, so existing
-- rows keep their meaning and no table is rewritten:
--  * a line is `booked` when it comes from a booked statement (camt.053, MT940, BAI2) with a booked status.
--    camt.052 intraday reports and camt.054 notifications (`report_kind`), and entries whose camt `Sts` is not
--    BOOK (`entry_status`), are loaded as not booked: posting, cash and balances read booked lines only; the
--    reconciliation reads an unbooked line until the booked one supersedes it (reconciliation/sql/inputs.sql).
--  * a statement records which balance types it was given (`opening_type`, `closing_type`: OPBD, PRCD, CLBD,
--    ITBD, 60F, 60M, 62F, 62M, 010, 015...), whether a missing one was derived from the other and the entries
--    (`*_derived`), and the closing available balance when given (CLAV, :64:, BAI2 045).
--  * a file records the text encoding it was decoded with (utf-8, iso-8859-1, iso-8859-2, cp1252...).
ALTER TABLE imports.bank_lines
    ADD COLUMN booked boolean NOT NULL DEFAULT true,
    ADD COLUMN report_kind text NOT NULL DEFAULT 'statement'
        CHECK (report_kind IN ('statement', 'intraday', 'notification')),
    ADD COLUMN entry_status text,
    ADD CONSTRAINT bank_lines_booked_only_from_statements CHECK (NOT booked OR report_kind = 'statement');

ALTER TABLE imports.bank_statements
    ADD COLUMN booked boolean NOT NULL DEFAULT true,
    ADD COLUMN report_kind text NOT NULL DEFAULT 'statement'
        CHECK (report_kind IN ('statement', 'intraday', 'notification')),
    ADD COLUMN opening_type text,
    ADD COLUMN closing_type text,
    ADD COLUMN opening_derived boolean NOT NULL DEFAULT false,
    ADD COLUMN closing_derived boolean NOT NULL DEFAULT false,
    ADD COLUMN available_type text,
    ADD COLUMN IF NOT EXISTS available_date date,             -- also in 0035 (OFX AVAILBAL): whichever runs first
    ADD COLUMN IF NOT EXISTS available_balance_minor bigint,
    ADD CONSTRAINT bank_statements_booked_only_statements CHECK (NOT booked OR report_kind = 'statement'),
    ADD CONSTRAINT bank_statements_derived_balance_is_there
        CHECK ((NOT opening_derived OR opening_balance_minor IS NOT NULL)
               AND (NOT closing_derived OR closing_balance_minor IS NOT NULL));

ALTER TABLE imports.files ADD COLUMN encoding text;
