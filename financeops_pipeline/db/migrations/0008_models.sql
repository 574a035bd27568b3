-- SQL models (dbt_like_sql/): their tables live in schema `models`.
-- Tables are created by the owner when a model first runs (tenant roles run no DDL), each with a
-- `tenant` column and the tenant_isolation policy (ops.isolate_tenant_table), then GRANT DELETE so a
-- tenant can replace its own rows of a day. Tenant roles get USAGE only: no CREATE, and no default
-- privileges, so a table someone adds here by hand is invisible to tenants until it is isolated.
CREATE SCHEMA IF NOT EXISTS models;
REVOKE ALL ON SCHEMA models FROM PUBLIC;
GRANT USAGE ON SCHEMA models TO financeops_tenant;
COMMENT ON SCHEMA models IS 'Tables of the SQL models in dbt_like_sql/ (one per model, tenant column + RLS)';
