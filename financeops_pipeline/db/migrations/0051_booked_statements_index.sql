-- The cash reports read booked statements only (0030 added `booked`). The index on
-- (tenant, account_id, currency, business_date) cannot answer `AND booked` by itself, so finding a tenant's
-- accounts became a scan of every statement of every tenant; with the predicate in a partial index it is an
-- index-only scan again, and the per-account first/latest statement lookups read it in order.
CREATE INDEX bank_statements_booked_by_account ON imports.bank_statements (tenant, account_id, currency, business_date)
    WHERE booked;
