-- Published reports, one row set per tenant-day (replaced whole when the day is re-run).
CREATE TABLE reports.trial_balance (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    account_code   text NOT NULL,
    account_name   text NOT NULL,
    account_type   text NOT NULL,
    currency       char(3) NOT NULL,
    debit_minor    bigint NOT NULL,     -- closing balance shown on the debit side (>= 0)
    credit_minor   bigint NOT NULL,     -- closing balance shown on the credit side (>= 0)
    PRIMARY KEY (tenant, business_date, account_code, currency)
);

CREATE TABLE reports.recon_summary (
    tenant         text NOT NULL,
    business_date  date NOT NULL,
    source         text NOT NULL,
    currency       char(3) NOT NULL,
    status         text NOT NULL,
    items          bigint NOT NULL,
    amount_minor   bigint NOT NULL,
    PRIMARY KEY (tenant, business_date, source, currency, status)
);

SELECT ops.isolate_tenant_table(t::regclass)
FROM unnest(ARRAY['reports.trial_balance', 'reports.recon_summary']) AS t;
GRANT DELETE ON reports.trial_balance, reports.recon_summary TO financeops_tenant;
