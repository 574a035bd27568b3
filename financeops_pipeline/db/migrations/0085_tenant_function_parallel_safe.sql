-- Row-level security's tenant function may run in parallel workers (issue #13). Every tenant policy compares with
-- (SELECT ops.current_tenant()); a function is PARALLEL UNSAFE unless marked, and one unsafe function in a query
-- keeps the whole query on one core: the day's checks aggregated and joined 20M records of a 10M day single-
-- threaded. The function only reads ops.tenants and current_user (a parallel worker runs as the leader's user);
-- its SET search_path is a function-local setting, allowed in a worker. Nothing else about it changes.
ALTER FUNCTION ops.current_tenant() PARALLEL SAFE;
