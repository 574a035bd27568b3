-- Schemas by stage, the tenant registry and the roles that row-level security is built on.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS imports;
CREATE SCHEMA IF NOT EXISTS ledger;
CREATE SCHEMA IF NOT EXISTS recon;
CREATE SCHEMA IF NOT EXISTS reports;

-- A tenant's pipeline connection runs as its own role (SET ROLE), which owns nothing and has no
-- BYPASSRLS: the policies below are what let it see its own rows and nothing else.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'financeops_tenant') THEN
        CREATE ROLE financeops_tenant NOLOGIN;
    END IF;
END $$;

CREATE TABLE ops.tenants (
    tenant     text PRIMARY KEY CHECK (tenant ~ '^[a-z][a-z0-9_]{0,40}$'),
    role_name  text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The tenant whose role this session runs as (SET ROLE changes current_user); NULL for the owner.
-- SECURITY INVOKER on purpose: inside a definer function current_user would be the owner.
CREATE FUNCTION ops.current_tenant() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, ops AS $$
    SELECT tenant FROM ops.tenants WHERE role_name = current_user
$$;

CREATE FUNCTION ops.register_tenant(p_tenant text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_role text := 'financeops_t_' || p_tenant;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN IN ROLE financeops_tenant', v_role);
        EXECUTE format('GRANT %I TO %I', v_role, current_user);
    END IF;
    INSERT INTO ops.tenants (tenant, role_name) VALUES (p_tenant, v_role) ON CONFLICT (tenant) DO NOTHING;
    RETURN v_role;
END $$;

GRANT USAGE ON SCHEMA ops, imports, ledger, recon, reports TO financeops_tenant;
GRANT SELECT ON ops.tenants TO financeops_tenant;
GRANT EXECUTE ON FUNCTION ops.current_tenant() TO financeops_tenant;

-- Creates a day partition of a date-partitioned table if it is missing (idempotent, race-safe).
-- SECURITY DEFINER: tenant roles may not run DDL, but they may ask for a day partition to exist.
CREATE FUNCTION ops.ensure_day_partition(p_table regclass, p_day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_schema text;
    v_name   text;
    v_part   text;
BEGIN
    SELECT n.nspname, c.relname INTO v_schema, v_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    v_part := v_name || '_p' || to_char(p_day, 'YYYYMMDD');
    PERFORM pg_advisory_xact_lock(hashtext(v_schema || '.' || v_part));
    IF to_regclass(format('%I.%I', v_schema, v_part)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       v_schema, v_part, p_table, p_day, p_day + 1);
    END IF;
    RETURN v_schema || '.' || v_part;
END $$;
GRANT EXECUTE ON FUNCTION ops.ensure_day_partition(regclass, date) TO financeops_tenant;

-- Shared guard for append-only tables: corrections are new rows (reversals), never edits.
CREATE FUNCTION ops.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is refused: the table is append-only (post a reversal instead)',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
