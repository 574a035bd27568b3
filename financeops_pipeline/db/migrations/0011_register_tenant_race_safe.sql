-- Two sessions registering a new tenant at once (two runs of its first day, the report and posting pools)
-- raced on CREATE ROLE: roles are cluster-wide, so one of them failed on pg_authid's unique index.
-- The advisory lock serialises callers in this database; the handlers cover a session of another
-- database on the same server that creates the same role at the same moment.
CREATE OR REPLACE FUNCTION ops.register_tenant(p_tenant text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_role text := 'financeops_t_' || p_tenant;
BEGIN
    IF EXISTS (SELECT 1 FROM ops.tenants WHERE tenant = p_tenant)
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        RETURN v_role;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ops.register_tenant'), hashtext(v_role));
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN IN ROLE financeops_tenant', v_role);
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            NULL;
        END;
    END IF;
    BEGIN
        EXECUTE format('GRANT %I TO %I', v_role, current_user);
    EXCEPTION WHEN unique_violation OR duplicate_object THEN
        NULL;
    END;
    INSERT INTO ops.tenants (tenant, role_name) VALUES (p_tenant, v_role) ON CONFLICT (tenant) DO NOTHING;
    RETURN v_role;
END $$;
