-- Totals of every imported file by processor, kind (internal type, processor category, bank classification) and
-- currency, taken from the rows as they were loaded. The readers that only need sums (the fees report, the
-- reconciliation's conservation check, the import asset's metadata) read these few rows instead of scanning a
-- day's records: 20M rows for a 10M-transaction day.
CREATE TABLE imports.file_totals (
    tenant           text NOT NULL,
    business_date    date NOT NULL,
    file_sha256      text NOT NULL,
    source           text NOT NULL CHECK (source IN ('bank', 'processor', 'internal')),
    processor        text NOT NULL DEFAULT '',   -- '' when the rows name none (bank lines of no processor)
    kind             text NOT NULL,
    currency         char(3) NOT NULL,
    records          bigint NOT NULL CHECK (records > 0),
    amount_minor     bigint NOT NULL,            -- internal amount, processor gross, bank amount (signed)
    abs_amount_minor bigint NOT NULL,
    fee_minor        bigint NOT NULL DEFAULT 0,  -- processor: the fee it posts (a fee line's -net)
    net_minor        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, business_date, file_sha256, processor, kind, currency)
);
SELECT ops.isolate_tenant_table('imports.file_totals');

-- Files imported before: their totals from their rows.
INSERT INTO imports.file_totals (tenant, business_date, file_sha256, source, processor, kind, currency, records,
                                 amount_minor, abs_amount_minor, fee_minor, net_minor)
SELECT tenant, business_date, file_sha256, 'internal', processor, type, currency, count(*), sum(amount_minor),
       sum(abs(amount_minor)), 0, 0
FROM imports.internal_transactions GROUP BY tenant, business_date, file_sha256, processor, type, currency
UNION ALL
SELECT tenant, business_date, file_sha256, 'processor', processor, category, currency, count(*), sum(gross_minor),
       sum(abs(gross_minor)), sum(CASE WHEN category = 'fee' THEN -net_minor ELSE fee_minor END), sum(net_minor)
FROM imports.processor_lines GROUP BY tenant, business_date, file_sha256, processor, category, currency
UNION ALL
SELECT tenant, business_date, file_sha256, 'bank', coalesce(processor, ''), classification, currency, count(*),
       sum(amount_minor), sum(abs(amount_minor)), 0, 0
FROM imports.bank_lines GROUP BY tenant, business_date, file_sha256, coalesce(processor, ''), classification, currency;
