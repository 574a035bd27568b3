-- More published reports (issue 6), one row set per tenant-day, replaced whole when the day is re-run,
-- and the indexes that keep every report query and quality check of one day an indexed read.
-- Money is bigint minor units of the row's currency; rates are exact numeric fractions (never float).

-- Balance sheet at the end of the day. amount_minor has the section's normal sign: assets debit-positive,
-- liabilities and equity credit-positive. 'current_earnings' (equity) is revenue less expenses to date, so
-- assets = liabilities + equity per currency.
CREATE TABLE reports.balance_sheet (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    section        text NOT NULL CHECK (section IN ('assets', 'liabilities', 'equity')),
    account_code   text NOT NULL,
    account_name   text NOT NULL,
    currency       char(3) NOT NULL,
    amount_minor   bigint NOT NULL,
    PRIMARY KEY (tenant, business_date, account_code, currency)
);

-- Income statement for the day and month to date: revenue credit-positive, expenses debit-positive,
-- plus one 'net_income' line per currency (revenue - expenses).
CREATE TABLE reports.income_statement (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    section        text NOT NULL CHECK (section IN ('revenue', 'expense', 'net_income')),
    account_code   text NOT NULL,
    account_name   text NOT NULL,
    currency       char(3) NOT NULL,
    day_minor      bigint NOT NULL,
    mtd_minor      bigint NOT NULL,
    PRIMARY KEY (tenant, business_date, account_code, currency)
);

-- Cash per bank account: the ledger's cash account against the bank's own statements. The ledger has no
-- opening-balance posting, so its balance is compared with the bank's movement since the first statement
-- (latest closing - first opening), and the day's ledger movement with the day's statement movement.
CREATE TABLE reports.cash_position (
    tenant                     text NOT NULL,
    business_date              date NOT NULL,
    bank_account               text NOT NULL,
    currency                   char(3) NOT NULL,
    ledger_account             text NOT NULL,
    first_opening_date         date,
    first_opening_minor        bigint,
    bank_closing_date          date,
    bank_closing_minor         bigint,
    bank_movement_minor        bigint,          -- bank_closing_minor - first_opening_minor
    ledger_balance_minor       bigint NOT NULL, -- cash account balance at the day (= its movement since the start)
    difference_minor           bigint,          -- ledger_balance_minor - bank_movement_minor (0 = in agreement)
    day_bank_movement_minor    bigint,          -- statements of the day: closing - opening
    day_ledger_movement_minor  bigint NOT NULL,
    day_difference_minor       bigint,
    PRIMARY KEY (tenant, business_date, bank_account, currency)
);

-- Processor fees of the day by processor and category (standalone fee lines count -net as the fee).
CREATE TABLE reports.processor_fees (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    processor      text NOT NULL,
    category       text NOT NULL,
    currency       char(3) NOT NULL,
    lines          bigint NOT NULL,
    gross_minor    bigint NOT NULL,
    fee_minor      bigint NOT NULL,
    net_minor      bigint NOT NULL,
    PRIMARY KEY (tenant, business_date, processor, category, currency)
);

-- Reconciliation summary, added sections: match rate per source and currency (by count and by absolute
-- amount over the day's tracked items), and breaks by type and currency.
CREATE TABLE reports.recon_match_rate (
    tenant             text NOT NULL,
    business_date      date NOT NULL,
    source             text NOT NULL,
    currency           char(3) NOT NULL,
    items              bigint NOT NULL,
    matched_items      bigint NOT NULL,
    reconciled_items   bigint NOT NULL,   -- matched + explained
    amount_minor       bigint NOT NULL,   -- sum of |amount| of the items
    matched_minor      bigint NOT NULL,
    count_rate         numeric(7, 4) NOT NULL CHECK (count_rate BETWEEN 0 AND 1),
    amount_rate        numeric(7, 4) CHECK (amount_rate BETWEEN 0 AND 1),
    PRIMARY KEY (tenant, business_date, source, currency)
);

CREATE TABLE reports.recon_breaks (
    tenant             text NOT NULL,
    business_date      date NOT NULL,
    break_type         text NOT NULL,
    currency           char(3) NOT NULL,
    open_breaks        bigint NOT NULL,
    open_minor         bigint NOT NULL,
    new_breaks         bigint NOT NULL,
    persisting_breaks  bigint NOT NULL,
    resolved_breaks    bigint NOT NULL,
    PRIMARY KEY (tenant, business_date, break_type, currency)
);

-- Break aging of the breaks open on the day, by age bucket (days since first seen), and the oldest items.
CREATE TABLE reports.break_aging (
    tenant             text NOT NULL,
    business_date      date NOT NULL,
    currency           char(3) NOT NULL,
    bucket             text NOT NULL CHECK (bucket IN ('0-1', '2-3', '4-7', '8-30', '>30')),
    bucket_order       smallint NOT NULL,
    breaks             bigint NOT NULL,
    amount_minor       bigint NOT NULL,
    oldest_first_seen  date,
    PRIMARY KEY (tenant, business_date, currency, bucket)
);

CREATE TABLE reports.break_aging_items (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    rank           smallint NOT NULL,
    break_id       text NOT NULL,
    break_type     text NOT NULL,
    source         text NOT NULL,
    source_ref     text NOT NULL,
    currency       char(3) NOT NULL,
    amount_minor   bigint NOT NULL,
    first_seen     date NOT NULL,
    age_days       integer NOT NULL,
    bucket         text NOT NULL,
    PRIMARY KEY (tenant, business_date, break_id)
);

SELECT ops.isolate_tenant_table(t::regclass)
FROM unnest(ARRAY['reports.balance_sheet', 'reports.income_statement', 'reports.cash_position',
                  'reports.processor_fees', 'reports.recon_match_rate', 'reports.recon_breaks',
                  'reports.break_aging', 'reports.break_aging_items']) AS t;
GRANT DELETE ON reports.balance_sheet, reports.income_statement, reports.cash_position, reports.processor_fees,
    reports.recon_match_rate, reports.recon_breaks, reports.break_aging, reports.break_aging_items
    TO financeops_tenant;

-- Indexed reads for one tenant-day. Day-partitioned tables are pruned to the day's partition; the index
-- then finds the tenant's rows in it (created on the parent, so every existing and future partition has it).
CREATE INDEX ON imports.internal_transactions (tenant, business_date);
CREATE INDEX ON imports.processor_lines (tenant, business_date);
CREATE INDEX ON imports.bank_lines (tenant, business_date);
CREATE INDEX ON recon.item_status (tenant, business_date);
-- Statements by account in date order (cash position: first opening, latest closing; cash check).
CREATE INDEX ON imports.bank_statements (tenant, account_id, currency, business_date);
CREATE INDEX ON imports.bank_statements (tenant, business_date);
-- Freshness: the files of a tenant-day by source.
CREATE INDEX ON imports.files (tenant, business_date, source);
-- Movement of a day or a month (income statement) without walking every account's history.
CREATE INDEX ON ledger.daily_balances (tenant, business_date);
-- recon.breaks needs none: its primary key (tenant, business_date, break_id) already serves a tenant-day.
