-- New formats (#14b): columns only, added to the tables as they are (the imports tables' storage is being
-- rebuilt in 0018-0029; nothing here recreates a table). Old rows get NULL, which every reader takes as
-- "not given".

-- FX of a processor line: the gross in the currency the customer paid when it is not the line's currency (or
-- the rate is not 1), and the processor's exchange rate exactly as written (Adyen "Exchange Rate", Stripe
-- exchange_rate). NUMERIC, never a float.
ALTER TABLE imports.processor_lines ADD COLUMN IF NOT EXISTS gross_currency char(3);
ALTER TABLE imports.processor_lines ADD COLUMN IF NOT EXISTS gross_gc_minor bigint;
ALTER TABLE imports.processor_lines ADD COLUMN IF NOT EXISTS exchange_rate numeric;
ALTER TABLE imports.processor_lines DROP CONSTRAINT IF EXISTS processor_lines_exchange_rate_positive;
ALTER TABLE imports.processor_lines ADD CONSTRAINT processor_lines_exchange_rate_positive
    CHECK (exchange_rate >= 0);

-- The available balance a statement reports beside its ledger balance (OFX AVAILBAL).
ALTER TABLE imports.bank_statements ADD COLUMN IF NOT EXISTS available_date date;
ALTER TABLE imports.bank_statements ADD COLUMN IF NOT EXISTS available_balance_minor bigint;

-- The bank-CSV mapping (its name) a file was read with; NULL for every self-describing format.
ALTER TABLE imports.files ADD COLUMN IF NOT EXISTS mapping text;
