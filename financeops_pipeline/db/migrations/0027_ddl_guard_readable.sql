-- The DDL guard of 0018 (an event trigger) runs as whoever drops or alters a table, tenant sessions included
-- (a SQL model's scratch table, a session's temp table): it reads which partitions are append-only, so every
-- role that may run DDL must be able to read those two lists. They hold table ids only, no tenant data.
GRANT SELECT ON ops.bulk_leaves, ops.bulk_parents TO financeops_tenant;
