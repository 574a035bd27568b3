-- Reconciliation results: Postgres keeps what people query, every item state of a day goes to Parquet
-- (reconciliation/store.py). A 10M-transaction day has ~20M item states, almost all plain matches: writing
-- each as a row here cost 43 of the reconciliation's 104 s. From now on recon.item_status holds a day's
-- pending, suggested, explained and break states and the matches with a difference; the day's totals by
-- source, currency, state and scope are one small table the reports and the conservation check read.
-- Rows written before this migration (every state, matches included) stay as they are.
CREATE TABLE recon.day_totals (
    tenant           text NOT NULL,
    business_date    date NOT NULL,
    source           text NOT NULL,     -- internal | processor | payout | bank
    currency         char(3) NOT NULL,
    status           text NOT NULL,
    scope            text NOT NULL CHECK (scope IN ('day', 'carried_open', 'carried_matched')),
    items            bigint NOT NULL CHECK (items > 0),
    amount_minor     bigint NOT NULL,
    abs_amount_minor bigint NOT NULL CHECK (abs_amount_minor >= 0),
    PRIMARY KEY (tenant, business_date, source, currency, status, scope)
);
SELECT ops.isolate_tenant_table('recon.day_totals');
GRANT DELETE ON recon.day_totals TO financeops_tenant;

-- The totals of the days reconciled before, from their stored states (scope as reconciliation/store.py).
INSERT INTO recon.day_totals (tenant, business_date, source, currency, status, scope, items, amount_minor,
                              abs_amount_minor)
SELECT tenant, business_date, source, currency, status,
       CASE WHEN item_date >= business_date THEN 'day' WHEN status = 'matched' THEN 'carried_matched'
            ELSE 'carried_open' END,
       count(*), sum(amount_minor), sum(abs(amount_minor))
FROM recon.item_status
GROUP BY 1, 2, 3, 4, 5, 6;
